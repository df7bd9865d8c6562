package supervision_test

import (
	"testing"
	"time"

	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/supervision"
)

// Purge removes the minutes before the cut, batch by batch, and nothing
// after it.
func TestPurgeActivityMinutes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		cut := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
		for i, m := range []time.Duration{-3 * time.Hour, -2 * time.Minute, -time.Minute, 0, time.Minute} {
			for _, replica := range []string{"a", "b"} {
				if _, err := s.Exec(t.Context(), `INSERT INTO activity_minutes (minute, replica, metric, label, n) VALUES ($1, $2, $3, $4, $5)`,
					store.Timestamp(cut.Add(m)), replica, "core_call", "account", i+1); err != nil {
					t.Fatal(err)
				}
			}
		}
		if n, err := supervision.Purge(t.Context(), s, cut, 4); err != nil || n != 4 {
			t.Fatalf("first batch: %d, %v; want 4", n, err)
		}
		if n, err := supervision.Purge(t.Context(), s, cut, 4); err != nil || n != 2 {
			t.Fatalf("second batch: %d, %v; want the last 2 before the cut", n, err)
		}
		var left int
		if err := s.QueryRow(t.Context(), `SELECT COUNT(*) FROM activity_minutes WHERE minute >= $1`, store.Timestamp(cut)).Scan(&left); err != nil || left != 4 {
			t.Errorf("%d rows from the cut on, %v; want 4 kept", left, err)
		}
	})
}
