package withdrawal_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/withdrawal"
)

// rows counts what an application writes: its row, outbox rows and
// status events.
func rows(t *testing.T, s *store.Store) (apps, outbox, events int) {
	t.Helper()
	for table, n := range map[string]*int{"withdrawals": &apps, "outbox": &outbox, "withdrawal_events": &events} {
		if err := s.QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(n); err != nil {
			t.Fatal(err)
		}
	}
	return apps, outbox, events
}

func TestPayoutAccountsAreTheCoresListMasked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		got, err := r.PayoutAccounts(ctx, depositor("李娜"))
		if err != nil {
			t.Fatal(err)
		}
		want := payoutAccounts("李娜")
		if len(got) != len(want) || len(got) != 3 {
			t.Fatalf("got %d accounts, want the core's %d", len(got), len(want))
		}
		for i, a := range got {
			w := want[i]
			n := w.Number
			if a.ID != w.ID || a.Kind != w.Kind || a.Institution != w.Institution ||
				a.NumberMasked != n[:4]+" **** **** "+n[len(n)-4:] || strings.Contains(a.NumberMasked, n[4:len(n)-4]) {
				t.Errorf("account %d = %+v, want %s %s masked", i, a, w.ID, w.Kind)
			}
		}
		none, err := r.PayoutAccounts(ctx, depositor("孙丽"))
		if err != nil || len(none) != 0 {
			t.Errorf("孙丽: %+v %v, want none", none, err)
		}
		if _, err := r.PayoutAccounts(ctx, depositor("nobody")); err == nil {
			t.Error("an unknown subject got a list")
		}
	})
}

func TestApplyPaysOnlyTheApplicantsOwnAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		lina := depositor("李娜")
		theirs := payoutAccounts("张伟")[0].ID
		for name, id := range map[string]string{
			"another person's account": theirs,
			"an unknown account":       "pa_0000000000000000",
			"a malformed id":           "../" + theirs,
			"an overlong id":           strings.Repeat("a", 65),
			"case changed":             strings.ToUpper(payoutAccounts("李娜")[0].ID),
		} {
			req := rentRequest("bad-"+name, 100_000)
			req.PayoutAccountID = id
			if _, _, err := r.Apply(ctx, lina, req); services.ErrorCode(err) != services.CodeWithdrawalPayoutAccountUnknown {
				t.Errorf("%s: %v, want %s", name, err, services.CodeWithdrawalPayoutAccountUnknown)
			}
		}
		req := rentRequest("none", 100_000)
		req.PayoutAccountID = ""
		if _, _, err := r.Apply(ctx, lina, req); services.ErrorCode(err) != services.CodeInvalid {
			t.Errorf("no account id: %v, want request.invalid", err)
		}
		if a, o, e := rows(t, s); a+o+e != 0 {
			t.Fatalf("refused applications wrote %d applications, %d outbox rows, %d events", a, o, e)
		}

		wallet := payoutAccounts("李娜")[2]
		req = rentRequest("wallet", 100_000)
		req.PayoutAccountID = wallet.ID
		app, _, err := r.Apply(ctx, lina, req)
		if err != nil {
			t.Fatal(err)
		}
		n := wallet.Number
		if app.PayoutMethod != withdrawal.PayoutECNY || app.PayoutAccountID != wallet.ID || app.PayoutAccount != n[:4]+" **** **** "+n[len(n)-4:] {
			t.Errorf("accepted %+v, want her wallet, masked", app)
		}
		r.deliverAll(t)
		r.clock.Advance(31 * time.Second)
		r.deliverAll(t)
		r.clock.Advance(2*time.Minute + time.Second)
		r.deliverAll(t)
		if got, err := r.Get(ctx, lina, app.ID); err != nil || got.Status != withdrawal.StatusPaid {
			t.Fatalf("after payout: %+v %v, want paid to her wallet", got, err)
		}
	})
}

func TestEvidenceMustNameTheApplicantsOwnRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		lina := depositor("李娜")
		apply := func(key, kind string, refs ...string) error {
			req := rentRequest(key, 100_000)
			req.Kind, req.EvidenceRefs = kind, refs
			_, _, err := r.Apply(ctx, lina, req)
			return err
		}
		for name, refs := range map[string][]string{
			"a made-up deed":           {"deed:anything"},
			"another person's deed":    {record("张伟", core.EvidencePropertyRegistration)},
			"her diagnosis as a deed":  {record("李娜", core.EvidenceDiagnosis)},
			"her deed and a made-up":   {record("李娜", core.EvidencePropertyRegistration), "deed:x"},
			"another person's lease":   {record("周强", core.EvidenceTenancy)},
			"a deed in another case":   {strings.ToUpper(record("李娜", core.EvidencePropertyRegistration))},
			"another persona's record": {record("王芳", core.EvidenceClosingCertificate)},
		} {
			if err := apply("p-"+name, withdrawal.KindPurchase, refs...); services.ErrorCode(err) != services.CodeWithdrawalEvidenceUnknown {
				t.Errorf("purchase with %s: %v, want %s", name, err, services.CodeWithdrawalEvidenceUnknown)
			}
		}
		if err := apply("rent-refs", withdrawal.KindRent, record("李娜", core.EvidenceTenancy)); services.ErrorCode(err) != services.CodeWithdrawalEvidenceUnknown {
			t.Errorf("rent, which needs no evidence, with a reference: %v", err)
		}
		if a, o, e := rows(t, s); a+o+e != 0 {
			t.Fatalf("refused applications wrote %d applications, %d outbox rows, %d events", a, o, e)
		}
		if err := apply("own", withdrawal.KindPurchase, record("李娜", core.EvidencePropertyRegistration), "contract:HZ-SP-2026-1107"); err != nil {
			t.Fatalf("purchase with her own deed and contract: %v", err)
		}
	})
}

