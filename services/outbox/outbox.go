// Package outbox is the transactional outbox: a write that must reach another
// system (a withdrawal for the core, a notification for the person) is stored
// as a row in the same SQL transaction as the record it announces, so that
// either both exist or neither does, and a Worker delivers the row afterwards,
// retrying with backoff until the receiver has it. The row survives outages of
// the receiver, maintenance windows and restarts of the BFF.
//
// Delivery is at least once: a worker that dies, or takes longer than its
// lease, after the receiver accepted a message but before the row was marked
// delivered, leaves the row to be delivered again. Receivers must therefore
// be idempotent on the message id (the core is, on the application id).
// Topics that would rather lose a message than repeat it (notifications) set
// Topic.AtMostOnce.
//
// Any number of Workers, in one process or in several replicas sharing one
// PostgreSQL database, may run at once: each claims due rows with one
// statement that leases them (FOR UPDATE SKIP LOCKED, so that workers never
// wait for one another nor take the same row), and records the outcome only
// if the row is still under the lease it took (a compare-and-set), so that a
// worker whose lease ran out cannot overwrite the work of the one that took
// the row over. Outcomes of handlers that finish together are written in one
// transaction (record.go), so that a busy worker pays one commit per batch
// rather than one per row; a batch handler may also close its rows itself,
// in the transaction that records what the receiver answered (Delivered,
// close.go), which leaves the worker nothing to write for them.
package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"handheld/services"
	"handheld/services/store"
	"handheld/services/tracing"
)

// Message is one outbox row, as a Handler receives it. Attempts counts
// deliveries started, this one included (1 on the first), less those that
// ended in Again: a Handler can use it to give up after a number of failures
// by returning Permanent.
type Message struct {
	ID        string
	Topic     TopicName
	Payload   []byte
	Attempts  int
	CreatedAt time.Time
}

// Traced is ctx with m's own delivery span as its current span, when ctx
// is a batch handler's and m one of its messages. A batch handler passes it
// to the work it does for m alone (m's core call), so that the work joins
// the trace of the request that enqueued m; what it does for the whole
// batch stays in the batch's span. Elsewhere it is ctx.
func Traced(ctx context.Context, m Message) context.Context {
	spans, _ := ctx.Value(batchSpansKey{}).(map[string]trace.SpanContext)
	if sc, ok := spans[m.ID]; ok {
		return trace.ContextWithSpanContext(ctx, sc)
	}
	return ctx
}

// batchSpansKey keys a batch handler's context value: its messages'
// delivery spans by message id.
type batchSpansKey struct{}

// Handler delivers one message. It returns nil when the receiver has the
// message, Again to be called again later with the same message (polling a
// status that is not final yet), Permanent when retrying can never succeed,
// and any other error for a failure worth retrying with backoff.
//
// The error text is stored in the row (last_error, cut to 500 bytes) and
// logged: it must name what failed, never the person it concerns.
type Handler func(ctx context.Context, m Message) error

// BatchHandler delivers several messages of one topic at once and returns
// one error per message, in the order given, each meaning what a Handler's
// error means for its message: nil, Again, Permanent, or a failure to retry.
// A result of the wrong length counts as a failure of every message.
type BatchHandler func(ctx context.Context, ms []Message) []error

// Enqueue inserts m inside the caller's transaction, due at `at`, so that the
// message is stored if and only if the caller's own write commits. The id
// doubles as a deduplication key: a row with the same id is left as it is
// (whatever its topic, payload or state) and inserted is false, so that a
// request replayed with the same Idempotency-Key does not send twice.
//
// CreatedAt, when zero, is taken to be at: the package has no clock of its
// own and SQL never takes the database's.
//
// The trace context ctx carries, if any, is stored with the row: the
// delivery's span is its child, in the same trace.
//
// Call Worker.Wake after the transaction commits to have it delivered without
// waiting for the worker's next idle round.
func Enqueue(ctx context.Context, tx *store.Tx, m Message, at time.Time) (inserted bool, err error) {
	n, err := EnqueueAll(ctx, tx, Due{Message: m, At: at})
	return n == 1, err
}

// Due is a message and when it is due, for EnqueueAll.
type Due struct {
	Message
	At time.Time
}

