package outbox

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"handheld/services/store"
)

// Delivered closes the rows of ms, messages of the batch being handled, as
// delivered in tx: the batch handler's own transaction, the one that
// records what the receiver answered. The record and the row's close then
// commit together, and the worker has no outcome of its own to write for
// them: a commit per batch fewer, and no window in which the receiver's
// answer is recorded but its row is still open.
//
// Each row is closed only under the lease its claim took (the compare-and-
// set of every outcome); a row whose lease ran out is left alone, for the
// worker that holds it now. The worker trusts a close only for a message
// its handler answers nil: pass a message here only in the transaction
// that makes it delivered, and answer it nil when that transaction
// commits. (A message answered with an error after all is re-opened for
// a retry, as any failure is.)
//
// Outside a batch delivery (a handler called directly, a test) it does
// nothing: there is no claim whose rows to close.
func Delivered(ctx context.Context, tx *store.Tx, ms ...Message) error {
	c, _ := ctx.Value(closingKey{}).(*closing)
	if c == nil || len(ms) == 0 {
		return nil
	}
	now := store.Timestamp(c.now())
	batch := make([]*outcomeWrite, 0, len(ms))
	for _, m := range ms {
		if attempts, ok := c.claimed[m.ID]; ok && attempts == m.Attempts {
			batch = append(batch, &outcomeWrite{id: m.ID, attempts: attempts, until: c.until, delivered: &now})
		}
	}
	slices.SortFunc(batch, func(a, b *outcomeWrite) int { return cmp.Compare(a.id, b.id) })
	matched, err := writeRows(ctx, tx, batch)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range batch {
		c.closed[w.id] = matched[w.id] // on every try: Tx may run the handler's function again
	}
	return nil
}

// closing is what a batch handler's context carries for Delivered: the
// claim's lease and the rows it closed.
type closing struct {
	until   time.Time
	claimed map[string]int // attempts of each message of the batch, by id
	now     func() time.Time

	mu     sync.Mutex
	closed map[string]bool
}

// closingKey keys a batch handler's context value: its *closing.
type closingKey struct{}

// closedInTx reports whether the handler closed id's row in its own
// transaction (Delivered).
func (c *closing) closedInTx(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed[id]
}
