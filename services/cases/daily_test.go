package cases

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services/store"
	"handheld/services/store/storetest"
)

// day is 2 March 2026 in Shanghai: [dayStart, dayEnd). t0 (09:00) is in it.
var (
	dayStart = time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)
	dayEnd   = dayStart.Add(24 * time.Hour)
)

func (r *rig) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := r.store.Exec(t.Context(), query, args...); err != nil {
		t.Fatalf("%s: %v", strings.Fields(query)[0:3], err)
	}
}

func (r *rig) event(t *testing.T, id, status string, at time.Time) {
	t.Helper()
	r.exec(t, `INSERT INTO withdrawal_events (application_id, status, at) VALUES ($1, $2, $3)`, id, status, store.Timestamp(at))
}

// seedDay gives the day every way a case can meet it.
func (r *rig) seedDay(t *testing.T) {
	t.Helper()
	ws := []withdrawal{
		{"w_decided", "s_zhang", "rent", "paid", t0, t0.Add(30 * time.Hour), "2026-03-03"},
		{"w_overdue", "s_wang", "purchase", "submitted", t0.Add(-72 * time.Hour), t0.Add(-72 * time.Hour), "2026-03-02"},
		{"w_withdrawn", "s_li", "retirement", "cancelled", t0, t0.Add(time.Hour), "2026-03-04"},
		{"w_before", "s_zhao", "rent", "approved", t0.Add(-120 * time.Hour), t0.Add(-24 * time.Hour), "2026-02-26"},
		{"w_after", "s_qian", "rent", "approved", t0, t0.Add(24 * time.Hour), "2026-03-03"},
		{"w_later", "s_sun", "rent", "submitted", dayEnd.Add(time.Hour), dayEnd.Add(time.Hour), "2026-03-04"},
	}
	for _, w := range ws {
		r.addWithdrawal(t, w)
	}
	r.event(t, "w_decided", "submitted", t0)
	r.event(t, "w_decided", "approved", t0.Add(2*time.Hour))
	r.event(t, "w_decided", "paid", t0.Add(30*time.Hour))
	r.event(t, "w_withdrawn", "cancelled", t0.Add(time.Hour))
	r.event(t, "w_before", "approved", t0.Add(-24*time.Hour))
	r.event(t, "w_after", "approved", t0.Add(24*time.Hour))
	for _, c := range []struct{ id, status, due string }{{"k_pending", "pending", "2026-03-04"}, {"k_failed", "failed", "2026-03-03"}} {
		r.exec(t, `INSERT INTO withdrawal_checks (id, case_number, subject, kind, amount_fen, payout_account_id,
			idempotency_key, request_hash, locale, channel, status, created_at, updated_at, due_on)
			VALUES ($1, $2, 's_zhou', 'rent', 100, 'pa1', $1, 'h', 'zh-CN', 'miniapp', $3, $4, $5, $6)`,
			c.id, "TQ"+c.id, c.status, store.Timestamp(t0), store.Timestamp(t0.Add(time.Hour)), c.due)
	}
	r.addCertificate(t, certificate{"c0000000000000000000000000000d01", "s_zhang", t0.Add(3 * time.Hour), time.Time{}})
	r.exec(t, `INSERT INTO transfers (id, case_number, subject, from_centre, centre_name, account_ref, status,
		idempotency_key, request_hash, locale, channel, created_at, updated_at, heard_at, due_on)
		VALUES ('t_merged', 'ZY1', 's_wu', '110100', '北京', 'sealed', 'merged', 'k', 'h', 'zh-CN', 'miniapp', $1, $2, $2, '2026-03-13')`,
		store.Timestamp(t0.Add(-24*time.Hour)), store.Timestamp(t0.Add(5*time.Hour)))
	r.exec(t, `INSERT INTO transfer_events (transfer_id, status, at) VALUES ('t_merged', 'funds_moved', $1), ('t_merged', 'merged', $2)`,
		store.Timestamp(t0.Add(4*time.Hour)), store.Timestamp(t0.Add(5*time.Hour)))
	r.exec(t, `INSERT INTO loan_prepayments (id, case_number, subject, kind, amount_fen, status, idempotency_key, request_hash,
		locale, channel, created_at, updated_at, due_on)
		VALUES ('l_applied', 'TQL1', 's_zhang', 'prepayment', 100, 'applied', 'k', 'h', 'zh-CN', 'miniapp', $1, $2, '2026-03-05')`,
		store.Timestamp(t0), store.Timestamp(t0.Add(time.Hour)))
	r.exec(t, `INSERT INTO loan_prepayment_events (prepayment_id, status, at) VALUES ('l_applied', 'applied', $1)`,
		store.Timestamp(t0.Add(time.Hour)))
	for _, rt := range []struct {
		id, kind, comment string
		level             int
		at                time.Time
	}{
		{"w_decided", "withdrawal", "sealed-comment", 5, t0.Add(3 * time.Hour)},
		{"c0000000000000000000000000000d01", "certificate", "sealed-comment", 1, t0.Add(4 * time.Hour)},
		{"t_merged", "transfer", "", 2, t0.Add(6 * time.Hour)},
		{"l_applied", "loan", "", 2, dayStart},                                // the first microsecond of the day
		{"w_before", "withdrawal", "sealed", 1, dayEnd},                       // the next day's
		{"w_withdrawn", "withdrawal", "", 4, dayStart.Add(-time.Microsecond)}, // the day before's
	} {
		r.exec(t, `INSERT INTO ratings (case_id, case_kind, subject, level, comment, created_at) VALUES ($1, $2, 's', $3, $4, $5)`,
			rt.id, rt.kind, rt.level, rt.comment, store.Timestamp(rt.at))
	}
}

