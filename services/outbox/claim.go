package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"handheld/services"
	"handheld/services/store"
	"handheld/services/tracing"
)

// lane is one claim statement and the topic names its placeholders bind.
type lane struct {
	sql  string
	args []any
}

// claimLanes builds the claim's two statements: first the topics that carry
// a person's business (every topic not Background), then the Background
// ones, which only get the slots the first left. Their placeholders are $1
// now, $2 the lease's end, $3 the row limit, then one per topic name (the
// lane's args, in that order). A lane without topics has no statement.
//
// The first lane reads each topic's due rows in order from
// outbox_due_topic_idx (topic, next_attempt_at, pending rows only), one
// sub-select per topic, so that no topic's rows are looked for among
// another's: a backlog of messages costs a claim of withdrawals nothing.
// On PostgreSQL the sub-selects' rows are joined and cut to the limit
// ((ARRAY(…) || ARRAY(…))[1:$3]); rows a sub-select locked beyond the cut
// are released at commit, unclaimed. The first topics' rows fill the cut
// first, so the worker binds the topics in a new order each claim
// (rotated), and a busy topic cannot keep the others waiting. The
// background lane is claimStatement.
func claimLanes(d store.Dialect, topics []Topic) (first, later lane) {
	var business, bg []Topic
	for _, t := range topics {
		if t.Background {
			bg = append(bg, t)
		} else {
			business = append(business, t)
		}
	}
	if len(bg) > 0 {
		later.sql, later.args = claimStatement(d, bg)
	}
	if len(business) == 0 {
		return first, later
	}
	var branches []string
	for i, t := range business {
		first.args = append(first.args, string(t.Name))
		due := fmt.Sprintf(`SELECT id FROM outbox
			WHERE delivered_at IS NULL AND topic = $%d AND next_attempt_at <= $1
			ORDER BY next_attempt_at`, i+4)
		if d == store.Postgres {
			due = "ARRAY(" + due + " LIMIT $3::int FOR UPDATE SKIP LOCKED)"
		} else {
			due = "SELECT id FROM (" + due + " LIMIT $3)"
		}
		branches = append(branches, due)
	}
	chosen := "id IN (SELECT id FROM (" + strings.Join(branches, "\n\t\t\tUNION ALL ") + ") LIMIT $3)"
	if d == store.Postgres {
		chosen = "id = ANY((" + strings.Join(branches, "\n\t\t\t|| ") + ")[1:$3::int])"
	}
	first.sql = `
		UPDATE outbox SET
		next_attempt_at = $2,
		attempts = attempts + 1
		WHERE ` + chosen + `
		RETURNING id, topic, payload, attempts, created_at, trace_parent`
	return first, later
}

// claimStatement builds the one statement that leases due rows of topics.
// Its placeholders are $1 now, $2 the lease's end, $3 the row limit, then
// one per topic name (the returned args, in that order). Rows of AtMostOnce
// topics are leased like any other here, and closed one by one just before
// their handler runs (deliver), so that a crash loses at most the messages
// being sent at that moment, not every one claimed and waiting for a slot.
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
// pending row. It still sorts when its statistics say few rows are pending
// and a backlog has come since (an outage ends, a burst of applications):
// until autovacuum analyzes the table, each claim then read and sorted all
// 14,600 pending rows (11–14 ms) in `handheld bench withdrawal`. So the
// claim runs with sorting off (claim): the index's order whatever the
// statistics say.
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

// claimUnsorted has PostgreSQL plan the claim in this transaction without
// a sort, so that it reads the due rows in the index's order (see
// claimStatement).
const claimUnsorted = `SELECT set_config('enable_sort', 'off', true)`

