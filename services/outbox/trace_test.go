package outbox_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// TestDeliveryJoinsTheEnqueuingTrace: a row enqueued inside a span is
// delivered in a span that is that span's child, in the same trace, and the
// handler's calls are children of the delivery; a row enqueued outside any
// trace is delivered in a trace of its own.
func TestDeliveryJoinsTheEnqueuingTrace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		clk := newClock()
		handled := map[string]trace.SpanContext{}
		w, err := outbox.New(outbox.Config{
			Store: s, Enqueued: []outbox.TopicName{"withdrawal.submit"}, Now: clk.Now, Tracer: tp,
			Topics: []outbox.Topic{{Name: "withdrawal.submit", Handle: func(ctx context.Context, m outbox.Message) error {
				handled[m.ID] = trace.SpanContextFromContext(ctx) // Concurrency 1: one handler at a time
				return nil
			}}},
			Concurrency: 1,
		})
		if err != nil {
			t.Fatal(err)
		}

		ctx, request := tp.Tracer("test").Start(context.Background(), "request")
		err = s.Tx(ctx, func(tx *store.Tx) error {
			_, err := outbox.Enqueue(ctx, tx, outbox.Message{ID: "traced", Topic: "withdrawal.submit"}, clk.Now())
			return err
		})
		request.End()
		if err != nil {
			t.Fatal(err)
		}
		enqueue(t, s, outbox.Message{ID: "untraced", Topic: "withdrawal.submit"}, clk.Now())
		if n := runOnce(t, w) + runOnce(t, w); n != 2 { // one slot: one row a round
			t.Fatalf("handled %d, want 2", n)
		}

		deliveries := map[string]sdktrace.ReadOnlySpan{}
		for _, sp := range rec.Ended() {
			if sp.Name() == "outbox deliver withdrawal.submit" {
				for _, a := range sp.Attributes() {
					if a.Key == "messaging.message.id" {
						deliveries[a.Value.AsString()] = sp
					}
				}
			}
		}
		traced, untraced := deliveries["traced"], deliveries["untraced"]
		if traced == nil || untraced == nil {
			t.Fatalf("delivery spans = %v, want one per row", deliveries)
		}
		want := request.SpanContext()
		if traced.SpanContext().TraceID() != want.TraceID() || traced.Parent().SpanID() != want.SpanID() {
			t.Fatalf("traced delivery: trace %s parent %s, want trace %s parent %s",
				traced.SpanContext().TraceID(), traced.Parent().SpanID(), want.TraceID(), want.SpanID())
		}
		if got := handled["traced"]; got.SpanID() != traced.SpanContext().SpanID() {
			t.Fatalf("the handler ran in span %s, want the delivery's %s", got.SpanID(), traced.SpanContext().SpanID())
		}
		if untraced.SpanContext().TraceID() == want.TraceID() || untraced.Parent().IsValid() {
			t.Fatalf("untraced delivery joined trace %s (parent %s), want a root of its own",
				untraced.SpanContext().TraceID(), untraced.Parent().SpanID())
		}
	})
}

// TestBatchMessagesKeepTheirTraces: a batch handler runs in a batch span
// linked to each message's delivery span, and outbox.Traced
// puts the work done for it alone in that message's own trace.
func TestBatchMessagesKeepTheirTraces(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		clk := newClock()
		var batchSpan trace.SpanContext
		own := map[string]trace.SpanContext{}
		w, err := outbox.New(outbox.Config{
			Store: s, Enqueued: []outbox.TopicName{"withdrawal.submit"}, Now: clk.Now, Tracer: tp,
			Topics: []outbox.Topic{{Name: "withdrawal.submit", HandleBatch: func(ctx context.Context, ms []outbox.Message) []error {
				batchSpan = trace.SpanContextFromContext(ctx) // one batch: no other call at once
				for _, m := range ms {
					own[m.ID] = trace.SpanContextFromContext(outbox.Traced(ctx, m))
				}
				return make([]error, len(ms))
			}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		requests := map[string]trace.SpanContext{}
		for _, id := range []string{"a", "b"} {
			ctx, request := tp.Tracer("test").Start(context.Background(), "request "+id)
			if err := s.Tx(ctx, func(tx *store.Tx) error {
				_, err := outbox.Enqueue(ctx, tx, outbox.Message{ID: id, Topic: "withdrawal.submit"}, clk.Now())
				return err
			}); err != nil {
				t.Fatal(err)
			}
			request.End()
			requests[id] = request.SpanContext()
		}
		if n := runOnce(t, w); n != 2 {
			t.Fatalf("handled %d, want 2", n)
		}
		deliveries := map[string]sdktrace.ReadOnlySpan{}
		var batch sdktrace.ReadOnlySpan
		for _, sp := range rec.Ended() {
			switch sp.Name() {
			case "outbox deliver withdrawal.submit":
				for _, a := range sp.Attributes() {
					if a.Key == "messaging.message.id" {
						deliveries[a.Value.AsString()] = sp
					}
				}
			case "outbox deliver batch withdrawal.submit":
				batch = sp
			}
		}
		if batch == nil || batch.SpanContext().SpanID() != batchSpan.SpanID() {
			t.Fatalf("the handler did not run in the batch span")
		}
		linked := map[trace.SpanID]bool{}
		for _, l := range batch.Links() {
			linked[l.SpanContext.SpanID()] = true
		}
		for id, req := range requests {
			d := deliveries[id]
			if d == nil {
				t.Fatalf("no delivery span for %s", id)
			}
			if d.SpanContext().TraceID() != req.TraceID() || d.Parent().SpanID() != req.SpanID() {
				t.Errorf("%s: delivery not a child of its request", id)
			}
			if own[id].SpanID() != d.SpanContext().SpanID() || own[id].TraceID() != req.TraceID() {
				t.Errorf("%s: Traced gives span %s in trace %s, want its delivery %s in %s", id,
					own[id].SpanID(), own[id].TraceID(), d.SpanContext().SpanID(), req.TraceID())
			}
			if !linked[d.SpanContext().SpanID()] {
				t.Errorf("%s: the batch span has no link to its delivery", id)
			}
		}
	})
}