func TestTimelinesOfADay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		r.seedDay(t)
		got, err := r.Timelines(t.Context(), dayStart, dayEnd)
		if err != nil {
			t.Fatal(err)
		}
		// One line per case: kind type due decided withdrawn (times as
		// offsets from t0 in hours, "-" for none).
		hours := func(at time.Time) string {
			if at.IsZero() {
				return "-"
			}
			return at.Sub(t0).String()
		}
		var lines []string
		for _, c := range got {
			lines = append(lines, strings.Join([]string{c.Kind, c.Type, hours(c.CreatedAt), c.DueOn, hours(c.DecidedAt), hours(c.WithdrawnAt)}, " "))
		}
		slices.Sort(lines)
		want := []string{
			"certificate deposit_use 3h0m0s  3h0m0s -",
			"loan loan_prepayment 0s 2026-03-05 1h0m0s -",
			"transfer transfer_in -24h0m0s 2026-03-13 5h0m0s -",
			"withdrawal purchase -72h0m0s 2026-03-02 - -",
			"withdrawal rent 0s 2026-03-03 2h0m0s -",
			"withdrawal rent 0s 2026-03-03 24h0m0s -",
			"withdrawal rent 0s 2026-03-03 1h0m0s -",
			"withdrawal rent 0s 2026-03-04 - -",
			"withdrawal retirement 0s 2026-03-04 - 1h0m0s",
		}
		slices.Sort(want)
		if diff := cmp.Diff(want, lines); diff != "" {
			t.Errorf("timelines (-want +got):\n%s", diff)
		}
	})
}

func TestRatingCountsOfADay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		r.seedDay(t)
		got, err := r.RatingCounts(t.Context(), dayStart, dayEnd)
		if err != nil {
			t.Fatal(err)
		}
		want := []RatingCount{
			{Kind: "certificate", Type: "deposit_use", Level: 1, Count: 1, WithComments: 1},
			{Kind: "loan", Type: "loan_prepayment", Level: 2, Count: 1},
			{Kind: "transfer", Type: "transfer_in", Level: 2, Count: 1},
			{Kind: "withdrawal", Type: "rent", Level: 5, Count: 1, WithComments: 1},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("rating counts (-want +got):\n%s", diff)
		}
		// A day without a rating counts nothing, and is no error.
		if got, err := r.RatingCounts(t.Context(), dayEnd.Add(48*time.Hour), dayEnd.Add(72*time.Hour)); err != nil || len(got) != 0 {
			t.Errorf("an empty day: %v, %v", got, err)
		}
	})
}
