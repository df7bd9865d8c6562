package supervision

import (
	"context"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// Purge removes up to batch activity_minutes rows of minutes before
// `before`, oldest first, for the retention job. The dashboard shows
// nothing older than its longest range back from today, so the policy
// keeps at least that (retention.Policy.ActivityMinutes).
func Purge(ctx context.Context, s *store.Store, before time.Time, batch int) (int, error) {
	res, err := s.Exec(ctx, `DELETE FROM activity_minutes WHERE (minute, replica, metric, label) IN (SELECT minute, replica, metric, label
		FROM activity_minutes WHERE minute < $1 ORDER BY minute LIMIT `+strconv.Itoa(max(batch, 1))+`)`, store.Timestamp(before.UTC()))
	if err != nil {
		return 0, services.Errorf(services.CodeInternal, "supervision: purge: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
