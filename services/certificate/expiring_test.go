package certificate

import (
	"context"
	"testing"
	"time"

	"handheld/services/store"
	"handheld/services/store/storetest"
)

// Expiring names each subject's earliest certificate expiring in the
// window, for the certificate_expiring reminder; revoked ones and other
// subjects' are not, nor those outside the window.
func TestExpiring(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		issued := r.clock.Now()
		first, err := r.Issue(ctx, depositor("s_zhang"), TypeDepositUse, "", LangZhCN)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Issue(ctx, depositor("s_wang"), TypeDepositUse, "", LangZhCN); err != nil {
			t.Fatal(err)
		}
		expires := issued.Add(DefaultValidity)
		week := expires.Add(-7 * 24 * time.Hour)
		got, err := r.Expiring(ctx, []string{"s_zhang", "s_nobody"}, week, expires.Add(time.Hour))
		if err != nil || len(got) != 1 || !got["s_zhang"].Equal(expires) {
			t.Fatalf("in the week before expiry: %v %v, want s_zhang at %s", got, err, expires)
		}
		if got, err := r.Expiring(ctx, []string{"s_zhang", "s_wang"}, issued, week); err != nil || len(got) != 0 {
			t.Errorf("weeks before: %v %v, want none", got, err)
		}
		if _, err := r.Revoke(ctx, depositor("s_zhang"), first.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := r.Expiring(ctx, []string{"s_zhang"}, week, expires.Add(time.Hour)); err != nil || len(got) != 0 {
			t.Errorf("revoked: %v %v, want none", got, err)
		}
		if got, err := r.Expiring(ctx, nil, week, expires); err != nil || len(got) != 0 {
			t.Errorf("no subjects: %v %v", got, err)
		}
	})
}
