package middleware

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/services"
	"handheld/services/ratelimit"
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

// refusingLimiter refuses every request under one policy.
type refusingLimiter struct{ fallback bool }

func (l refusingLimiter) Allow(context.Context, ratelimit.Request) (ratelimit.Decision, error) {
	return ratelimit.Decision{Policy: "read_subject", Limit: 40, RetryAfter: time.Second, Fallback: l.fallback}, nil
}

func (refusingLimiter) Refund(context.Context, ratelimit.Request) {}

// A refused request's access-log line names the policy that refused it and
// whether the limiter counted in memory; an allowed one names none.
func TestObserveNamesTheRefusingPolicy(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	app := fiber.New()
	app.Use(Observe(&countingObserver{}, log, func(c *fiber.Ctx, err error) error {
		return c.SendStatus(services.AsError(err).Code.Status())
	}))
	ok := func(c *fiber.Ctx) error { return c.SendString("ok") }
	app.Get("/refused", RateLimit(refusingLimiter{fallback: true}, Limit{Class: ratelimit.ClassRead}), ok)
	app.Get("/allowed", RateLimit(&recordingLimiter{}, Limit{Class: ratelimit.ClassRead}), ok)
	for _, path := range []string{"/refused", "/allowed"} {
		if _, err := app.Test(httptest.NewRequest(fiber.MethodGet, path, nil)); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "status=429") ||
		!strings.Contains(lines[0], "limited_by=read_subject limit_fallback=true") || strings.Contains(lines[1], "limited_by") {
		t.Errorf("access log:\n%s", buf.String())
	}
}
