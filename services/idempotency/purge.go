package idempotency

import (
	"context"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// Purge deletes up to batch keys created before `before`, finished or
// abandoned. A key is only replayed for Retention after it was claimed, so
// the retention policy's `before` lies at least that far back; a key purged
// is free, as an expired one already was. It returns how many keys went.
func Purge(ctx context.Context, s *store.Store, before time.Time, batch int) (int, error) {
	res, err := s.Exec(ctx, `DELETE FROM idempotency_keys WHERE (scope, key) IN (SELECT scope, key FROM idempotency_keys
		WHERE created_at < $1 ORDER BY created_at LIMIT `+strconv.Itoa(max(batch, 1))+`)`, store.Timestamp(before))
	if err != nil {
		return 0, services.Errorf(services.CodeInternal, "idempotency: purge: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
