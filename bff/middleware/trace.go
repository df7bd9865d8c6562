package middleware

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"handheld/services/tracing"
)

// Trace starts the request's server span, named after the route template
// ("GET /api/v1/me/account") once routing has found it, and puts it in the
// request context for every span and log line made for the request. It
// runs outside Observe, so the status it records is the one sent.
//
// An incoming W3C traceparent is accepted as a link, never as the parent:
// the span starts a trace of its own, with handheld's own random trace id,
// and the sampler decides on it alone. A client — the mini-program, a
// script, an attacker — thus cannot choose the trace id (the ratio sampler
// decides on its bits) nor set the sampled flag to have every request
// recorded; the link still leads from handheld's trace to the caller's.
//
// Attributes are the method, the route template and the status: never the
// raw path or query, which can carry personal data (verify codes).
func Trace(tp trace.TracerProvider) fiber.Handler {
	tracer := tp.Tracer("handheld/bff")
	return func(c *fiber.Ctx) error {
		method := c.Method()
		opts := []trace.SpanStartOption{trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", method))}
		if incoming := c.Get("traceparent"); incoming != "" {
			if sc := tracing.Extract(http.Header{"Traceparent": {incoming}}); sc.IsValid() {
				opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
			}
		}
		ctx, span := tracer.Start(c.UserContext(), method, opts...)
		defer span.End()
		c.SetUserContext(ctx)

		err := c.Next()

		if !span.IsRecording() {
			return err
		}
		status := c.Response().StatusCode()
		route := c.Route().Path
		if status == fiber.StatusNotFound && route == "/" {
			route = "unmatched"
		}
		span.SetName(method + " " + route)
		span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status),
			attribute.String("handheld.request_id", GetRequestID(c)))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
		return err
	}
}
