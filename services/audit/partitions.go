package audit

import (
	"context"
	"fmt"
	"time"

	"handheld/services/store"
)

// partitionsAhead is how many months after the current one have their
// partition ready: a record is never written to a month without one, and
// the default partition stays empty (a month cannot be added while the
// default holds records of it).
const partitionsAhead = 2

// EnsurePartitions creates the monthly partitions of audit_log on
// PostgreSQL from now's month to partitionsAhead months after, those not
// there yet, and says how many it made. On SQLite it does nothing. Run
// daily (a scheduled job); safe to run anywhere, again and at once.
func EnsurePartitions(ctx context.Context, s *store.Store, now time.Time) (int, error) {
	if s.Dialect() != store.Postgres {
		return 0, nil
	}
	made := 0
	m := time.Date(now.UTC().Year(), now.UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
	for range partitionsAhead + 1 {
		name := "audit_log_" + m.Format("2006_01")
		next := m.AddDate(0, 1, 0)
		var exists bool
		if err := s.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil {
			return made, fmt.Errorf("audit: partitions: %w", err)
		}
		if !exists {
			// The name and bounds are ours (a date), never input.
			_, err := s.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF audit_log FOR VALUES FROM ('%s') TO ('%s')`,
				name, m.Format(time.RFC3339), next.Format(time.RFC3339)))
			if err != nil {
				return made, fmt.Errorf("audit: partition %s: %w", name, err)
			}
			made++
		}
		m = next
	}
	return made, nil
}
