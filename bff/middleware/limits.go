package middleware

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"handheld/services/identity"
	"handheld/services/ratelimit"
)

// Limiter decides whether a request may go on.
type Limiter interface {
	Allow(ctx context.Context, r ratelimit.Request) (ratelimit.Decision, error)
}

// Gate answers whether a service is open on a channel (flow control).
type Gate interface {
	Check(service, channel string) error
}

// Limit describes how a route is counted.
type Limit struct {
	// Class is the route class policies name (login, read, ...).
	Class string
	// Channel counts an anonymous request; a signed-in one counts on its
	// token's channel.
	Channel string
	// Subject, when set, names the account a sign-in route is signing into
	// (the operator, the ID number at a kiosk), so per-subject login limits
	// hold across addresses and devices. The limiter hashes it.
	Subject func(*fiber.Ctx) string
}

// RateLimit applies every policy of the route's class and answers with the
// RateLimit-* headers of the tightest one; over the limit it is 429 with
// Retry-After.
func RateLimit(l Limiter, lim Limit) fiber.Handler {
	return func(c *fiber.Ctx) error {
		r := ratelimit.Request{Class: lim.Class, Channel: lim.Channel, IP: GetClientIP(c)}
		if p, ok := c.Locals(localPrincipal).(identity.Principal); ok {
			r.Channel, r.Subject, r.Device, r.Unit = p.Channel, p.Subject, p.Device, p.Unit
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
			return err
		}
		return c.Next()
	}
}

// Service refuses a request when its service is switched off or outside its
// hours on the caller's channel.
func Service(g Gate, service string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		channel := "public"
		if p, ok := c.Locals(localPrincipal).(identity.Principal); ok {
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

// BodyField returns a Limit.Subject that reads string fields of the JSON
// body (joined by "/"); a body that does not parse counts as "".
func BodyField(names ...string) func(*fiber.Ctx) string {
	return func(c *fiber.Ctx) string {
		var m map[string]any
		if json.Unmarshal(c.Body(), &m) != nil {
			return ""
		}
		var parts []string
		for _, n := range names {
			s, _ := m[n].(string)
			parts = append(parts, s)
		}
		return strings.Join(parts, "/")
	}
}

// HeaderValue returns a Limit.Subject that reads a request header (the
// bearer of a binding token, a device id).
func HeaderValue(name string) func(*fiber.Ctx) string {
	return func(c *fiber.Ctx) string { return c.Get(name) }
}
