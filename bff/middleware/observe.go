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
// data such as verify codes.
func Observe(obs RequestObserver, log *slog.Logger, onError fiber.ErrorHandler) fiber.Handler {
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
		log.LogAttrs(c.UserContext(), slog.LevelInfo, "request",
			slog.String("request_id", GetRequestID(c)),
			slog.String("method", c.Method()),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Duration("duration", d),
		)
		return nil
	}
}
