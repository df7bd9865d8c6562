package outbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// Backlog counts only undelivered rows, per topic: every configured topic
// appears (zero when empty), failing rows are those waiting for a retry,
// overdue ones are due for over a minute and untaken, and a topic this
// worker does not know still shows, after the known ones.
func TestBacklog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		w := newWorker(t, s, clk, nil,
			outbox.Topic{Name: "a.submit", Handle: func(context.Context, outbox.Message) error { return errors.New("core down") }},
			outbox.Topic{Name: "b.notify", Handle: func(context.Context, outbox.Message) error { return nil }})
		now := clk.Now()
		enqueue(t, s, outbox.Message{ID: "x1", Topic: "a.submit", CreatedAt: now.Add(-2 * time.Hour)}, now)
		enqueue(t, s, outbox.Message{ID: "x2", Topic: "a.submit"}, now.Add(10*time.Minute))
		enqueue(t, s, outbox.Message{ID: "y1", Topic: "b.notify"}, now)
		if n := runOnce(t, w); n != 2 {
			t.Fatalf("round handled %d, want x1 (fails) and y1 (delivered)", n)
		}
		enqueue(t, s, outbox.Message{ID: "x3", Topic: "a.submit"}, now.Add(-2*time.Minute))
		enqueue(t, s, outbox.Message{ID: "z1", Topic: "legacy.topic"}, now.Add(-5*time.Minute))
		enqueue(t, s, outbox.Message{ID: "x4", Topic: "a.submit"}, now.Add(-30*time.Second)) // due, not yet overdue

		got, err := w.Backlog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := []outbox.Backlog{
			{Topic: "a.submit", Pending: 4, Failing: 1, Overdue: 1, Oldest: now.Add(-2 * time.Hour)},
			{Topic: "b.notify"},
			{Topic: "legacy.topic", Pending: 1, Overdue: 1, Oldest: now.Add(-5 * time.Minute)},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Backlog (-want +got):\n%s", diff)
		}
		if n := pending(t, s); n != 5 {
			t.Errorf("Pending = %d, want the 5 rows Backlog counts", n)
		}
	})
}
