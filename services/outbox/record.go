package outbox

import (
	"cmp"
	"context"
	"slices"
	"sync"

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

// outcomeWrite is one settle statement waiting to be written.
type outcomeWrite struct {
	id    string // the row, for the lock order
	query string
	args  []any
	done  chan writeResult // capacity 1
}

// writeResult tells a caller that its statement was written (recorded: it
// matched its row, or not: the lease was lost), or that it leads now.
type writeResult struct {
	recorded bool
	err      error
	lead     bool
}

// record runs query (an UPDATE of row id guarded by its claim) in the next
// batch and reports whether it matched the row.
func (r *recorder) record(ctx context.Context, id, query string, args []any) (bool, error) {
	w := &outcomeWrite{id: id, query: query, args: args, done: make(chan writeResult, 1)}
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
// Rows are updated in id order, so that two replicas' batches touching the
// same rows (after a lease ran out) lock them in the same order and cannot
// deadlock.
func (r *recorder) write(ctx context.Context, batch []*outcomeWrite) {
	slices.SortFunc(batch, func(a, b *outcomeWrite) int { return cmp.Compare(a.id, b.id) })
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	matched := make([]bool, len(batch))
	err := r.store.Tx(ctx, func(tx *store.Tx) error {
		for i, w := range batch {
			res, err := tx.Exec(ctx, w.query, w.args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			matched[i] = n == 1 // set on every try: Tx may run this again
		}
		return nil
	})
	for i, w := range batch {
		w.done <- writeResult{recorded: err == nil && matched[i], err: err}
	}
}