// claim leases up to n due rows and returns them with the lease's end,
// which, with the attempts count, identifies this claim when the outcome is
// recorded. The statement runs detached from ctx's cancellation: once it has
// committed, its rows must be read, or they would sit leased for nothing.
func (w *Worker) claim(ctx context.Context, n int) ([]claimed, time.Time, error) {
	now := store.Timestamp(w.now())
	until := store.Timestamp(now.Add(w.lease))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()

	first := rotated(w.first.args, int(w.turn.Add(1)))
	var msgs []claimed
	err := w.store.Tx(ctx, func(tx *store.Tx) error {
		msgs = msgs[:0]
		if w.first.sql != "" {
			if err := w.claimLane(ctx, tx, w.first.sql, first, now, until, n, &msgs); err != nil {
				return err
			}
		}
		left := n - len(msgs)
		if left <= 0 || w.later.sql == "" {
			return nil
		}
		if tx.Dialect() == store.Postgres {
			if _, err := tx.Exec(ctx, claimUnsorted); err != nil {
				return err
			}
		}
		return w.claimLane(ctx, tx, w.later.sql, w.later.args, now, until, left, &msgs)
	})
	if err != nil {
		return nil, time.Time{}, services.Errorf(services.CodeInternal, "outbox: claim: %w", err)
	}
	return msgs, until, nil
}

// claimLane runs one lane's statement for up to n rows and appends them.
func (w *Worker) claimLane(ctx context.Context, tx *store.Tx, query string, topics []any, now, until time.Time, n int, msgs *[]claimed) error {
	rows, err := tx.Query(ctx, query, append([]any{now, until, n}, topics...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var m claimed
		var traceParent sql.NullString
		if err := rows.Scan(&m.ID, &m.Topic, &m.Payload, &m.Attempts, store.ScanTime(&m.CreatedAt), &traceParent); err != nil {
			return fmt.Errorf("read row: %w", err)
		}
		m.traceParent = traceParent.String
		if m.Payload, m.unreadable = w.store.Open(m.Payload, sealedPayload.Place(m.ID)); m.unreadable != nil {
			m.Payload = nil
		}
		*msgs = append(*msgs, m)
	}
	return rows.Err()
}

// rotated is args starting at index k (mod their number), then the rest.
func rotated(args []any, k int) []any {
	if len(args) < 2 {
		return args
	}
	k %= len(args)
	return append(slices.Clone(args[k:]), args[:k]...)
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
	ctx, span := w.span(ctx, c)
	defer span.End()
	if topic.AtMostOnce && !w.open(ctx, m, until) {
		handled()
		return
	}
	err := c.unreadable
	if err == nil {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.handlerTimeout)
		err = w.call(hctx, m, func(ctx context.Context) error { return topic.Handle(ctx, m) })
		cancel()
	}
	handled()
	w.conclude(ctx, span, topic, m, until, err, false)
}

// deliverBatch is deliver for the rows of a batch topic claimed together:
// one span per message as deliver makes, one call of the topic's
// HandleBatch for all of them, under one deadline, in a span of its own
// linked to theirs; then each outcome recorded, in one batch of the
// recorder.
func (w *Worker) deliverBatch(ctx context.Context, topic Topic, batch []claimed, until time.Time, handled func()) {
	msgs := make([]Message, 0, len(batch))
	spans := make([]trace.Span, 0, len(batch))
	ctxs := make([]context.Context, 0, len(batch))
	var links []trace.Link
	opened := make([]bool, len(batch))
	var opening sync.WaitGroup
	for i, c := range batch {
		mctx, span := w.span(ctx, c)
		defer span.End()
		msgs, spans, ctxs = append(msgs, c.Message), append(spans, span), append(ctxs, mctx)
		opened[i] = true
		if topic.AtMostOnce { // together, so that the closes share a commit
			opening.Go(func() { opened[i] = w.open(mctx, c.Message, until) })
		}
	}
	opening.Wait()
	n := 0
	for i := range msgs {
		if opened[i] {
			msgs[n], spans[n], ctxs[n] = msgs[i], spans[i], ctxs[i]
			links = append(links, trace.Link{SpanContext: spans[n].SpanContext()})
			n++
		}
	}
	msgs, spans, ctxs = msgs[:n], spans[:n], ctxs[:n]
	if len(msgs) == 0 {
		handled()
		return
	}
	own := make(map[string]trace.SpanContext, len(msgs))
	closes := &closing{until: until, claimed: make(map[string]int, len(msgs)), now: w.now, closed: map[string]bool{}}
	for i, m := range msgs {
		own[m.ID] = spans[i].SpanContext()
		closes.claimed[m.ID] = m.Attempts
	}
	bctx := context.WithValue(context.WithValue(context.WithoutCancel(ctx), batchSpansKey{}, own), closingKey{}, closes)
	bctx, span := w.tracer.Start(bctx, "outbox deliver batch "+string(topic.Name),
		trace.WithLinks(links...), trace.WithAttributes(attribute.Int("handheld.outbox.batch", len(msgs))))
	hctx, cancel := context.WithTimeout(bctx, w.handlerTimeout)
	var errs []error
	err := w.call(hctx, msgs[0], func(ctx context.Context) error {
		errs = topic.HandleBatch(ctx, msgs)
		if len(errs) != len(msgs) {
			return fmt.Errorf("outbox: batch handler of %s returned %d results for %d messages", topic.Name, len(errs), len(msgs))
		}
		return nil
	})
	cancel()
	span.End()
	if err != nil {
		errs = slices.Repeat([]error{err}, len(msgs))
	}
	handled()
	var settled sync.WaitGroup
	for i, m := range msgs {
		closed := errs[i] == nil && closes.closedInTx(m.ID)
		settled.Go(func() { w.conclude(ctxs[i], spans[i], topic, m, until, errs[i], closed) })
	}
	settled.Wait()
}

