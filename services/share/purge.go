package share

import (
	"context"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// PurgeShares removes up to batch shares that ended before `before`
// (revoked then, or valid until then) with their uses, oldest first, for
// the retention job. The person lists an ended share and its uses until
// then; the audit trail keeps every creation, use and revocation.
func PurgeShares(ctx context.Context, s *store.Store, before time.Time, batch int) (int, error) {
	ended := `SELECT id FROM shares WHERE valid_until < $1 OR (revoked_at IS NOT NULL AND revoked_at < $1)
		ORDER BY id LIMIT ` + strconv.Itoa(max(batch, 1))
	var n int64
	err := s.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM share_uses WHERE share_id IN (`+ended+`)`, store.Timestamp(before)); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `DELETE FROM shares WHERE id IN (`+ended+`)`, store.Timestamp(before))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, services.Errorf(services.CodeInternal, "share: purge shares: %w", err)
	}
	return int(n), nil
}

// PurgeRequests removes up to batch requests that ended before `before`:
// pending ones that expired then, declined ones decided then, approved ones
// whose share is gone.
func PurgeRequests(ctx context.Context, s *store.Store, before time.Time, batch int) (int, error) {
	res, err := s.Exec(ctx, `DELETE FROM share_requests WHERE id IN (SELECT id FROM share_requests
		WHERE (status = 'pending' AND expires_at < $1) OR (status = 'declined' AND decided_at < $1)
		   OR (status = 'approved' AND NOT EXISTS (SELECT 1 FROM shares WHERE shares.id = share_requests.share_id))
		ORDER BY id LIMIT `+strconv.Itoa(max(batch, 1))+`)`, store.Timestamp(before))
	if err != nil {
		return 0, services.Errorf(services.CodeInternal, "share: purge requests: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
