package withdrawal_test

import (
	"context"
	"testing"

	"handheld/services"
	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/withdrawal"
)

// A standing withdrawal's month goes through the same pipeline: its own
// monthly cap on top of the kind's, judged at the month's time but stamped
// with the clock's, one application per key, and the kind's one in flight.
func TestApplyStanding(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		lina := depositor("李娜")
		terms := withdrawal.StandingTerms{IntervalMonths: 1, CapPerMonthFen: 100_000}
		month := r.clock.Now().AddDate(0, 1, 0)

		_, _, err := r.ApplyStanding(ctx, lina, rentRequest("standing:m1", 150_000), terms, month)
		if services.ErrorCode(err) != services.CodeWithdrawalAmountOverLimit {
			t.Fatalf("over the monthly cap: %v", err)
		}
		app, replayed, err := r.ApplyStanding(ctx, lina, rentRequest("standing:m1b", 100_000), terms, month)
		if err != nil || replayed || app.Status != withdrawal.StatusAccepted {
			t.Fatalf("apply: %+v %v %v", app, replayed, err)
		}
		if !app.CreatedAt.Equal(r.clock.Now()) {
			t.Errorf("stamped %v, want the clock's %v", app.CreatedAt, r.clock.Now())
		}
		again, replayed, err := r.ApplyStanding(ctx, lina, rentRequest("standing:m1b", 100_000), terms, month)
		if err != nil || !replayed || again.ID != app.ID {
			t.Fatalf("again: %+v %v %v", again, replayed, err)
		}
		_, _, err = r.Apply(ctx, lina, rentRequest("by-hand", 100_000))
		if services.ErrorCode(err) != services.CodeWithdrawalInFlight {
			t.Fatalf("a rent application by hand meanwhile: %v", err)
		}
		var n int
		if err := s.QueryRow(ctx, `SELECT count(*) FROM withdrawals WHERE subject = $1`, lina.Subject).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d applications, %v", n, err)
		}
	})
}
