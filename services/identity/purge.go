package identity

import (
	"context"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// PurgeSessions deletes up to batch sessions that ended before `before`,
// with their refresh tokens and kiosk links, in one transaction. A session
// ends at expires_at whether or not it was revoked first, so nothing it
// issued can still be presented; a token naming a purged session reads as
// revoked (checkStore), never as live. It returns how many sessions went.
func (s *Service) PurgeSessions(ctx context.Context, before time.Time, batch int) (int, error) {
	ended := `SELECT id FROM sessions WHERE expires_at < $1 ORDER BY expires_at, id LIMIT ` + strconv.Itoa(max(batch, 1))
	var n int64
	err := s.Store.Tx(ctx, func(tx *store.Tx) error {
		at := store.Timestamp(before)
		if _, err := tx.Exec(ctx, `DELETE FROM refresh_tokens WHERE session_id IN (`+ended+`)`, at); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM kiosk_sessions WHERE session_id IN (`+ended+`)`, at); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id IN (`+ended+`)`, at)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, services.Errorf(services.CodeInternal, "identity: purge sessions: %w", err)
	}
	return int(n), nil
}