// EnqueueAll is Enqueue for several messages in one statement, the way a
// batch handler records the work its answers cause. It returns how many
// rows it inserted: a message whose id is already stored is left as it is.
func EnqueueAll(ctx context.Context, tx *store.Tx, ds ...Due) (inserted int, err error) {
	if len(ds) == 0 {
		return 0, nil
	}
	// The enqueuing request's trace context goes with each row, so that the
	// delivery joins its trace (deliver).
	var traceParent sql.NullString
	if tp := tracing.TraceParent(ctx); tp != "" {
		traceParent = sql.NullString{String: tp, Valid: true}
	}
	var values strings.Builder
	args := make([]any, 0, 6*len(ds))
	for i, d := range ds {
		m := d.Message
		switch {
		case m.ID == "":
			return 0, services.Errorf(services.CodeInternal, "outbox: enqueue on topic %q: empty id", m.Topic)
		case m.Topic == "":
			return 0, services.Errorf(services.CodeInternal, "outbox: enqueue %s: empty topic", m.ID)
		case d.At.IsZero():
			return 0, services.Errorf(services.CodeInternal, "outbox: enqueue %s: zero due time", m.ID)
		}
		created := m.CreatedAt
		if created.IsZero() {
			created = d.At
		}
		// Payloads are sealed whatever their topic: a message to the core
		// may carry a card number, one to the person names their case.
		payload, err := tx.Seal(m.Payload, sealedPayload.Place(m.ID))
		if err != nil {
			return 0, services.Errorf(services.CodeInternal, "outbox: enqueue %s on %s: %w", m.ID, m.Topic, err)
		}
		if i > 0 {
			values.WriteString(", ")
		}
		p := 6 * i
		fmt.Fprintf(&values, "($%d, $%d, $%d, 0, $%d, '', $%d, $%d)", p+1, p+2, p+3, p+4, p+5, p+6)
		args = append(args, m.ID, string(m.Topic), payload, store.Timestamp(d.At), store.Timestamp(created), traceParent)
	}
	res, err := tx.Exec(ctx, `
		INSERT INTO outbox (id, topic, payload, attempts, next_attempt_at, last_error, created_at, trace_parent)
		VALUES `+values.String()+`
		ON CONFLICT (id) DO NOTHING`, args...)
	if err != nil {
		return 0, services.Errorf(services.CodeInternal, "outbox: enqueue %s on %s: %w", ds[0].ID, ds[0].Topic, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, services.Errorf(services.CodeInternal, "outbox: enqueue %s on %s: %w", ds[0].ID, ds[0].Topic, err)
	}
	return int(n), nil
}

// sealedPayload is the outbox's one column of personal data.
var sealedPayload = store.SealedColumn{Table: "outbox", Key: []string{"id"}, Column: "payload"}

// SealedColumns are the columns of the outbox that hold sealed personal
// data, for the sealing step and `handheld keys reseal`.
func SealedColumns() []store.SealedColumn { return []store.SealedColumn{sealedPayload} }

// Pending counts the rows not delivered yet, whatever their topic and
// whether they are due or leased: the backlog a readiness page or a metric
// shows. A row of an AtMostOnce topic counts as delivered from the moment its
// handler starts, unless its delivery fails and it is re-opened.
func Pending(ctx context.Context, s *store.Store) (int, error) {
	var n int
	if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL`).Scan(&n); err != nil {
		return 0, services.Errorf(services.CodeInternal, "outbox: count pending: %w", err)
	}
	return n, nil
}

// The outcomes a Worker passes to Config.Observe, one per message handled.
// They are metric label values, so they never change once published.
const (
	// OutcomeDelivered: the handler returned nil.
	OutcomeDelivered = "delivered"
	// OutcomeRetry: the handler failed; the row is due again after a backoff.
	OutcomeRetry = "retry"
	// OutcomeAgain: the handler asked to be called again (Again).
	OutcomeAgain = "again"
	// OutcomeDead: the handler gave up (Permanent); the row is closed.
	OutcomeDead = "dead"
	// OutcomeLeaseLost: the handler finished after its lease ran out and
	// another worker had claimed the row meanwhile, so this outcome was not
	// recorded (the other worker's will be). A steady count means Lease is
	// too short for the handlers.
	OutcomeLeaseLost = "lease_lost"
)
