package outbox_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// TestPostgresReplicasDeliverEachRowOnce runs three workers, each on a pool
// of its own as three replicas would have, over one database: every row must
// be handled by exactly one of them, and all must end delivered.
func TestPostgresReplicasDeliverEachRowOnce(t *testing.T) {
	const rows, replicas = 500, 3
	dsn := storetest.PostgresDSN(t)
	first := storetest.Migrated(t, dsn)

	now := time.Now()
	err := first.Tx(t.Context(), func(tx *store.Tx) error {
		for i := range rows {
			m := outbox.Message{ID: fmt.Sprintf("app-%03d", i), Topic: "withdrawal.submit", Payload: []byte("{}")}
			if _, err := outbox.Enqueue(t.Context(), tx, m, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	handled := map[string]int{}
	byReplica := make([]int, replicas)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var running sync.WaitGroup
	for r := range replicas {
		s := first
		if r > 0 {
			s = storetest.Open(t, dsn)
		}
		w, err := outbox.New(outbox.Config{
			Store:       s,
			Batch:       16,
			Concurrency: 8,
			Idle:        10 * time.Millisecond,
			Enqueued:    []outbox.TopicName{"withdrawal.submit"},
			Topics: []outbox.Topic{{Name: "withdrawal.submit", Handle: func(_ context.Context, m outbox.Message) error {
				time.Sleep(time.Millisecond)
				mu.Lock()
				defer mu.Unlock()
				handled[m.ID]++
				byReplica[r]++
				return nil
			}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		running.Go(func() {
			if err := w.Run(ctx); err != nil {
				t.Errorf("replica %d: Run = %v", r, err)
			}
		})
	}

	eventually(t, time.Minute, "all rows delivered", func() bool { return pending(t, first) == 0 })
	cancel()
	running.Wait()

	mu.Lock()
	defer mu.Unlock()
	if len(handled) != rows {
		t.Errorf("%d distinct rows handled, want %d", len(handled), rows)
	}
	for id, n := range handled {
		if n != 1 {
			t.Errorf("row %s handled %d times, want once", id, n)
		}
	}
	var undelivered int
	if err := first.QueryRow(t.Context(), `SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL OR attempts <> 1`).Scan(&undelivered); err != nil {
		t.Fatal(err)
	}
	if undelivered != 0 {
		t.Errorf("%d rows not delivered on their first attempt", undelivered)
	}
	t.Logf("rows handled per replica: %v", byReplica)
}
