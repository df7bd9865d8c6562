package outbox

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"handheld/services/store"
)

// recorder writes outcomes in batches: handlers that finish while a batch is
// being written queue theirs, and the next batch writes all of them in one
// transaction. Each commit waits for the disk, a few milliseconds, so one
// commit per row would cap a worker at a few hundred rows a second however
// many handlers it runs; one per batch does not.
//
// There is no writer goroutine to start or stop: the first caller to find
// no batch being written writes one (the leader), and on finishing hands the
// lead to the first caller still queued.
type recorder struct {
	store *store.Store

	mu      sync.Mutex
	queue   []*outcomeWrite
	writing bool // a leader is active
}

// outcomeWrite is what one outcome writes in its row, guarded by the claim
// it settles (attempts and the lease's end, both as claimed): if the lease
// ran out and another worker claimed the row, attempts and next_attempt_at
// have moved on and nothing is written. Both together, because Again moves
// attempts back, so attempts alone could come round to the claimed value.
type outcomeWrite struct {
	id       string
	attempts int
	until    time.Time
	// delivered_at becomes delivered (NULL when nil: re-opened for a
	// retry); next_attempt_at becomes next and last_error lastError,
	// each unchanged when nil; attempts goes back by back.
	delivered, next *time.Time
	lastError       *string
	back            int
	// openOnly: only a row not delivered yet (an at-most-once close).
	openOnly bool

	done chan writeResult // capacity 1
}

// writeResult tells a caller that its statement was written (recorded: it
// matched its row, or not: the lease was lost), or that it leads now.
type writeResult struct {
	recorded bool
	err      error
	lead     bool
}

// record writes o in the next batch and reports whether it matched its row.
func (r *recorder) record(ctx context.Context, o outcomeWrite) (bool, error) {
	w := &o
	w.done = make(chan writeResult, 1)
	r.mu.Lock()
	r.queue = append(r.queue, w)
	lead := !r.writing
	r.writing = true
	r.mu.Unlock()

	if !lead {
		res := <-w.done
		if !res.lead {
			return res.recorded, res.err
		}
	}
	r.mu.Lock()
	batch := r.queue
	r.queue = nil
	r.mu.Unlock()

	r.write(ctx, batch) // w is in it: queued before the lead came

	r.mu.Lock()
	if len(r.queue) > 0 {
		r.queue[0].done <- writeResult{lead: true}
	} else {
		r.writing = false
	}
	r.mu.Unlock()
	res := <-w.done
	return res.recorded, res.err
}

// write runs the batch in one transaction and tells each caller its result.
// On PostgreSQL that is one statement for the whole batch, its rows passed
// as arrays; on SQLite, in process, one statement per row, in id order. Two
// replicas' batches touch the same rows only after a lease ran out; should
// they deadlock on PostgreSQL, Tx runs the loser again.
func (r *recorder) write(ctx context.Context, batch []*outcomeWrite) {
	slices.SortFunc(batch, func(a, b *outcomeWrite) int { return cmp.Compare(a.id, b.id) })
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	var matched map[string]bool
	err := r.store.Tx(ctx, func(tx *store.Tx) (err error) {
		matched, err = writeRows(ctx, tx, batch) // anew: Tx may run this again
		return err
	})
	for _, w := range batch {
		w.done <- writeResult{recorded: err == nil && matched[w.id], err: err}
	}
}

// writeRows writes batch, sorted by id, in tx and gives the ids of the rows
// it matched: on PostgreSQL one statement for the whole batch (writeAll),
// on SQLite one per row.
func writeRows(ctx context.Context, tx *store.Tx, batch []*outcomeWrite) (map[string]bool, error) {
	if tx.Dialect() == store.Postgres {
		return writeAll(ctx, tx, batch)
	}
	matched := make(map[string]bool, len(batch))
	for _, w := range batch {
		res, err := tx.Exec(ctx, settleRow, w.id, w.attempts, w.until, w.delivered, w.next, w.back, w.lastError, w.openOnly)
		if err != nil {
			return nil, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		matched[w.id] = n == 1
	}
	return matched, nil
}

// settleRow writes one outcomeWrite ($1 id, $2 attempts, $3 until, $4
// delivered, $5 next, $6 back, $7 lastError, $8 openOnly).
const settleRow = `UPDATE outbox SET delivered_at = $4, next_attempt_at = COALESCE($5, next_attempt_at),
	attempts = attempts - $6, last_error = COALESCE($7, last_error)
	WHERE id = $1 AND attempts = $2 AND next_attempt_at = $3 AND (NOT $8 OR delivered_at IS NULL)`

// settleAll is settleRow for many rows at once on PostgreSQL, each column
// an array with one element per row.
const settleAll = `UPDATE outbox AS o SET delivered_at = c.delivered, next_attempt_at = COALESCE(c.next, o.next_attempt_at),
	attempts = o.attempts - c.back, last_error = COALESCE(c.last_error, o.last_error)
	FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[], $6::int[], $7::text[], $8::bool[])
		AS c(id, attempts, until, delivered, next, back, last_error, open_only)
	WHERE o.id = c.id AND o.attempts = c.attempts AND o.next_attempt_at = c.until AND (NOT c.open_only OR o.delivered_at IS NULL)
	RETURNING o.id`

// writeAll runs settleAll for batch and gives the ids of the rows it matched.
func writeAll(ctx context.Context, tx *store.Tx, batch []*outcomeWrite) (map[string]bool, error) {
	var (
		ids, lastErrors  = make([]string, len(batch)), make([]*string, len(batch))
		attempts, back   = make([]int32, len(batch)), make([]int32, len(batch))
		until            = make([]time.Time, len(batch))
		delivered, nexts = make([]*time.Time, len(batch)), make([]*time.Time, len(batch))
		openOnly         = make([]bool, len(batch))
	)
	for i, w := range batch {
		ids[i], attempts[i], until[i], delivered[i], nexts[i] = w.id, int32(w.attempts), w.until, w.delivered, w.next
		back[i], lastErrors[i], openOnly[i] = int32(w.back), w.lastError, w.openOnly
	}
	return store.Set(tx.Query(ctx, settleAll, ids, attempts, until, delivered, nexts, back, lastErrors, openOnly))
}
