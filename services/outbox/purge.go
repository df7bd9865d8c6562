package outbox

import (
	"context"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// Purge deletes up to batch rows closed before `before`: delivered, or given
// up on (dead, counted and logged when they died). Rows still to deliver are
// never touched, however old. A row's id is its deduplication key (Enqueue),
// so `before` must lie further back than any retry of the request that
// enqueued it could come: the retention policy keeps closed rows for weeks,
// against a day for Idempotency-Keys. It returns how many rows went.
func Purge(ctx context.Context, s *store.Store, before time.Time, batch int) (int, error) {
	res, err := s.Exec(ctx, `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
		WHERE delivered_at IS NOT NULL AND delivered_at < $1 ORDER BY delivered_at LIMIT `+strconv.Itoa(max(batch, 1))+`)`,
		store.Timestamp(before))
	if err != nil {
		return 0, services.Errorf(services.CodeInternal, "outbox: purge: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