// TestRacingKindsNeverOverCommit sends applications of different kinds at
// once, each for the most its kind allows alone, which together ask for
// about twice the balance: what is accepted never exceeds the balance, and
// what remains eligible is reduced by it.
func TestRacingKindsNeverOverCommit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kinds []string
	}{
		{"李娜", []string{withdrawal.KindPurchase, withdrawal.KindCriticalIllness, withdrawal.KindRent}},
		{"王芳", []string{withdrawal.KindClosing, withdrawal.KindLeavingCity, withdrawal.KindCriticalIllness}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, s *store.Store) {
				r := newRig(t, s)
				ctx := context.Background()
				who := depositor(tc.name)
				evidence := map[string][]string{
					withdrawal.KindPurchase:        {record(tc.name, core.EvidencePropertyRegistration)},
					withdrawal.KindCriticalIllness: {record(tc.name, core.EvidenceDiagnosis)},
					withdrawal.KindClosing:         {record(tc.name, core.EvidenceClosingCertificate)},
				}
				var asked int64
				reqs := make([]withdrawal.Request, len(tc.kinds))
				for i, kind := range tc.kinds {
					el, err := r.Eligibility(ctx, who, kind)
					if err != nil || !el.Eligible {
						t.Fatalf("%s alone: %+v %v, want eligible", kind, el, err)
					}
					reqs[i] = rentRequest("race-"+kind, el.MaxAmountFen)
					reqs[i].Kind, reqs[i].EvidenceRefs = kind, evidence[kind]
					reqs[i].PayoutAccountID = payoutAccounts(tc.name)[0].ID
					asked += el.MaxAmountFen
				}
				balance := r.balance(t, tc.name)
				if asked <= balance {
					t.Fatalf("the kinds ask for %d of %d: no race to lose", asked, balance)
				}
				var (
					wg       sync.WaitGroup
					start    = make(chan struct{})
					mu       sync.Mutex
					accepted int64
				)
				for _, req := range reqs {
					wg.Go(func() {
						<-start
						_, _, err := r.Apply(ctx, who, req)
						switch code := services.ErrorCode(err); {
						case err == nil:
							mu.Lock()
							accepted += req.AmountFen
							mu.Unlock()
						case code == services.CodeWithdrawalAmountOverLimit, code == services.CodeWithdrawalNotEligible,
							code == services.CodeInvalid && req.Kind != withdrawal.KindRent:
						default:
							t.Errorf("%s: %v", req.Kind, err)
						}
					})
				}
				close(start)
				wg.Wait()
				if accepted == 0 || accepted > balance {
					t.Fatalf("accepted %d of a balance of %d (asked %d)", accepted, balance, asked)
				}
				var stored int64
				if err := s.QueryRow(ctx, `SELECT coalesce(sum(amount_fen), 0) FROM withdrawals`).Scan(&stored); err != nil || stored != accepted {
					t.Errorf("stored %d (%v), accepted %d", stored, err, accepted)
				}
				el, err := r.Eligibility(ctx, who, withdrawal.KindCriticalIllness)
				if err != nil {
					t.Fatal(err)
				}
				if el.Eligible && el.MaxAmountFen > balance-accepted {
					t.Errorf("after the race %s may still take %d of the %d not reserved", withdrawal.KindCriticalIllness, el.MaxAmountFen, balance-accepted)
				}
			})
		})
	}
}

// TestReservationEndsWhenTheLedgerShowsThePayment: an application holds
// its amount while in flight and once paid until the ledger shows it, and
// then the lower balance alone counts: never subtracted twice.
func TestReservationEndsWhenTheLedgerShowsThePayment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		lina := depositor("李娜")
		maxPurchase := func() int64 {
			t.Helper()
			el, err := r.Eligibility(ctx, lina, withdrawal.KindPurchase)
			if err != nil || !el.Eligible {
				t.Fatalf("purchase: %+v %v", el, err)
			}
			return el.MaxAmountFen
		}
		before := maxPurchase()
		if _, _, err := r.Apply(ctx, lina, rentRequest("r1", 200_000)); err != nil {
			t.Fatal(err)
		}
		if got := maxPurchase(); got != before-200_000 {
			t.Errorf("in flight: purchase max %d, want %d", got, before-200_000)
		}
		r.deliverAll(t)
		r.clock.Advance(31 * time.Second)
		r.deliverAll(t)
		r.clock.Advance(2*time.Minute + time.Second)
		r.deliverAll(t)
		if got := maxPurchase(); got != before-200_000 {
			t.Errorf("paid and in the ledger: purchase max %d, want %d (the payment counted once)", got, before-200_000)
		}
		if b := r.balance(t, "李娜"); b != before-200_000 {
			t.Errorf("balance %d, want %d", b, before-200_000)
		}
	})
}

// balance is the person's balance at the core now.
func (r *rig) balance(t *testing.T, name string) int64 {
	t.Helper()
	c, err := core.NewClient(core.ClientConfig{BaseURL: r.coreURL, KeyID: "handheld", Secret: []byte(secret), Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := r.people.PersonID(context.Background(), "s_"+name)
	a, err := c.Account(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a.BalanceFen
}
