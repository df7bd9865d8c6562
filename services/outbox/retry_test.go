package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// script is a handler that returns the given results one call at a time,
// and nil once they run out.
func script(results ...error) (outbox.Handler, *int) {
	calls := 0
	return func(context.Context, outbox.Message) error {
		calls++ // one row per test: never two calls at once
		if calls <= len(results) {
			return results[calls-1]
		}
		return nil
	}, &calls
}

func TestFailuresRetryWithBackoff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		obs := &outcomes{}
		unavailable := errors.New("core unavailable")
		h, calls := script(unavailable, fmt.Errorf("submit: %w", unavailable))
		w := newWorker(t, s, clk, obs, outbox.Topic{Name: "t", Handle: h})
		enqueue(t, s, outbox.Message{ID: "m", Topic: "t"}, clk.Now())

		t0 := clk.Now()
		if n := runOnce(t, w); n != 1 {
			t.Fatalf("first round handled %d, want 1", n)
		}
		want := row{Attempts: 1, NextAttemptAt: t0.Add(time.Second), LastError: "core unavailable"}
		if diff := cmp.Diff(want, readRow(t, s, "m")); diff != "" {
			t.Fatalf("after the first failure (-want +got):\n%s", diff)
		}

		clk.Advance(time.Second - time.Microsecond)
		if n := runOnce(t, w); n != 0 {
			t.Fatalf("a row in backoff was handled %d times before it was due", n)
		}
		clk.Advance(time.Microsecond)
		t1 := clk.Now()
		runOnce(t, w)
		want = row{Attempts: 2, NextAttemptAt: t1.Add(2 * time.Second), LastError: "submit: core unavailable"}
		if diff := cmp.Diff(want, readRow(t, s, "m")); diff != "" {
			t.Fatalf("after the second failure, backoff should double (-want +got):\n%s", diff)
		}

		clk.Advance(2 * time.Second)
		runOnce(t, w)
		if r := readRow(t, s, "m"); r.DeliveredAt.IsZero() || r.Attempts != 3 {
			t.Fatalf("after a success: %+v, want delivered on attempt 3", r)
		}
		if *calls != 3 || pending(t, s) != 0 {
			t.Fatalf("calls = %d, pending = %d; want 3 and 0", *calls, pending(t, s))
		}
		if diff := cmp.Diff([]string{"t:retry", "t:retry", "t:delivered"}, obs.list()); diff != "" {
			t.Fatalf("Observe calls (-want +got):\n%s", diff)
		}
	})
}

func TestLastErrorIsCutToValidText(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		// A NUL and an invalid byte, which PostgreSQL's TEXT refuses, then
		// 1800 bytes of 3-byte runes, which must be cut between runes.
		long := errors.New("a\x00b\xff:" + strings.Repeat("公积金", 200))
		h, _ := script(long)
		w := newWorker(t, s, clk, nil, outbox.Topic{Name: "t", Handle: h})
		enqueue(t, s, outbox.Message{ID: "m", Topic: "t"}, clk.Now())
		runOnce(t, w)
		got := readRow(t, s, "m").LastError
		if len(got) > 500 || len(got) < 498 || !utf8.ValidString(got) || !strings.HasPrefix(got, "ab\uFFFD:公积金") {
			t.Fatalf("last_error is %d bytes starting %q (valid UTF-8: %v), want 498–500 valid bytes starting %q",
				len(got), got[:min(len(got), 12)], utf8.ValidString(got), "ab\uFFFD:公积金")
		}
	})
}

func TestAgainReschedulesWithoutCountingAFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		obs := &outcomes{}
		h, calls := script(errors.New("core timeout"), outbox.Again(10*time.Second), fmt.Errorf("status pending: %w", outbox.Again(10*time.Second)))
		w := newWorker(t, s, clk, obs, outbox.Topic{Name: "poll", Handle: h})
		enqueue(t, s, outbox.Message{ID: "m", Topic: "poll"}, clk.Now())

		runOnce(t, w) // fails: attempts 1, last_error set
		clk.Advance(time.Second)
		t1 := clk.Now()
		runOnce(t, w) // Again
		want := row{Attempts: 1, NextAttemptAt: t1.Add(10 * time.Second)}
		if diff := cmp.Diff(want, readRow(t, s, "m")); diff != "" {
			t.Fatalf("after Again: attempts back, error cleared, due in 10s (-want +got):\n%s", diff)
		}
		clk.Advance(9 * time.Second)
		if n := runOnce(t, w); n != 0 {
			t.Fatal("an Again row came back before its delay")
		}
		clk.Advance(time.Second)
		runOnce(t, w) // wrapped Again
		if r := readRow(t, s, "m"); r.Attempts != 1 || !r.DeliveredAt.IsZero() {
			t.Fatalf("after a wrapped Again: %+v, want attempts 1, not delivered", r)
		}
		clk.Advance(10 * time.Second)
		runOnce(t, w)
		if r := readRow(t, s, "m"); r.DeliveredAt.IsZero() || r.Attempts != 2 {
			t.Fatalf("after success: %+v, want delivered with attempts 2 (one failure, one success)", r)
		}
		if *calls != 4 {
			t.Fatalf("handler called %d times, want 4", *calls)
		}
		if diff := cmp.Diff([]string{"poll:retry", "poll:again", "poll:again", "poll:delivered"}, obs.list()); diff != "" {
			t.Fatalf("Observe calls (-want +got):\n%s", diff)
		}
	})
}

func TestPermanentClosesTheRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		obs := &outcomes{}
		h, calls := script(fmt.Errorf("submit: %w", outbox.Permanent(errors.New("core.rejected: account closed"))))
		w := newWorker(t, s, clk, obs, outbox.Topic{Name: "t", Handle: h})
		enqueue(t, s, outbox.Message{ID: "m", Topic: "t"}, clk.Now())

		t0 := clk.Now()
		runOnce(t, w)
		r := readRow(t, s, "m")
		if !r.DeliveredAt.Equal(t0) || r.LastError != "submit: core.rejected: account closed" || r.Attempts != 1 {
			t.Fatalf("after Permanent: %+v, want closed now with the error kept", r)
		}
		clk.Advance(24 * time.Hour)
		if n := runOnce(t, w); n != 0 || *calls != 1 {
			t.Fatalf("a dead row was handled again (round %d, calls %d)", n, *calls)
		}
		if pending(t, s) != 0 {
			t.Fatal("a dead row still counts as pending")
		}
		if diff := cmp.Diff([]string{"t:dead"}, obs.list()); diff != "" {
			t.Fatalf("Observe calls (-want +got):\n%s", diff)
		}
	})
}

func TestAtMostOnceClosesBeforeHandlingAndReopensOnError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		var seen []row
		calls := 0
		notify := func(ctx context.Context, m outbox.Message) error {
			seen = append(seen, readRow(t, s, m.ID)) // one row: calls never overlap
			calls++
			if calls == 1 {
				return errors.New("wechat unavailable")
			}
			return nil
		}
		w := newWorker(t, s, clk, nil,
			outbox.Topic{Name: "notify", Handle: notify, AtMostOnce: true},
			outbox.Topic{Name: "submit", Handle: func(ctx context.Context, m outbox.Message) error {
				if r := readRow(t, s, m.ID); !r.DeliveredAt.IsZero() {
					t.Errorf("an at-least-once row was closed before its handler ran: %+v", r)
				}
				return nil
			}})
		enqueue(t, s, outbox.Message{ID: "n", Topic: "notify"}, clk.Now())
		enqueue(t, s, outbox.Message{ID: "s", Topic: "submit"}, clk.Now())

		t0 := clk.Now()
		if n := runOnce(t, w); n != 2 {
			t.Fatalf("handled %d, want both topics' rows", n)
		}
		if len(seen) != 1 || !seen[0].DeliveredAt.Equal(t0) {
			t.Fatalf("inside the handler the row was %+v, want delivered_at already %v", seen, t0)
		}
		want := row{Attempts: 1, NextAttemptAt: t0.Add(time.Second), LastError: "wechat unavailable"}
		if diff := cmp.Diff(want, readRow(t, s, "n")); diff != "" {
			t.Fatalf("after an error the row should be re-opened for a retry (-want +got):\n%s", diff)
		}
		if pending(t, s) != 1 {
			t.Fatalf("Pending = %d, want the re-opened row", pending(t, s))
		}

		clk.Advance(time.Second)
		t1 := clk.Now()
		runOnce(t, w)
		if r := readRow(t, s, "n"); !r.DeliveredAt.Equal(t1) || r.Attempts != 2 {
			t.Fatalf("after the retry succeeded: %+v, want delivered at %v", r, t1)
		}
	})
}

func TestHandlerPanicIsRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		calls := 0
		w := newWorker(t, s, clk, nil, outbox.Topic{Name: "t", Handle: func(context.Context, outbox.Message) error {
			calls++
			if calls == 1 {
				panic("boom")
			}
			return nil
		}})
		enqueue(t, s, outbox.Message{ID: "m", Topic: "t"}, clk.Now())
		runOnce(t, w)
		if r := readRow(t, s, "m"); r.LastError != "outbox: handler panicked" || !r.DeliveredAt.IsZero() {
			t.Fatalf("after a panic: %+v, want a retry", r)
		}
		clk.Advance(time.Second)
		runOnce(t, w)
		if pending(t, s) != 0 {
			t.Fatal("the retry after a panic was not delivered")
		}
	})
}
