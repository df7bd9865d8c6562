package outbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// TestRunWakesAndStopsCleanly drives Run with an idle pause of an hour, so
// that only Wake can explain a prompt delivery, then cancels it while a
// handler is running: Run must wait for the handler, which keeps a live
// context, and the outcome must be recorded.
func TestRunWakesAndStopsCleanly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		quick := make(chan string, 4)
		started, release := make(chan struct{}), make(chan struct{})
		ctxErr := make(chan error, 1)
		w, err := outbox.New(outbox.Config{
			Store:    s,
			Idle:     time.Hour,
			Enqueued: []outbox.TopicName{"quick", "slow"},
			Topics: []outbox.Topic{
				{Name: "quick", Handle: func(_ context.Context, m outbox.Message) error { quick <- m.ID; return nil }},
				{Name: "slow", Handle: func(ctx context.Context, _ outbox.Message) error {
					close(started)
					<-release
					ctxErr <- ctx.Err()
					return nil
				}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		// Enqueued before Run starts, the primer is found by the first
		// round, which Run starts at once, without a Wake.
		enqueue(t, s, outbox.Message{ID: "primer", Topic: "quick"}, time.Now())
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		runDone := make(chan error, 1)
		go func() { runDone <- w.Run(ctx) }()
		if id := receive(t, quick, "the primer"); id != "primer" {
			t.Fatalf("delivered %q, want primer", id)
		}
		if err := w.Run(ctx); services.ErrorCode(err) != services.CodeInternal || !strings.Contains(err.Error(), "already running") {
			t.Fatalf("a second Run = %v, want an error saying the worker is running", err)
		}

		// The worker now idles for an hour: only Wake brings it back.
		enqueue(t, s, outbox.Message{ID: "woken", Topic: "quick"}, time.Now())
		select {
		case id := <-quick:
			t.Fatalf("%s was delivered while the worker should idle", id)
		case <-time.After(200 * time.Millisecond):
		}
		w.Wake()
		if id := receive(t, quick, "the row enqueued before Wake"); id != "woken" {
			t.Fatalf("delivered %q, want woken", id)
		}

		enqueue(t, s, outbox.Message{ID: "in-flight", Topic: "slow"}, time.Now())
		w.Wake()
		<-started
		cancel()
		select {
		case err := <-runDone:
			t.Fatalf("Run returned (%v) while a handler was still running", err)
		case <-time.After(100 * time.Millisecond):
		}
		close(release)
		if err := <-ctxErr; err != nil {
			t.Fatalf("the handler's context ended with Run's: %v", err)
		}
		select {
		case err := <-runDone:
			if err != nil {
				t.Fatalf("Run = %v after cancel, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after its handler finished")
		}
		if n := pending(t, s); n != 0 {
			t.Fatalf("Pending = %d: the in-flight outcome was not recorded at shutdown", n)
		}
	})
}

func receive(t *testing.T, ch <-chan string, what string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s was not delivered within 10s", what)
		return ""
	}
}

func TestRunOnceWithADoneContextClaimsNothing(t *testing.T) {
	s := storetest.Migrated(t, storetest.SQLiteDSN(t))
	clk := newClock()
	w := newWorker(t, s, clk, nil, outbox.Topic{Name: "t", Handle: func(context.Context, outbox.Message) error { return nil }})
	enqueue(t, s, outbox.Message{ID: "m", Topic: "t"}, clk.Now())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := w.RunOnce(ctx); n != 0 || err == nil {
		t.Fatalf("RunOnce(done ctx) = %d, %v; want 0 and an error", n, err)
	}
	if r := readRow(t, s, "m"); r.Attempts != 0 {
		t.Fatalf("a cancelled round claimed the row: %+v", r)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	s := storetest.Open(t, storetest.SQLiteDSN(t))
	ok := func(context.Context, outbox.Message) error { return nil }
	topics := []outbox.Topic{{Name: "t", Handle: ok}}
	enq := []outbox.TopicName{"t"}
	for _, tc := range []struct {
		name    string
		cfg     outbox.Config
		mention string // the setting the error must name
	}{
		{"no store", outbox.Config{Topics: topics, Enqueued: enq}, "Store"},
		{"no topics", outbox.Config{Store: s, Enqueued: enq}, "Topics"},
		{"unnamed topic", outbox.Config{Store: s, Enqueued: enq, Topics: []outbox.Topic{{Handle: ok}}}, "Topics[0]"},
		{"nil handler", outbox.Config{Store: s, Enqueued: enq, Topics: []outbox.Topic{{Name: "t"}}}, "Handle"},
		{"duplicate topic", outbox.Config{Store: s, Enqueued: enq, Topics: []outbox.Topic{{Name: "t", Handle: ok}, {Name: "t", Handle: ok}}}, "twice"},
		{"no enqueued topics", outbox.Config{Store: s, Topics: topics}, "Enqueued"},
		{"unknown topic", outbox.Config{Store: s, Enqueued: enq, Topics: []outbox.Topic{{Name: "t", Handle: ok}, {Name: "withdrawl.submit", Handle: ok}}},
			`"withdrawl.submit"`},
		{"enqueued topic without a handler", outbox.Config{Store: s, Enqueued: []outbox.TopicName{"t", "u"}, Topics: topics}, `"u"`},
		{"negative lease", outbox.Config{Store: s, Topics: topics, Enqueued: enq, Lease: -time.Second}, "Lease"},
		{"negative batch", outbox.Config{Store: s, Topics: topics, Enqueued: enq, Batch: -1}, "Batch"},
		{"lease shorter than handler", outbox.Config{Store: s, Topics: topics, Enqueued: enq, HandlerTimeout: time.Minute}, "Lease"},
		{"base above max", outbox.Config{Store: s, Topics: topics, Enqueued: enq, BackoffBase: time.Hour}, "BackoffBase"},
	} {
		w, err := outbox.New(tc.cfg)
		if w != nil || services.ErrorCode(err) != services.CodeInternal || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: New = %v, %v; want an error naming %s", tc.name, w, err, tc.mention)
		}
	}
	if _, err := outbox.New(outbox.Config{Store: s, Topics: topics, Enqueued: enq}); err != nil {
		t.Fatalf("New with only the required settings: %v", err)
	}
}

// A producer is built before the worker that delivers what it enqueues (the
// worker needs the producer's handlers), so it is handed a Waker made first:
// a nudge before the worker exists is kept, and the worker built with the
// Waker answers the producer's nudges, here after an idle pause of an hour.
func TestWakerMadeBeforeTheWorker(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		waker := outbox.NewWaker()
		waker.Wake() // no worker yet: neither blocks nor panics
		waker.Wake()
		delivered := make(chan string, 4)
		w, err := outbox.New(outbox.Config{Store: s, Idle: time.Hour, Waker: waker, Enqueued: []outbox.TopicName{"quick"},
			Topics: []outbox.Topic{{Name: "quick", Handle: func(_ context.Context, m outbox.Message) error { delivered <- m.ID; return nil }}}})
		if err != nil {
			t.Fatal(err)
		}
		enqueue(t, s, outbox.Message{ID: "primer", Topic: "quick"}, time.Now())
		ctx, cancel := context.WithCancel(context.Background())
		runDone := make(chan error, 1)
		go func() { runDone <- w.Run(ctx) }()
		defer func() { cancel(); <-runDone }()
		if id := receive(t, delivered, "the primer"); id != "primer" {
			t.Fatalf("delivered %q, want primer", id)
		}
		// The early nudge may end one pause; after it the worker idles.
		enqueue(t, s, outbox.Message{ID: "second", Topic: "quick"}, time.Now())
		waker.Wake()
		if id := receive(t, delivered, "the row the waker announced"); id != "second" {
			t.Fatalf("delivered %q, want second", id)
		}
		enqueue(t, s, outbox.Message{ID: "third", Topic: "quick"}, time.Now())
		waker.Wake()
		if id := receive(t, delivered, "the row the waker announced"); id != "third" {
			t.Fatalf("delivered %q, want third", id)
		}
	})
}
