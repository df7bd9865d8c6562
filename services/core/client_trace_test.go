package core

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestClientSpansAndTraceParent: each call is a client span named after the
// endpoint, child of the caller's, and the core receives its context as a
// traceparent; the path, which holds the person's id, is in no attribute.
func TestClientSpansAndTraceParent(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	f := newFakeCore(t, answer(503, `{"code":"maintenance"}`))
	c, _ := newTestClient(t, f, func(cfg *ClientConfig) { cfg.Tracer = tp })

	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	_, err := c.Account(ctx, "P-SECRET-42")
	parent.End()
	if err == nil {
		t.Fatal("a 503 answered no error")
	}
	var call sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "core account" {
			call = s
		}
	}
	if call == nil {
		t.Fatal("no span core account")
	}
	if call.Parent().SpanID() != parent.SpanContext().SpanID() || call.Status().Code != codes.Error {
		t.Errorf("span parent %s status %s, want the caller's span and Error", call.Parent().SpanID(), call.Status().Code)
	}
	for _, a := range call.Attributes() {
		if strings.Contains(a.Value.Emit(), "P-SECRET-42") {
			t.Errorf("attribute %s holds the person's id", a.Key)
		}
	}
	reqs := f.requests()
	if len(reqs) == 0 {
		t.Fatal("no request reached the core")
	}
	want := "00-" + call.SpanContext().TraceID().String() + "-" + call.SpanContext().SpanID().String() + "-01"
	if got := reqs[0].Header.Get("traceparent"); got != want {
		t.Errorf("traceparent %q, want the call span's %q", got, want)
	}
	if !reqs[0].SigOK {
		t.Error("the signature no longer verifies with the traceparent header")
	}
}
