// Package middleware holds the Fiber middleware every request passes:
// request id, observation (metrics and access log), recovery, locale and the
// per-request deadline. Auth, rate limits and idempotency join later.
package middleware

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"regexp"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/locales"
	"handheld/services"
)

// Locals keys.
const (
	localRequestID = "request_id"
	localLang      = "lang"
)

// HeaderRequestID is echoed on every response.
const HeaderRequestID = "X-Request-ID"

var wellFormedID = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,64}$`)

// RequestID keeps a well-formed incoming X-Request-ID (so a trace spans the
// client, handheld and the core) or makes a new one, and puts it on the
// response and in the request context.
func RequestID() fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := c.Get(HeaderRequestID)
		if !wellFormedID.MatchString(id) {
			id = NewRequestID()
		}
		c.Locals(localRequestID, id)
		c.Set(HeaderRequestID, id)
		c.SetUserContext(services.WithRequestID(c.UserContext(), id))
		return c.Next()
	}
}

// NewRequestID returns 16 random bytes in hex.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// GetRequestID returns the request's id, making one if RequestID did not run
// (errors raised by the server before routing).
func GetRequestID(c *fiber.Ctx) string {
	if id, ok := c.Locals(localRequestID).(string); ok {
		return id
	}
	id := NewRequestID()
	c.Locals(localRequestID, id)
	c.Set(HeaderRequestID, id)
	return id
}

// Locale picks the response language once per request.
func Locale(cat *locales.Catalogs) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Locals(localLang, cat.Negotiate(c.Query("lang"), c.Get(fiber.HeaderAcceptLanguage)))
		return c.Next()
	}
}

// Lang returns the request's language, negotiating it if Locale did not run.
func Lang(c *fiber.Ctx, cat *locales.Catalogs) string {
	if l, ok := c.Locals(localLang).(string); ok {
		return l
	}
	return cat.Negotiate(c.Query("lang"), c.Get(fiber.HeaderAcceptLanguage))
}

// Deadline gives the request context a deadline so that every call made for
// the request (core, store, Redis) gives up together.
func Deadline(d time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), d)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	}
}

// Recover turns a panic into an internal error (logged with its stack by
// the error handler's cause) so one bad request never takes a replica down.
func Recover(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(c.UserContext(), "panic", "request_id", GetRequestID(c), "route", c.Route().Path, "panic", r)
				err = services.Errorf(services.CodeInternal, "panic: %v", r)
			}
		}()
		return c.Next()
	}
}
