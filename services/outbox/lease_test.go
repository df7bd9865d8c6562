package outbox_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// TestExpiredLeaseIsRedeliveredByAnotherWorker stands in for a replica that
// dies mid-delivery: worker A claims the row and its handler hangs. Worker B
// must leave the row alone while A's lease runs, take it over when the lease
// ends, and A, waking up late with an error, must not re-open what B
// delivered.
func TestExpiredLeaseIsRedeliveredByAnotherWorker(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		started, release := make(chan struct{}), make(chan struct{})
		releaseOnce := sync.OnceFunc(func() { close(release) })
		t.Cleanup(releaseOnce) // before the store closes, should the test fail early

		obsA := &outcomes{}
		a := newWorker(t, s, clk, obsA, outbox.Topic{Name: "t", Handle: func(context.Context, outbox.Message) error {
			close(started)
			<-release
			return errors.New("late failure")
		}})
		var bAttempts []int
		b := newWorker(t, s, clk, nil, outbox.Topic{Name: "t", Handle: func(_ context.Context, m outbox.Message) error {
			bAttempts = append(bAttempts, m.Attempts) // one row: calls never overlap
			return nil
		}})
		enqueue(t, s, outbox.Message{ID: "m", Topic: "t"}, clk.Now())

		doneA := make(chan int, 1)
		go func() {
			n, _ := a.RunOnce(context.Background())
			doneA <- n
		}()
		<-started

		if n := runOnce(t, b); n != 0 {
			t.Fatal("B took a row A holds a fresh lease on")
		}
		clk.Advance(30*time.Second - time.Microsecond) // the default lease, less a tick
		if n := runOnce(t, b); n != 0 {
			t.Fatal("B took the row before A's lease ended")
		}
		clk.Advance(time.Microsecond)
		tB := clk.Now()
		if n := runOnce(t, b); n != 1 {
			t.Fatalf("B handled %d rows after A's lease ended, want 1", n)
		}
		if diff := cmp.Diff([]int{2}, bAttempts); diff != "" {
			t.Fatalf("attempts B saw (-want +got):\n%s", diff)
		}
		afterB := readRow(t, s, "m")
		if !afterB.DeliveredAt.Equal(tB) {
			t.Fatalf("after B: %+v, want delivered at %v", afterB, tB)
		}

		clk.Advance(time.Second) // so that any write by A would show
		releaseOnce()
		if n := <-doneA; n != 1 {
			t.Fatalf("A's round handled %d, want 1", n)
		}
		if diff := cmp.Diff(afterB, readRow(t, s, "m")); diff != "" {
			t.Fatalf("A's late outcome overwrote B's (-before +after):\n%s", diff)
		}
		if pending(t, s) != 0 {
			t.Fatal("A's late failure re-opened a delivered row")
		}
		if diff := cmp.Diff([]string{"t:" + outbox.OutcomeLeaseLost}, obsA.list()); diff != "" {
			t.Fatalf("A's Observe calls (-want +got):\n%s", diff)
		}
	})
}

// TestLateSuccessWithinTheLeaseIsRecorded is the other side of the
// compare-and-set: a handler that is slow but finishes before anyone else
// claims the row still has its outcome recorded, even after the lease's end.
func TestLateSuccessWithinTheLeaseIsRecorded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		w := newWorker(t, s, clk, nil, outbox.Topic{Name: "t", Handle: func(context.Context, outbox.Message) error {
			clk.Advance(time.Minute) // the lease has ended, but nobody took the row
			return nil
		}})
		enqueue(t, s, outbox.Message{ID: "m", Topic: "t"}, clk.Now())
		runOnce(t, w)
		if r := readRow(t, s, "m"); r.DeliveredAt.IsZero() {
			t.Fatalf("a slow success on an untouched row was not recorded: %+v", r)
		}
	})
}
