package middleware

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
)

// RequestObserver records one finished request; bff's metrics implement it.
type RequestObserver interface {
	ObserveRequest(route, method string, status int, d time.Duration)
}

// Observe renders errors through the app's error handler (so the status is
// final), then records metrics and writes one access-log line. It logs the
// route template, never the raw path or query: those can carry personal
// data such as verify codes. A successful answer on one of the polls routes
// (route templates a device asks every second or two, such as a kiosk's
// print queue) is logged at debug level: a fleet of kiosks would otherwise
// fill the access log with nothing happening. Metrics count them all. A
// request the rate limiter refused names the policy that refused it
// (limited_by) and whether the limiter was counting in memory because
// Redis was unreachable (limit_fallback).
func Observe(obs RequestObserver, log *slog.Logger, onError fiber.ErrorHandler, polls ...string) fiber.Handler {
	quiet := make(map[string]bool, len(polls))
	for _, r := range polls {
		quiet[r] = true
	}
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if herr := onError(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		d := time.Since(start)
		status := c.Response().StatusCode()
		route := c.Route().Path
		if status == fiber.StatusNotFound && route == "/" {
			route = "unmatched"
		}
		obs.ObserveRequest(route, c.Method(), status, d)
		level := slog.LevelInfo
		if quiet[route] && status < fiber.StatusMultipleChoices {
			level = slog.LevelDebug
		}
		attrs := []slog.Attr{
			slog.String("request_id", GetRequestID(c)),
			slog.String("method", c.Method()),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Duration("duration", d),
		}
		if lb, ok := c.Locals(localLimitedBy).(limitedBy); ok {
			attrs = append(attrs, slog.String("limited_by", lb.policy), slog.Bool("limit_fallback", lb.fallback))
		}
		log.LogAttrs(c.UserContext(), level, "request", attrs...)
		return nil
	}
}
