package outbox_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"handheld/services/outbox"
	"handheld/services/store"
)

// clock is a settable clock: tests move time instead of sleeping through
// backoffs and leases.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// outcomes records what the worker reports to Observe, as "topic:outcome".
type outcomes struct {
	mu  sync.Mutex
	got []string
}

func (o *outcomes) observe(topic, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, topic+":"+outcome)
}

func (o *outcomes) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.got)
}

// newWorker builds a worker on clk with exact backoffs (jitter 0.5): 1s,
// 2s, 4s, … capped at 1m.
func newWorker(t testing.TB, s *store.Store, clk *clock, obs *outcomes, topics ...outbox.Topic) *outbox.Worker {
	t.Helper()
	cfg := outbox.Config{
		Store:       s,
		Topics:      topics,
		Enqueued:    names(topics),
		Now:         clk.Now,
		Jitter:      func() float64 { return 0.5 },
		BackoffBase: time.Second,
		BackoffMax:  time.Minute,
	}
	if obs != nil {
		cfg.Observe = obs.observe
	}
	w, err := outbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// enqueue stores m due at `at` in a transaction of its own.
func enqueue(t testing.TB, s *store.Store, m outbox.Message, at time.Time) bool {
	t.Helper()
	var inserted bool
	err := s.Tx(context.Background(), func(tx *store.Tx) error {
		var err error
		inserted, err = outbox.Enqueue(context.Background(), tx, m, at)
		return err
	})
	if err != nil {
		t.Fatalf("enqueue %s: %v", m.ID, err)
	}
	return inserted
}

// row is an outbox row's delivery state.
type row struct {
	Attempts      int
	NextAttemptAt time.Time
	DeliveredAt   time.Time // zero: NULL
	LastError     string
}

func readRow(t testing.TB, s *store.Store, id string) row {
	t.Helper()
	var r row
	err := s.QueryRow(context.Background(),
		`SELECT attempts, next_attempt_at, delivered_at, last_error FROM outbox WHERE id = $1`, id).
		Scan(&r.Attempts, store.ScanTime(&r.NextAttemptAt), store.ScanTime(&r.DeliveredAt), &r.LastError)
	if err != nil {
		t.Fatalf("read row %s: %v", id, err)
	}
	return r
}

func pending(t testing.TB, s *store.Store) int {
	t.Helper()
	n, err := outbox.Pending(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func runOnce(t testing.TB, w *outbox.Worker) int {
	t.Helper()
	n, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	return n
}

// eventually polls cond until it holds or the deadline passes, for the tests
// that watch Run's goroutines.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// names are the topics' names: what the tests' producers enqueue on.
func names(topics []outbox.Topic) []outbox.TopicName {
	out := make([]outbox.TopicName, 0, len(topics))
	for _, t := range topics {
		out = append(out, t.Name)
	}
	return out
}
