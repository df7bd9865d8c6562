package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"handheld/services"
	"handheld/services/store"
	"handheld/services/tracing"
)

// claimStatement builds the one statement that leases due rows. Its
// placeholders are $1 now, $2 the lease's end, $3 the row limit, then one
// per topic name (claimArgs, in that order). Rows of AtMostOnce topics are
// leased like any other here, and closed one by one just before their
// handler runs (deliver), so that a crash loses at most the messages being
// sent at that moment, not every one claimed and waiting for a slot.
//
// On PostgreSQL the due rows are chosen in an ARRAY(…) sub-select, which the
// planner runs once, before the update (an InitPlan), and whose result it
// looks up by primary key. `id IN (SELECT … LIMIT $3 FOR UPDATE SKIP
// LOCKED)` is a join instead: with LIMIT a parameter, the cached plan guesses
// a tenth of the table and scans all of it (7 ms against 0.7 ms with 20,000
// rows), and a join may run its SKIP LOCKED side more than once, each run
// free to pick different rows. SQLite takes the plain sub-select without the
// locking clause, which it neither has nor needs: it has one writer at a time.
//
// The order names delivered_at, NULL in every row chosen, only so that
// PostgreSQL sees that the index on (delivered_at, next_attempt_at) yields
// the rows in order: it reads the first due ones instead of sorting every
// pending row.
func claimStatement(d store.Dialect, topics []Topic) (string, []any) {
	var all []string
	args := make([]any, 0, len(topics))
	for i, t := range topics {
		all = append(all, fmt.Sprintf("$%d", i+4))
		args = append(args, string(t.Name))
	}
	due := `SELECT id FROM outbox
			WHERE delivered_at IS NULL AND next_attempt_at <= $1 AND topic IN (` + strings.Join(all, ", ") + `)
			ORDER BY delivered_at, next_attempt_at
			LIMIT $3`
	chosen := "id IN (" + due + ")"
	if d == store.Postgres {
		chosen = "id = ANY(ARRAY(" + due + "\n\t\t\tFOR UPDATE SKIP LOCKED))"
	}
	return `
		UPDATE outbox SET
		next_attempt_at = $2,
		attempts = attempts + 1
		WHERE ` + chosen + `
		RETURNING id, topic, payload, attempts, created_at, trace_parent`, args
}

// claim leases up to n due rows and returns them with the lease's end,
// which, with the attempts count, identifies this claim when the outcome is
// recorded. The statement runs detached from ctx's cancellation: once it has
// committed, its rows must be read, or they would sit leased for nothing.
func (w *Worker) claim(ctx context.Context, n int) ([]claimed, time.Time, error) {
	now := store.Timestamp(w.now())
	until := store.Timestamp(now.Add(w.lease))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()

	rows, err := w.store.Query(ctx, w.claimSQL, append([]any{now, until, n}, w.claimArgs...)...)
	if err != nil {
		return nil, time.Time{}, services.Errorf(services.CodeInternal, "outbox: claim: %w", err)
	}
	defer rows.Close()
	var msgs []claimed
	for rows.Next() {
		var m claimed
		var traceParent sql.NullString
		if err := rows.Scan(&m.ID, &m.Topic, &m.Payload, &m.Attempts, store.ScanTime(&m.CreatedAt), &traceParent); err != nil {
			return nil, time.Time{}, services.Errorf(services.CodeInternal, "outbox: claim: read row: %w", err)
		}
		m.traceParent = traceParent.String
		if m.Payload, m.unreadable = w.store.Open(m.Payload, sealedPayload.Place(m.ID)); m.unreadable != nil {
			m.Payload = nil
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, services.Errorf(services.CodeInternal, "outbox: claim: %w", err)
	}
	return msgs, until, nil
}

// claimed is a leased row. unreadable is why its payload did not open
// (altered, or its key removed from the ring): the row is then retried
// with backoff without calling its handler, the error logged and stored,
// until its key is back.
type claimed struct {
	Message
	unreadable  error
	traceParent string // of the request that enqueued it; "" when none
}

// deliver runs m's handler under its own deadline, detached from ctx's
// cancellation (see Run), calls handled, which frees the handler's slot for
// the next claim, and records the outcome.
//
// The delivery is a span, child of the span that enqueued the row (its
// stored traceparent), so a withdrawal's call to the core shows in the trace
// of the request that accepted it, however much later and on whichever
// replica it runs. Each attempt is a span of its own in that trace.
func (w *Worker) deliver(ctx context.Context, c claimed, until time.Time, handled func()) {
	m := c.Message
	topic := w.topics[m.Topic] // the claim only returns known topics
	ctx, span := w.tracer.Start(tracing.WithTraceParent(ctx, c.traceParent), "outbox deliver "+string(m.Topic),
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
			attribute.String("messaging.system", "handheld.outbox"),
			attribute.String("messaging.destination.name", string(m.Topic)),
			attribute.String("messaging.message.id", m.ID),
			attribute.Int("handheld.outbox.attempts", m.Attempts)))
	defer span.End()
	if topic.AtMostOnce {
		closed, err := w.closeBeforeSending(ctx, m, until)
		if err != nil || !closed {
			// Not closed: not sent either. The lease brings it back (or
			// another worker has it already).
			handled()
			if err != nil {
				w.log.Error("outbox: closing an at-most-once message failed", "topic", m.Topic, "id", m.ID, "error", err)
			}
			w.observe(string(m.Topic), OutcomeLeaseLost)
			return
		}
	}
	err := c.unreadable
	if err == nil {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.handlerTimeout)
		err = w.call(hctx, topic.Handle, m)
		cancel()
	}
	handled()
	v := judge(err)
	span.SetAttributes(attribute.String("handheld.outbox.outcome", v.outcome))
	if v.outcome == OutcomeRetry || v.outcome == OutcomeDead {
		span.SetStatus(codes.Error, v.outcome)
	}
	w.settle(ctx, topic, m, until, v)
}

