package outbox

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"handheld/services/store"
	"handheld/services/store/storetest"
)

// TestRecorderUnderConcurrentCallers has many callers record at once, as
// handlers finishing together do: every caller must get its own row's
// answer (matched or not) whichever batch, and whichever leader, wrote it.
func TestRecorderUnderConcurrentCallers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		const rows = 60
		at := store.Timestamp(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
		err := s.Tx(t.Context(), func(tx *store.Tx) error {
			for i := range rows {
				if _, err := tx.Exec(t.Context(), `INSERT INTO outbox (id, topic, payload, attempts, next_attempt_at, last_error, created_at)
					VALUES ($1, 't', $2, 1, $3, '', $3)`, fmt.Sprintf("r%02d", i), []byte{}, at); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		r := &recorder{store: s}
		var wg sync.WaitGroup
		for i := range rows {
			wg.Go(func() {
				attempts := 1
				if i%3 == 0 {
					attempts = 2 // a stale claim: must not match
				}
				got, err := r.record(t.Context(), outcomeWrite{id: fmt.Sprintf("r%02d", i), attempts: attempts, until: at, delivered: &at})
				if err != nil || got != (i%3 != 0) {
					t.Errorf("row %d: record = %v, %v; want %v", i, got, err, i%3 != 0)
				}
			})
		}
		wg.Wait()
		var delivered int
		if err := s.QueryRow(t.Context(), `SELECT COUNT(*) FROM outbox WHERE delivered_at IS NOT NULL`).Scan(&delivered); err != nil {
			t.Fatal(err)
		}
		if delivered != rows-rows/3 {
			t.Fatalf("%d rows delivered, want %d", delivered, rows-rows/3)
		}
		if r.writing || len(r.queue) != 0 {
			t.Fatalf("recorder left busy: writing %v, %d queued", r.writing, len(r.queue))
		}
	})
}
