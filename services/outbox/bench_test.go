package outbox_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"handheld/services/outbox"
	"handheld/services/store/storetest"
)

// BenchmarkDeliver measures how many rows one worker delivers per second on
// PostgreSQL when the handler costs nothing: the ceiling the outbox itself
// puts on throughput (one claim per batch, one compare-and-set per row).
// The rows are inserted before the timer starts; the timer stops when Run
// has returned, so every outcome is recorded.
func BenchmarkDeliver(b *testing.B) {
	for _, tc := range []struct{ batch, concurrency int }{
		{0, 0}, // the defaults: 32 and 16
		{64, 64},
	} {
		b.Run(fmt.Sprintf("batch=%d/concurrency=%d", tc.batch, tc.concurrency), func(b *testing.B) {
			benchmarkDeliver(b, tc.batch, tc.concurrency)
		})
	}
}

func benchmarkDeliver(b *testing.B, batch, concurrency int) {
	s := storetest.Migrated(b, storetest.PostgresDSN(b))
	ctx := context.Background()
	_, err := s.Exec(ctx, `
		INSERT INTO outbox (id, topic, payload, attempts, next_attempt_at, last_error, created_at)
		SELECT 'bench-' || g, 'bench', convert_to('{}', 'UTF8'), 0, $1, '', $1
		FROM generate_series(1, $2::int) AS g`, time.Now(), b.N)
	if err != nil {
		b.Fatal(err)
	}

	var handled atomic.Int64
	done := make(chan struct{})
	w, err := outbox.New(outbox.Config{
		Store:       s,
		Batch:       batch,
		Concurrency: concurrency,
		Enqueued:    []outbox.TopicName{"bench"},
		Topics: []outbox.Topic{{Name: "bench", Handle: func(context.Context, outbox.Message) error {
			if handled.Add(1) == int64(b.N) {
				close(done)
			}
			return nil
		}}},
	})
	if err != nil {
		b.Fatal(err)
	}

	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	running.Go(func() { _ = w.Run(runCtx) })
	<-done
	stop()
	running.Wait()
	elapsed := time.Since(start)
	b.StopTimer()

	if n, err := outbox.Pending(ctx, s); err != nil || n != 0 {
		b.Fatalf("Pending = %d, %v after the run, want 0", n, err)
	}
	if got := handled.Load(); got != int64(b.N) {
		b.Fatalf("handled %d rows, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "rows/s")
}