// closeBeforeSending marks an AtMostOnce row delivered just before its
// handler runs, under the claim's lease: from here a crash loses the message
// rather than sending it twice. It goes in the recorder's next batch, with
// other rows' closes and outcomes: one commit for many, and still committed
// before the handler runs.
func (w *Worker) closeBeforeSending(ctx context.Context, m Message, until time.Time) (bool, error) {
	return w.rec.record(ctx, m.ID, settleDelivered+` AND delivered_at IS NULL`,
		[]any{store.Timestamp(w.now()), m.ID, m.Attempts, until})
}

// call runs h, turning a panic into a failure to retry: one bad message must
// not bring down the process, nor every other delivery with it. The panic's
// value is not logged, as it may quote the payload; its type and the stack
// are.
func (w *Worker) call(ctx context.Context, h Handler, m Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("outbox: handler panicked", "topic", m.Topic, "id", m.ID, "attempts", m.Attempts,
				"panic_type", fmt.Sprintf("%T", r), "stack", string(debug.Stack()))
			err = errors.New("outbox: handler panicked")
		}
	}()
	return h(ctx, m)
}

// The statements that record an outcome. Each is guarded by the claim it
// settles ($3 attempts, $4 the lease's end, both as claimed): if the lease ran
// out and another worker claimed the row, attempts and next_attempt_at have
// moved on and nothing is written. Both together, because Again moves
// attempts back, so attempts alone could come round to the claimed value.
const (
	settleDelivered = `UPDATE outbox SET delivered_at = $1
		WHERE id = $2 AND attempts = $3 AND next_attempt_at = $4`
	settleRetry = `UPDATE outbox SET next_attempt_at = $1, last_error = $5, delivered_at = NULL
		WHERE id = $2 AND attempts = $3 AND next_attempt_at = $4`
	settleAgain = `UPDATE outbox SET next_attempt_at = $1, attempts = attempts - 1, last_error = '', delivered_at = NULL
		WHERE id = $2 AND attempts = $3 AND next_attempt_at = $4`
	settleDead = `UPDATE outbox SET delivered_at = $1, last_error = $5
		WHERE id = $2 AND attempts = $3 AND next_attempt_at = $4`
)

// settle records v for m's row, logs it, and reports it to Observe.
func (w *Worker) settle(ctx context.Context, t Topic, m Message, until time.Time, v verdict) {
	now := store.Timestamp(w.now())
	var (
		query string
		at    = now // delivered_at or next_attempt_at, by statement
		retry time.Duration
	)
	switch v.outcome {
	case OutcomeDelivered:
		if t.AtMostOnce {
			w.observe(string(m.Topic), v.outcome) // closed before it was sent: nothing to write
			return
		}
		query = settleDelivered
	case OutcomeRetry:
		retry = backoff(w.backoffBase, w.backoffMax, m.Attempts, w.jitter())
		query, at = settleRetry, store.Timestamp(now.Add(retry))
	case OutcomeAgain:
		query, at = settleAgain, store.Timestamp(now.Add(v.after))
	case OutcomeDead:
		query = settleDead
	}
	args := []any{at, m.ID, m.Attempts, until}
	if query == settleRetry || query == settleDead {
		args = append(args, v.text)
	}

	recorded, err := w.rec.record(ctx, m.ID, query, args)
	if err != nil {
		// The row keeps its lease and comes back when it ends: delivered
		// again if it was delivered, lost if it was an AtMostOnce retry.
		w.log.Error("outbox: recording the outcome failed", "topic", m.Topic, "id", m.ID,
			"attempts", m.Attempts, "outcome", v.outcome, "error", err)
		w.observe(string(m.Topic), v.outcome)
		return
	}
	if !recorded {
		w.log.Warn("outbox: lease ran out before the outcome was recorded; another worker has the row",
			"topic", m.Topic, "id", m.ID, "attempts", m.Attempts, "outcome", v.outcome, "lease", w.lease)
		w.observe(string(m.Topic), OutcomeLeaseLost)
		return
	}
	switch v.outcome {
	case OutcomeRetry:
		w.log.Warn("outbox: delivery failed, will retry", "topic", m.Topic, "id", m.ID,
			"attempts", m.Attempts, "retry_in", retry, "error", v.text)
	case OutcomeDead:
		w.log.Error("outbox: delivery failed for good", "topic", m.Topic, "id", m.ID,
			"attempts", m.Attempts, "error", v.text)
	}
	w.observe(string(m.Topic), v.outcome)
}
