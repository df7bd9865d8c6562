package outbox_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

func TestDeliverUntilNothingPending(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		var mu sync.Mutex
		got := map[string]outbox.Message{}
		obs := &outcomes{}
		w := newWorker(t, s, clk, obs, outbox.Topic{Name: "withdrawal.submit", Handle: func(_ context.Context, m outbox.Message) error {
			mu.Lock()
			defer mu.Unlock()
			got[m.ID] = m
			return nil
		}})

		now := clk.Now()
		enqueue(t, s, outbox.Message{ID: "a", Topic: "withdrawal.submit", Payload: []byte(`{"n":1}`)}, now)
		enqueue(t, s, outbox.Message{ID: "b", Topic: "withdrawal.submit", Payload: []byte(`{"n":2}`), CreatedAt: now.Add(-time.Hour)}, now)
		enqueue(t, s, outbox.Message{ID: "later", Topic: "withdrawal.submit"}, now.Add(time.Minute))
		if n := pending(t, s); n != 3 {
			t.Fatalf("Pending = %d after three enqueues, want 3", n)
		}

		if n := runOnce(t, w); n != 2 {
			t.Fatalf("first round handled %d, want the 2 due rows", n)
		}
		want := map[string]outbox.Message{
			"a": {ID: "a", Topic: "withdrawal.submit", Payload: []byte(`{"n":1}`), Attempts: 1, CreatedAt: now},
			"b": {ID: "b", Topic: "withdrawal.submit", Payload: []byte(`{"n":2}`), Attempts: 1, CreatedAt: now.Add(-time.Hour)},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("handled messages (-want +got):\n%s", diff)
		}
		if r := readRow(t, s, "a"); !r.DeliveredAt.Equal(now) {
			t.Fatalf("row a delivered_at = %v, want the clock's %v", r.DeliveredAt, now)
		}
		if n := pending(t, s); n != 1 {
			t.Fatalf("Pending = %d with one row not yet due, want 1", n)
		}

		clk.Advance(time.Minute)
		if n := runOnce(t, w); n != 1 {
			t.Fatalf("round after the due time handled %d, want 1", n)
		}
		if n := pending(t, s); n != 0 {
			t.Fatalf("Pending = %d after all were delivered, want 0", n)
		}
		if n := runOnce(t, w); n != 0 {
			t.Fatalf("a round with nothing due handled %d", n)
		}
		wantObs := []string{"withdrawal.submit:delivered", "withdrawal.submit:delivered", "withdrawal.submit:delivered"}
		if diff := cmp.Diff(wantObs, obs.list()); diff != "" {
			t.Fatalf("Observe calls (-want +got):\n%s", diff)
		}
	})
}

func TestEnqueueDeduplicatesByID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		var payloads []string
		w := newWorker(t, s, clk, nil, outbox.Topic{Name: "t", Handle: func(_ context.Context, m outbox.Message) error {
			payloads = append(payloads, string(m.Payload)) // RunOnce of one row: one goroutine
			return nil
		}})
		if !enqueue(t, s, outbox.Message{ID: "idem-1", Topic: "t", Payload: []byte("first")}, clk.Now()) {
			t.Fatal("first Enqueue reported inserted=false")
		}
		if enqueue(t, s, outbox.Message{ID: "idem-1", Topic: "t", Payload: []byte("second")}, clk.Now()) {
			t.Fatal("second Enqueue with the same id reported inserted=true")
		}
		if n := pending(t, s); n != 1 {
			t.Fatalf("Pending = %d after a duplicate, want 1", n)
		}
		runOnce(t, w)
		if diff := cmp.Diff([]string{"first"}, payloads); diff != "" {
			t.Fatalf("delivered payloads (-want +got):\n%s", diff)
		}
		// Delivered rows keep deduplicating: a replay long after is ignored.
		if enqueue(t, s, outbox.Message{ID: "idem-1", Topic: "t", Payload: []byte("third")}, clk.Now()) {
			t.Fatal("Enqueue of a delivered id reported inserted=true")
		}
		if n := pending(t, s); n != 0 {
			t.Fatalf("Pending = %d after replaying a delivered id, want 0", n)
		}
	})
}

func TestEnqueueIsPartOfTheCallersTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		abort := errors.New("caller's write failed")
		err := s.Tx(t.Context(), func(tx *store.Tx) error {
			if _, err := outbox.Enqueue(t.Context(), tx, outbox.Message{ID: "x", Topic: "t"}, clk.Now()); err != nil {
				return err
			}
			return abort
		})
		if !errors.Is(err, abort) {
			t.Fatalf("Tx = %v, want the caller's error", err)
		}
		if n := pending(t, s); n != 0 {
			t.Fatalf("Pending = %d after a rolled-back enqueue, want 0", n)
		}
	})
}

func TestEnqueueRejectsIncompleteMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		now := newClock().Now()
		for name, tc := range map[string]struct {
			m  outbox.Message
			at time.Time
		}{
			"no id":    {outbox.Message{Topic: "t"}, now},
			"no topic": {outbox.Message{ID: "x"}, now},
			"no time":  {outbox.Message{ID: "x", Topic: "t"}, time.Time{}},
		} {
			err := s.Tx(t.Context(), func(tx *store.Tx) error {
				_, err := outbox.Enqueue(t.Context(), tx, tc.m, tc.at)
				return err
			})
			if services.ErrorCode(err) != services.CodeInternal {
				t.Errorf("%s: Enqueue = %v, want a %s services.Error", name, err, services.CodeInternal)
			}
		}
		if n := pending(t, s); n != 0 {
			t.Fatalf("Pending = %d after rejected enqueues, want 0", n)
		}
	})
}

func TestTopicsTheWorkerDoesNotKnowAreLeftAlone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		w := newWorker(t, s, clk, nil, outbox.Topic{Name: "mine", Handle: func(context.Context, outbox.Message) error { return nil }})
		enqueue(t, s, outbox.Message{ID: "theirs", Topic: "newer.replica.topic"}, clk.Now())
		enqueue(t, s, outbox.Message{ID: "mine", Topic: "mine"}, clk.Now())
		if n := runOnce(t, w); n != 1 {
			t.Fatalf("handled %d, want only the row of its own topic", n)
		}
		if r := readRow(t, s, "theirs"); r.Attempts != 0 || !r.DeliveredAt.IsZero() {
			t.Fatalf("row of an unknown topic was touched: %+v", r)
		}
	})
}
