package withdrawal_test

import (
	"context"
	"strings"
	"testing"

	"handheld/services"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// The payout account is sealed at rest, bound to its application: someone
// who can write the table but lacks the key cannot redirect one person's
// payout to another's card by copying the sealed value across rows — the
// application no longer opens, which is an internal error, never the other
// card.
func TestPayoutAccountSealedAndBoundToItsApplication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		lina, ouyang := depositor("李娜"), depositor("欧阳晓峰")
		mine, _, err := r.Apply(ctx, lina, rentRequest("s1", 100_000))
		if err != nil {
			t.Fatal(err)
		}
		req := rentRequest("s2", 100_000)
		req.PayoutAccountID = payoutAccounts("欧阳晓峰")[0].ID
		theirs, _, err := r.Apply(ctx, ouyang, req)
		if err != nil {
			t.Fatal(err)
		}
		var sealed, evidence string
		if err := s.QueryRow(ctx, `SELECT payout_account, evidence_refs FROM withdrawals WHERE id = $1`, theirs.ID).Scan(&sealed, &evidence); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, "hs1.") || !strings.HasPrefix(evidence, "hs1.") {
			t.Fatalf("payout_account %q / evidence_refs %q: not sealed", sealed, evidence)
		}
		if got, err := r.Get(ctx, lina, mine.ID); err != nil || !strings.Contains(got.PayoutAccount, "*") {
			t.Fatalf("own application: %+v, %v", got, err)
		}
		if _, err := s.Exec(ctx, `UPDATE withdrawals SET payout_account = $1 WHERE id = $2`, sealed, mine.ID); err != nil {
			t.Fatal(err)
		}
		got, err := r.Get(ctx, lina, mine.ID)
		if services.ErrorCode(err) != services.CodeInternal || got.PayoutAccount != "" {
			t.Fatalf("after the swap: %+v, %v; want an internal error and no account", got, err)
		}
	})
}
