package middleware

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

type countingObserver struct{ n int }

func (o *countingObserver) ObserveRequest(string, string, int, time.Duration) { o.n++ }

// A poll that finds nothing new is logged at debug level; the same route
// failing, and every other route, at info; metrics count every request.
func TestObserveLogsPollsQuietly(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	obs := &countingObserver{}
	app := fiber.New()
	app.Use(Observe(obs, log, func(c *fiber.Ctx, err error) error { return c.SendStatus(fiber.StatusTeapot) }, "/poll/:id"))
	app.Get("/poll/:id", func(c *fiber.Ctx) error {
		if c.Params("id") == "bad" {
			return fiber.ErrBadRequest
		}
		return c.SendString("nothing new")
	})
	app.Get("/page", func(c *fiber.Ctx) error { return c.SendString("page") })
	for _, path := range []string{"/poll/1", "/poll/2", "/poll/bad", "/page"} {
		if _, err := app.Test(httptest.NewRequest(fiber.MethodGet, path, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if obs.n != 4 {
		t.Errorf("observed %d requests, want 4", obs.n)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("info log has %d lines, want the failed poll and the page:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "status=418") || !strings.Contains(lines[1], "route=/page") {
		t.Errorf("info log:\n%s", buf.String())
	}
}