// span starts the delivery span of c, a child of the span that enqueued it.
func (w *Worker) span(ctx context.Context, c claimed) (context.Context, trace.Span) {
	return w.tracer.Start(tracing.WithTraceParent(ctx, c.traceParent), "outbox deliver "+string(c.Topic),
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
			attribute.String("messaging.system", "handheld.outbox"),
			attribute.String("messaging.destination.name", string(c.Topic)),
			attribute.String("messaging.message.id", c.ID),
			attribute.Int("handheld.outbox.attempts", c.Attempts)))
}

// open closes an AtMostOnce row before its handler runs and reports whether
// it may be sent. Not closed: not sent either; the lease brings it back (or
// another worker has it already).
func (w *Worker) open(ctx context.Context, m Message, until time.Time) bool {
	closed, err := w.closeBeforeSending(ctx, m, until)
	if err != nil {
		w.log.Error("outbox: closing an at-most-once message failed", "topic", m.Topic, "id", m.ID, "error", err)
	}
	if err != nil || !closed {
		w.observe(string(m.Topic), OutcomeLeaseLost)
		return false
	}
	return true
}

// conclude judges a handler's err for m and records the outcome; closed:
// the handler closed m's row itself (Delivered), nothing is left to write.
func (w *Worker) conclude(ctx context.Context, span trace.Span, topic Topic, m Message, until time.Time, err error, closed bool) {
	v := judge(err)
	v.closed = closed
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
	now := store.Timestamp(w.now())
	return w.rec.record(ctx, outcomeWrite{id: m.ID, attempts: m.Attempts, until: until, delivered: &now, openOnly: true})
}

// call runs h (m's handler, or the batch m opens), turning a panic into a failure to retry: one bad message must
// not bring down the process, nor every other delivery with it. The panic's
// value is not logged, as it may quote the payload; its type and the stack
// are.
func (w *Worker) call(ctx context.Context, m Message, h func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("outbox: handler panicked", "topic", m.Topic, "id", m.ID, "attempts", m.Attempts,
				"panic_type", fmt.Sprintf("%T", r), "stack", string(debug.Stack()))
			err = errors.New("outbox: handler panicked")
		}
	}()
	return h(ctx)
}

// settle records v for m's row, logs it, and reports it to Observe.
func (w *Worker) settle(ctx context.Context, t Topic, m Message, until time.Time, v verdict) {
	now := store.Timestamp(w.now())
	var retry time.Duration
	o := outcomeWrite{id: m.ID, attempts: m.Attempts, until: until}
	switch v.outcome {
	case OutcomeDelivered:
		if t.AtMostOnce || v.closed {
			w.observe(string(m.Topic), v.outcome) // closed before it was sent, or by its handler: nothing to write
			return
		}
		o.delivered = &now
	case OutcomeRetry:
		retry = backoff(w.backoffBase, w.backoffMax, m.Attempts, w.jitter())
		next := store.Timestamp(now.Add(retry))
		o.next, o.lastError = &next, &v.text
	case OutcomeAgain:
		next, none := store.Timestamp(now.Add(v.after)), ""
		o.next, o.back, o.lastError = &next, 1, &none
	case OutcomeDead:
		o.delivered, o.lastError = &now, &v.text
	}

	recorded, err := w.rec.record(ctx, o)
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
