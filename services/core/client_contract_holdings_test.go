package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/coresim"
)

// testContractPayoutAccounts: every person's list is exactly what the
// core holds under their name, none for a person without any, and an
// unknown person is person.not_found.
func testContractPayoutAccounts(t *testing.T, h *harness) {
	ctx := context.Background()
	none := 0
	for _, p := range people(t, h) {
		got, err := h.client.PayoutAccounts(ctx, p.PersonID)
		if err != nil {
			t.Fatalf("%s: %v", p.Persona.Name, err)
		}
		want := p.PayoutAccounts
		if want == nil {
			want = []core.PayoutAccount{}
		}
		if diff := cmp.Diff(want, got.Items); diff != "" {
			t.Errorf("%s: (-persona +core):\n%s", p.Persona.Name, diff)
		}
		if len(got.Items) == 0 {
			none++
		}
	}
	if none == 0 {
		t.Error("no persona without payout accounts: the empty list is untested")
	}
	if _, err := h.client.PayoutAccounts(ctx, "no-such-person"); code(t, err) != services.CodePersonNotFound {
		t.Errorf("PayoutAccounts(unknown) = %v, want person.not_found", err)
	}
}

// testContractEvidenceCheck: a person's own record of the category is
// confirmed; a made-up reference, another person's record and a record
// of another category are not.
func testContractEvidenceCheck(t *testing.T, h *harness) {
	ctx := context.Background()
	ps := people(t, h)
	owner := pick(t, ps, "persona with a property registration", func(p person) bool {
		return p.Persona.Record(core.EvidencePropertyRegistration) != "" && p.Persona.Record(core.EvidenceDiagnosis) != ""
	})
	other := pick(t, ps, "another persona with a property registration", func(p person) bool {
		return p.PersonID != owner.PersonID && p.Persona.Record(core.EvidencePropertyRegistration) != ""
	})
	deed, diagnosis := owner.Persona.Record(core.EvidencePropertyRegistration), owner.Persona.Record(core.EvidenceDiagnosis)
	theirs := other.Persona.Record(core.EvidencePropertyRegistration)
	got, err := h.client.CheckEvidence(ctx, owner.PersonID, core.EvidenceCheck{
		Categories: []string{core.EvidencePropertyRegistration},
		Refs:       []string{deed, "deed:anything", theirs, diagnosis},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"deed:anything", theirs, diagnosis}, got.Unknown); diff != "" {
		t.Errorf("unknown (-want +got):\n%s", diff)
	}
	got, err = h.client.CheckEvidence(ctx, owner.PersonID, core.EvidenceCheck{Categories: []string{core.EvidenceDiagnosis}, Refs: []string{diagnosis}})
	if err != nil || len(got.Unknown) != 0 {
		t.Errorf("own diagnosis = %+v, %v; want confirmed", got, err)
	}
	if _, err := h.client.CheckEvidence(ctx, owner.PersonID, core.EvidenceCheck{Categories: []string{"passport"}, Refs: []string{deed}}); code(t, err) != services.CodeCoreRejected {
		t.Errorf("unknown category = %v, want core.rejected", err)
	}
	if _, err := h.client.CheckEvidence(ctx, "no-such-person", core.EvidenceCheck{Categories: []string{core.EvidenceDiagnosis}, Refs: []string{diagnosis}}); code(t, err) != services.CodePersonNotFound {
		t.Errorf("unknown person = %v, want person.not_found", err)
	}
}

// TestContractPaymentGoesOnlyToTheApplicantsAccount: the core pays an
// application to the applicant's own account and names it in the ledger;
// one naming another person's account is rejected.
func TestContractPaymentGoesOnlyToTheApplicantsAccount(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *coresim.Config) { c.ReviewDelay, c.PayoutDelay = time.Minute, time.Minute })
	ctx := context.Background()
	ps := people(t, h)
	p := pick(t, ps, "person with a normal account and payout accounts", func(p person) bool {
		a, err := h.client.Account(ctx, p.PersonID)
		return err == nil && a.Status == core.StatusNormal && a.ContinuousMonths >= 3 && a.BalanceFen > 200000 && len(p.PayoutAccounts) > 0
	})
	other := pick(t, ps, "another person with payout accounts", func(x person) bool {
		return x.PersonID != p.PersonID && len(x.PayoutAccounts) > 0
	})
	own, theirs := p.PayoutAccounts[0], other.PayoutAccounts[0]
	good := core.Withdrawal{ApplicationID: "app-own", PersonID: p.PersonID, Kind: "07", AmountFen: 100000,
		PayoutMethod: own.Kind, PayoutAccount: own.Number, PayoutAccountID: own.ID}
	bad := core.Withdrawal{ApplicationID: "app-theirs", PersonID: p.PersonID, Kind: "06", AmountFen: 100000,
		PayoutMethod: theirs.Kind, PayoutAccount: theirs.Number, PayoutAccountID: theirs.ID}
	for _, w := range []core.Withdrawal{good, bad} {
		if _, err := h.client.SubmitWithdrawal(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	h.clock.Set(h.clock.Now().Add(time.Hour))
	if st, err := h.client.Withdrawal(ctx, bad.ApplicationID); err != nil || st.Status != core.WithdrawalRejected || st.Reason != coresim.ReasonPayoutAccountUnknown {
		t.Errorf("to another person's account: %+v, %v; want rejected %s", st, err, coresim.ReasonPayoutAccountUnknown)
	}
	if st, err := h.client.Withdrawal(ctx, good.ApplicationID); err != nil || st.Status != core.WithdrawalPaid {
		t.Fatalf("to the person's own account: %+v, %v; want paid", st, err)
	}
	page, err := h.client.Deposits(ctx, p.PersonID, core.DepositQuery{Limit: 1})
	if err != nil || len(page.Items) != 1 || page.Items[0].ApplicationID != good.ApplicationID {
		t.Errorf("newest ledger entry %+v, %v; want the payment naming %s", page.Items, err, good.ApplicationID)
	}
}
