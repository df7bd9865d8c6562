package middleware

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"handheld/services"
	"handheld/services/hours"
	"handheld/services/ratelimit"
)

// Limiter decides whether a request may go on, and takes back what a
// request that did no work spent of a person's budget.
type Limiter interface {
	Allow(ctx context.Context, r ratelimit.Request) (ratelimit.Decision, error)
	Refund(ctx context.Context, r ratelimit.Request)
}

// Gate answers whether a service is open on a channel (flow control).
type Gate interface {
	Check(service hours.Service, channel string) error
}

// Limit describes how a route is counted.
type Limit struct {
	// Class is the route class policies name (login, read, ...).
	Class ratelimit.Class
	// Channel counts an anonymous request; a signed-in one counts on its
	// token's channel.
	Channel string
	// Roles are the roles a signed-in route admits (Auth and Require run
	// first); empty for a route without a token. They say which keys the
	// principal fills, for the start-up check of the policies.
	Roles []string
	// Subject, when set, names the account a sign-in route is signing into
	// (the operator, the ID number at a kiosk), so per-subject login limits
	// hold across addresses and devices. The limiter hashes it. It must
	// read the body through bff/request, the decoding the handler reads.
	Subject func(*fiber.Ctx) string
}

// Route is the limit as ratelimit.CheckRoutes compares it with the
// policies: the keys RateLimit fills for it, on which channels.
func (lim Limit) Route(name string) ratelimit.Route {
	r := ratelimit.Route{Name: name, Class: lim.Class, Anonymous: len(lim.Roles) == 0,
		Keys: []string{ratelimit.KeyIP, ratelimit.KeyChannel}}
	if lim.Channel != "" {
		r.Channels = []string{lim.Channel}
	}
	if lim.Subject != nil || !r.Anonymous {
		r.Keys = append(r.Keys, ratelimit.KeySubject)
	}
	for _, role := range lim.Roles {
		switch role {
		case services.RoleEmployer:
			r.Keys = append(r.Keys, ratelimit.KeyUnit)
		case services.RoleKiosk:
			r.Keys = append(r.Keys, ratelimit.KeyDevice, ratelimit.KeyVerifier)
		case services.RoleVerifier:
			r.Keys = append(r.Keys, ratelimit.KeyVerifier)
		case services.RoleDepositor:
			r.Keys = append(r.Keys, ratelimit.KeyDevice) // a citizen at a kiosk
		}
	}
	slices.Sort(r.Keys)
	r.Keys = slices.Compact(r.Keys)
	return r
}

// RateLimit applies every policy of the route's class and answers with the
// RateLimit-* headers of the tightest one; over the limit it is 429 with
// Retry-After. When the request did no work — an Idempotency-Key replay or
// a failure on our side (5xx) — the unit spent under budget policies is
// given back, so that neither a retry nor an outage costs a person their
// day's allowance.
func RateLimit(l Limiter, lim Limit) fiber.Handler {
	return func(c *fiber.Ctx) error {
		r := ratelimit.Request{Class: lim.Class, Channel: lim.Channel, IP: GetClientIP(c)}
		if p, ok := c.Locals(localPrincipal).(services.Principal); ok {
			r.Channel, r.Subject, r.Device, r.Unit = p.Channel, p.Subject, p.Device, p.Unit
			if p.Role == services.RoleVerifier || p.Role == services.RoleKiosk {
				r.Verifier = p.Subject // who checks the e-card: a verifier client or a device
			}
		}
		if lim.Subject != nil {
			r.Subject = lim.Subject(c)
		}
		d, err := l.Allow(c.UserContext(), r)
		if err != nil {
			return err
		}
		if d.Policy != "" {
			c.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
			c.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
			c.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(d.ResetAfter.Seconds())))
		}
		if err := d.Err(); err != nil {
			c.Locals(localLimitedBy, limitedBy{d.Policy, d.Fallback})
			return err
		}
		err = c.Next()
		if didNoWork(c, err) {
			l.Refund(c.UserContext(), r)
		}
		return err
	}
}

// localLimitedBy holds the limitedBy of a refused request, for its
// access-log line: which policy refused it, and whether Redis was down.
const localLimitedBy = "limited_by"

type limitedBy struct {
	policy   string
	fallback bool
}

// didNoWork reports a request answered from an earlier one's outcome
// (Idempotent-Replayed) or failed on the service's side (5xx).
func didNoWork(c *fiber.Ctx, err error) bool {
	if string(c.Response().Header.Peek(HeaderIdempotentReplayed)) == "true" {
		return true
	}
	status := c.Response().StatusCode()
	if err != nil {
		var fe *fiber.Error
		if errors.As(err, &fe) && !errors.As(err, new(*services.Error)) {
			status = fe.Code
		} else {
			status = services.AsError(err).Code.Status()
		}
	}
	return status >= 500
}

// Service refuses a request when its service is switched off or outside its
// hours on the caller's channel.
func Service(g Gate, service hours.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		channel := "public"
		if p, ok := c.Locals(localPrincipal).(services.Principal); ok {
			channel = p.Channel
		}
		if err := g.Check(service, channel); err != nil {
			return err
		}
		return c.Next()
	}
}

func ceilSeconds(s float64) int {
	n := int(s)
	if float64(n) < s {
		n++
	}
	return n
}

// HeaderValue returns a Limit.Subject that reads a request header (the
// bearer of a binding token, a device id).
func HeaderValue(name string) func(*fiber.Ctx) string {
	return func(c *fiber.Ctx) string { return c.Get(name) }
}
