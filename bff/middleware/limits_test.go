package middleware

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/gofiber/fiber/v2"

	"handheld/services"
	"handheld/services/ratelimit"
)

// recordingLimiter allows everything and records what it was asked.
type recordingLimiter struct {
	allowed, refunded []ratelimit.Request
}

func (l *recordingLimiter) Allow(_ context.Context, r ratelimit.Request) (ratelimit.Decision, error) {
	l.allowed = append(l.allowed, r)
	return ratelimit.Decision{Allowed: true}, nil
}

func (l *recordingLimiter) Refund(_ context.Context, r ratelimit.Request) {
	l.refunded = append(l.refunded, r)
}

// A request that did no work — a replay, a failure on our side — is
// refunded; one that did work, or failed through the caller's fault, is not.
func TestRateLimitRefundsRequestsThatDidNoWork(t *testing.T) {
	tests := []struct {
		name    string
		handler fiber.Handler
		refund  bool
	}{
		{"created", func(c *fiber.Ctx) error { return c.SendStatus(201) }, false},
		{"replayed", func(c *fiber.Ctx) error { c.Set(HeaderIdempotentReplayed, "true"); return c.SendStatus(201) }, true},
		{"core unavailable", func(c *fiber.Ctx) error { return services.E(services.CodeCoreUnavailable) }, true},
		{"internal error", func(c *fiber.Ctx) error { return context.DeadlineExceeded }, true},
		{"503 written", func(c *fiber.Ctx) error { return c.SendStatus(503) }, true},
		{"caller's mistake", func(c *fiber.Ctx) error { return services.E(services.CodeInvalid) }, false},
		{"fiber 404", func(c *fiber.Ctx) error { return fiber.ErrNotFound }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &recordingLimiter{}
			app := fiber.New()
			app.Post("/x", RateLimit(l, Limit{Class: "certificate_issue", Roles: []string{services.RoleDepositor}}), tt.handler)
			if _, err := app.Test(httptest.NewRequest("POST", "/x", nil)); err != nil {
				t.Fatal(err)
			}
			if got := len(l.refunded) == 1; got != tt.refund || len(l.allowed) != 1 {
				t.Fatalf("allowed %d, refunded %d, want refund %v", len(l.allowed), len(l.refunded), tt.refund)
			}
		})
	}
}

// Verifiers and kiosk devices fill the verifier key, so per-verifier
// policies count them.
func TestRateLimitFillsTheVerifier(t *testing.T) {
	for _, p := range []services.Principal{
		{Subject: "verifier:counter-1", Role: services.RoleVerifier, Channel: services.ChannelApp},
		{Subject: "device:kiosk-1", Role: services.RoleKiosk, Channel: services.ChannelKiosk, Device: "kiosk-1"},
	} {
		l := &recordingLimiter{}
		app := fiber.New()
		app.Post("/v", func(c *fiber.Ctx) error { c.Locals(localPrincipal, p); return c.Next() },
			RateLimit(l, Limit{Class: "verify_ecard", Roles: []string{p.Role}}), func(c *fiber.Ctx) error { return nil })
		if _, err := app.Test(httptest.NewRequest("POST", "/v", nil)); err != nil {
			t.Fatal(err)
		}
		if len(l.allowed) != 1 || l.allowed[0].Verifier != p.Subject {
			t.Fatalf("%s: counted %+v, want verifier %q", p.Role, l.allowed, p.Subject)
		}
	}
	route := Limit{Class: "verify_ecard", Roles: []string{services.RoleVerifier}}.Route("POST /v")
	if route.Anonymous || !slices.Contains(route.Keys, ratelimit.KeyVerifier) {
		t.Fatalf("route %+v does not declare the verifier key", route)
	}
}
