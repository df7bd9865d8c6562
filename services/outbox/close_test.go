package outbox_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// A batch handler that closes its rows in its own transaction (Delivered)
// leaves the worker nothing to write for them; every other case ends as
// it would without the close: a rolled-back close and a message answered
// with an error are retried, a row whose lease ran out is left to the
// worker that holds it, a message not passed to Delivered is closed by the
// worker.
func TestBatchHandlerClosesItsRowsInItsOwnTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		obs := &outcomes{}
		ctx := context.Background()
		kept := clk.Now().Add(-time.Hour) // what the handler writes after its commit
		handle := func(ctx context.Context, ms []outbox.Message) []error {
			errs := make([]error, len(ms))
			for i, m := range ms {
				kind := strings.SplitN(m.ID, "-", 2)[0]
				if kind == "stolen" { // another worker took the row over
					if _, err := s.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1 WHERE id = $1`, m.ID); err != nil {
						t.Error(err)
					}
				}
				if kind == "plain" {
					continue
				}
				err := s.Tx(ctx, func(tx *store.Tx) error {
					if err := outbox.Delivered(ctx, tx, m); err != nil {
						return err
					}
					if kind == "rolled" {
						return errors.New("the record failed")
					}
					return nil
				})
				switch {
				case err != nil:
					errs[i] = err
				case kind == "liar":
					errs[i] = errors.New("answered an error after all")
				case kind == "closed":
					if _, err := s.Exec(ctx, `UPDATE outbox SET delivered_at = $1 WHERE id = $2`, kept, m.ID); err != nil {
						t.Error(err)
					}
				}
			}
			return errs
		}
		w := newWorker(t, s, clk, obs, outbox.Topic{Name: "withdrawal.submit", HandleBatch: handle})
		now := clk.Now()
		for _, id := range []string{"closed-1", "rolled-1", "stolen-1", "liar-1", "plain-1"} {
			enqueue(t, s, outbox.Message{ID: id, Topic: "withdrawal.submit"}, now)
		}
		if n := runOnce(t, w); n != 5 {
			t.Fatalf("round handled %d, want 5", n)
		}
		for id, check := range map[string]func(row) bool{
			"closed-1": func(r row) bool { return r.DeliveredAt.Equal(kept) }, // not written again
			"plain-1":  func(r row) bool { return r.DeliveredAt.Equal(now) },
			"rolled-1": func(r row) bool { return r.DeliveredAt.IsZero() && r.LastError == "the record failed" },
			"liar-1":   func(r row) bool { return r.DeliveredAt.IsZero() && r.LastError == "answered an error after all" },
			"stolen-1": func(r row) bool { return r.DeliveredAt.IsZero() && r.Attempts == 2 && r.LastError == "" },
		} {
			if r := readRow(t, s, id); !check(r) {
				t.Errorf("%s: %+v", id, r)
			}
		}
		got := obs.list()
		slices.Sort(got)
		want := []string{"withdrawal.submit:delivered", "withdrawal.submit:delivered", "withdrawal.submit:lease_lost",
			"withdrawal.submit:retry", "withdrawal.submit:retry"}
		if !slices.Equal(got, want) {
			t.Errorf("outcomes %v, want %v", got, want)
		}

		// Outside a delivery there is no claim: nothing is closed.
		enqueue(t, s, outbox.Message{ID: "direct-1", Topic: "withdrawal.submit"}, now)
		if err := s.Tx(ctx, func(tx *store.Tx) error {
			return outbox.Delivered(ctx, tx, outbox.Message{ID: "direct-1", Attempts: 0})
		}); err != nil {
			t.Fatal(err)
		}
		if r := readRow(t, s, "direct-1"); !r.DeliveredAt.IsZero() {
			t.Errorf("closed outside a delivery: %+v", r)
		}
	})
}
