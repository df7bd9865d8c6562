package reminder

import (
	"context"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// Purge removes up to batch reminder_sends rows written before `before`,
// oldest first, for the retention job: a period long over never comes
// back, so its rows keep nobody from a message. A `once` rule's rows are
// never removed: they are what keeps it once.
func Purge(ctx context.Context, s *store.Store, before time.Time, batch int) (int, error) {
	res, err := s.Exec(ctx, `DELETE FROM reminder_sends WHERE (rule, period, subject) IN (SELECT rule, period, subject
		FROM reminder_sends WHERE sent_at < $1 AND period <> 'once' ORDER BY sent_at LIMIT `+strconv.Itoa(max(batch, 1))+`)`,
		store.Timestamp(before))
	if err != nil {
		return 0, services.Errorf(services.CodeInternal, "reminder: purge: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
