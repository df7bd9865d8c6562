package outbox

import (
	"cmp"
	"context"
	"slices"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// OverdueAfter is how long a row may stay due without a worker claiming
// it before it counts as overdue. A worker that keeps up claims a due row
// within its idle pause (a quarter of a second) or its next free slot; a
// row due for a minute means no worker is running or every one is full.
const OverdueAfter = time.Minute

// Backlog is one topic's undelivered rows at one moment, for an operator's
// metrics: how many wait, how long the oldest has waited, how many are
// failing and how many no worker has picked up.
type Backlog struct {
	Topic TopicName
	// Pending counts rows not delivered yet: due, leased, or waiting out a
	// backoff. The same rows as Pending (the function) counts, per topic.
	Pending int
	// Failing counts pending rows whose last delivery failed and that wait
	// for a retry (last_error set). Rows of a handler that asked for
	// Again are not failing.
	Failing int
	// Overdue counts pending rows due for longer than OverdueAfter and not
	// leased: work that no worker is taking.
	Overdue int
	// Oldest is when the oldest pending row was enqueued (its created_at);
	// zero when there is none.
	Oldest time.Time
}

// backlogStatement reads every topic's backlog in one statement. It
// asks for pending rows only: delivered_at IS NULL is the leading column
// of outbox_pending_idx, so the index skips delivered rows, however many
// years of them the table keeps. $1 is the time before which a due row is
// overdue.
const backlogStatement = `
	SELECT topic, COUNT(*),
		COUNT(CASE WHEN last_error <> '' THEN 1 END),
		COUNT(CASE WHEN next_attempt_at <= $1 THEN 1 END),
		MIN(created_at)
	FROM outbox
	WHERE delivered_at IS NULL
	GROUP BY topic`

// Backlog reads the backlog of every topic this worker delivers, in the
// order they were configured, with zeros for a topic that has nothing
// waiting, followed by any other topic that has rows (enqueued by a newer
// replica, or by a producer without a handler here: those rows wait until
// a worker that knows them runs). It is one aggregate statement over the
// pending rows; callers that run it on every scrape should cache it, as
// the /metrics wiring does.
func (w *Worker) Backlog(ctx context.Context) ([]Backlog, error) {
	rows, err := w.store.Query(ctx, backlogStatement, store.Timestamp(w.now().Add(-OverdueAfter)))
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "outbox: read backlog: %w", err)
	}
	defer rows.Close()
	found := map[TopicName]Backlog{}
	for rows.Next() {
		var b Backlog
		if err := rows.Scan(&b.Topic, &b.Pending, &b.Failing, &b.Overdue, store.ScanTime(&b.Oldest)); err != nil {
			return nil, services.Errorf(services.CodeInternal, "outbox: read backlog: %w", err)
		}
		found[b.Topic] = b
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "outbox: read backlog: %w", err)
	}
	out := make([]Backlog, 0, len(w.order)+len(found))
	for _, name := range w.order {
		b, ok := found[name]
		if !ok {
			b = Backlog{Topic: name}
		}
		out = append(out, b)
		delete(found, name)
	}
	others := make([]Backlog, 0, len(found))
	for _, b := range found {
		others = append(others, b)
	}
	slices.SortFunc(others, func(a, b Backlog) int { return cmp.Compare(a.Topic, b.Topic) })
	return append(out, others...), nil
}

func topicNames(topics []Topic) []TopicName {
	out := make([]TopicName, len(topics))
	for i, t := range topics {
		out[i] = t.Name
	}
	return out
}
