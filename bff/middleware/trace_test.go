package middleware

import (
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// A client's traceparent, sampled flag set.
const (
	clientTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientParent = "00-" + clientTrace + "-00f067aa0ba902b7-01"
)

// traced serves /accounts/:id behind Trace with sampler, answering status.
func traced(t *testing.T, sampler sdktrace.Sampler, status int) (*fiber.App, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(rec))
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(RequestID(), Trace(tp))
	app.Get("/accounts/:id", func(c *fiber.Ctx) error {
		if !trace.SpanContextFromContext(c.UserContext()).IsValid() {
			t.Error("the handler's context carries no span")
		}
		return c.SendStatus(status)
	})
	return app, rec
}

func get(t *testing.T, app *fiber.App, path, traceParent string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if traceParent != "" {
		req.Header.Set("traceparent", traceParent)
	}
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestTraceNamesTheRouteNotThePath: the span is named after the route
// template, carries method, route and status, and never the raw path.
func TestTraceNamesTheRouteNotThePath(t *testing.T) {
	app, rec := traced(t, sdktrace.AlwaysSample(), 503)
	get(t, app, "/accounts/330102199001011234", "")
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.Name() != "GET /accounts/:id" || s.SpanKind() != trace.SpanKindServer {
		t.Fatalf("span %q kind %s, want GET /accounts/:id, server", s.Name(), s.SpanKind())
	}
	got := map[string]string{}
	for _, a := range s.Attributes() {
		got[string(a.Key)] = a.Value.Emit()
	}
	for k, v := range map[string]string{"http.request.method": "GET", "http.route": "/accounts/:id", "http.response.status_code": "503"} {
		if got[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, got[k], v)
		}
	}
	for k, v := range got {
		if v == "/accounts/330102199001011234" || k == "url.path" || k == "url.full" {
			t.Errorf("attribute %s = %q: the raw path must not be recorded", k, v)
		}
	}
	if s.Status().Code != codes.Error {
		t.Errorf("status %s for a 503, want Error", s.Status().Code)
	}
}

// TestTraceParentIsALinkNotTheParent: a client's traceparent neither sets
// the trace id nor the parent; it is kept as a link.
func TestTraceParentIsALinkNotTheParent(t *testing.T) {
	app, rec := traced(t, sdktrace.ParentBased(sdktrace.AlwaysSample()), 200)
	get(t, app, "/accounts/1", clientParent)
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.SpanContext().TraceID().String() == clientTrace || s.Parent().IsValid() {
		t.Fatalf("trace %s parent %v: the client's traceparent became the parent", s.SpanContext().TraceID(), s.Parent())
	}
	if l := s.Links(); len(l) != 1 || l[0].SpanContext.TraceID().String() != clientTrace {
		t.Fatalf("links %v, want one to the client's trace", l)
	}
}

// TestTraceParentCannotForceSampling: with a sampler that keeps nothing, a
// flood of requests whose traceparent says "sampled" records nothing — the
// sampler's ratio, not the client, decides.
func TestTraceParentCannotForceSampling(t *testing.T) {
	app, rec := traced(t, sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0)), 200)
	for range 50 {
		get(t, app, "/accounts/1", clientParent)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans recorded at ratio 0 from sampled traceparents, want 0", n)
	}
}
