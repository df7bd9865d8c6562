package store_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"handheld/services/store"
)

// TestTracingSpansStatementsInATraceOnly: with tracing, a statement run for
// a traced caller is a child span carrying its text and no arguments; one
// run outside any trace makes no span.
func TestTracingSpansStatementsInATraceOnly(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	s, err := store.Open(t.Context(), "sqlite::memory:", store.WithTracing(tp))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const secret = "330102199001011234"
	var got string
	if err := s.QueryRow(context.Background(), `SELECT $1`, secret).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans for a statement outside any trace, want 0", n)
	}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	if err := s.QueryRow(ctx, `SELECT $1`, secret).Scan(&got); err != nil {
		t.Fatal(err)
	}
	parent.End()
	var query sdktrace.ReadOnlySpan
	for _, sp := range rec.Ended() {
		if sp.Name() == "sql.conn.query" {
			query = sp
		}
		for _, a := range sp.Attributes() {
			if a.Value.Emit() == secret {
				t.Errorf("span %s attribute %s holds the argument", sp.Name(), a.Key)
			}
		}
	}
	if query == nil || query.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("no sql.conn.query span under the caller's (spans: %d)", len(rec.Ended()))
	}
}
