package store_test

import (
	"database/sql"
	"testing"
	"time"

	"handheld/services/store"
	"handheld/services/store/storetest"
)

func TestTimeRoundTrip(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	written := time.Date(2026, 3, 4, 5, 6, 7, 123456789, shanghai)
	want := time.Date(2026, 3, 3, 21, 6, 7, 123456000, time.UTC)
	if got := store.Timestamp(written); !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("Timestamp(%v) = %v, want %v", written, got, want)
	}

	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if _, err := s.Exec(ctx,
			`INSERT INTO outbox (id, topic, payload, next_attempt_at, delivered_at, created_at) VALUES ($1, 't', $2, $3, $4, $3)`,
			"m1", []byte("x"), written, store.NullTime(time.Time{})); err != nil {
			t.Fatalf("insert: %v", err)
		}
		var (
			next      time.Time
			delivered sql.NullTime
		)
		if err := s.QueryRow(ctx, `SELECT next_attempt_at, delivered_at FROM outbox WHERE id = $1`, "m1").
			Scan(&next, &delivered); err != nil {
			t.Fatalf("select: %v", err)
		}
		// == compares wall clock, location and all: exact to the
		// microsecond, in UTC.
		if next != want {
			t.Errorf("read back %v (%s), want %v (UTC)", next, next.Location(), want)
		}
		if delivered.Valid {
			t.Errorf("delivered_at = %v, want NULL for NullTime(zero)", delivered.Time)
		}

		later := written.Add(time.Hour)
		if _, err := s.Exec(ctx, `UPDATE outbox SET delivered_at = $1 WHERE id = $2`, store.NullTime(later), "m1"); err != nil {
			t.Fatalf("update: %v", err)
		}
		if err := s.QueryRow(ctx, `SELECT delivered_at FROM outbox WHERE id = $1`, "m1").Scan(&delivered); err != nil {
			t.Fatalf("select: %v", err)
		}
		if !delivered.Valid || delivered.Time != store.Timestamp(later) {
			t.Errorf("delivered_at = %v, want %v", delivered, store.Timestamp(later))
		}
	})
}

// TestTimeOrderAndAggregates checks what the outbox worker relies on:
// comparisons with a time argument, and aggregates read through ScanTime.
func TestTimeOrderAndAggregates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i, id := range []string{"a", "b", "c"} {
			at := base.Add(time.Duration(i) * time.Microsecond)
			if _, err := s.Exec(ctx,
				`INSERT INTO outbox (id, topic, payload, next_attempt_at, created_at) VALUES ($1, 't', $2, $3, $3)`,
				id, []byte("x"), at); err != nil {
				t.Fatalf("insert %s: %v", id, err)
			}
		}
		var due int
		if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= $1`,
			base.Add(time.Microsecond)).Scan(&due); err != nil {
			t.Fatalf("count: %v", err)
		}
		if due != 2 {
			t.Errorf("due at base+1µs = %d, want 2", due)
		}

		var earliest, latest time.Time
		if err := s.QueryRow(ctx, `SELECT MIN(next_attempt_at), MAX(next_attempt_at) FROM outbox`).
			Scan(store.ScanTime(&earliest), store.ScanTime(&latest)); err != nil {
			t.Fatalf("min/max: %v", err)
		}
		if earliest != base || latest != base.Add(2*time.Microsecond) {
			t.Errorf("MIN, MAX = %v, %v; want %v, %v", earliest, latest, base, base.Add(2*time.Microsecond))
		}

		var none time.Time
		if err := s.QueryRow(ctx, `SELECT MIN(delivered_at) FROM outbox`).Scan(store.ScanTime(&none)); err != nil {
			t.Fatalf("min of NULLs: %v", err)
		}
		if !none.IsZero() {
			t.Errorf("MIN over NULLs = %v, want the zero time", none)
		}
	})
}
