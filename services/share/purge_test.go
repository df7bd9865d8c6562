package share

import (
	"context"
	"testing"
	"time"

	"handheld/services/store"
	"handheld/services/store/storetest"
)

// Ended shares go with their uses, batch by batch, and nothing that has
// not ended; requests go once they ended, an approved one with its share.
func TestPurge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		used := r.share(t, ana, "demo-bank", 2, Predicate{Name: HasNoOutstandingLoan})
		if _, err := r.svc.Redeem(ctx, bank, Redeem{Code: used.Code}); err != nil {
			t.Fatal(err)
		}
		revoked := r.share(t, ana, "demo-bank", 1, Predicate{Name: HasNoOutstandingLoan})
		if _, err := r.svc.Revoke(ctx, ana, revoked.Share.ID); err != nil {
			t.Fatal(err)
		}
		r.share(t, bo, "demo-bank", 1, Predicate{Name: HasNoOutstandingLoan})
		asked, err := r.svc.Ask(ctx, bank, NewRequest{IDNumber: idAna, Name: "张伟", Predicates: []Predicate{{Name: HasNoOutstandingLoan}},
			ValidUntil: r.clock().Add(30 * 24 * time.Hour), MaxUses: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.svc.Approve(ctx, ana, asked.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.Ask(ctx, bank, NewRequest{IDNumber: withCheck("11010519491231002"), Name: "某某",
			Predicates: []Predicate{{Name: HasNoOutstandingLoan}}, ValidUntil: r.clock().Add(time.Hour), MaxUses: 1}); err != nil {
			t.Fatal(err)
		}
		purge := func(at time.Time, batch int) (shares, requests int) {
			t.Helper()
			for {
				n, err := PurgeShares(ctx, s, at, batch)
				if err != nil {
					t.Fatal(err)
				}
				shares += n
				if n < batch {
					break
				}
			}
			n, err := PurgeRequests(ctx, s, at, batch)
			if err != nil {
				t.Fatal(err)
			}
			return shares, n
		}
		// Half a day on the revoked share and the unanswered request (an
		// hour to answer) have ended.
		if sh, rq := purge(t0.Add(12*time.Hour), 1); sh != 1 || rq != 1 {
			t.Fatalf("at 12h: %d shares, %d requests; want the revoked share and the unanswered request", sh, rq)
		}
		if r.count(t, `SELECT count(*) FROM shares WHERE id = $1`, revoked.Share.ID) != 0 ||
			r.count(t, `SELECT count(*) FROM share_uses WHERE share_id = $1`, used.Share.ID) != 1 {
			t.Fatal("the wrong share went, or a use of a live one")
		}
		// Two days on the day-long shares have ended; the approved
		// request's share is valid for a month, and the request stays with it.
		if sh, rq := purge(t0.Add(48*time.Hour), 1); sh != 2 || rq != 0 {
			t.Fatalf("at 48h: %d shares, %d requests; want the 2 day-long shares", sh, rq)
		}
		if r.count(t, `SELECT count(*) FROM share_uses`) != 0 {
			t.Error("a use outlived its share")
		}
		if sh, rq := purge(t0.Add(60*24*time.Hour), 10); sh != 1 || rq != 1 {
			t.Fatalf("at 60 days: %d shares, %d requests; want the approved one and its share", sh, rq)
		}
		if r.count(t, `SELECT count(*) FROM shares`)+r.count(t, `SELECT count(*) FROM share_requests`) != 0 {
			t.Error("rows left")
		}
	})
}
