package core_test

import (
	"context"
	"testing"

	"handheld/services/core"
)

// testContractReminderFacts: one call answers every known person's facts,
// agreeing with the account and loan reads, leaves an unknown id out, and
// tells a person without an account by has_account false.
func testContractReminderFacts(t *testing.T, h *harness) {
	ctx := context.Background()
	ps := people(t, h)
	ids := []string{"no-such-person"}
	for _, p := range ps {
		ids = append(ids, p.PersonID)
	}
	got, err := h.client.ReminderFacts(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ps) {
		t.Fatalf("%d facts for %d known persons", len(got), len(ps))
	}
	byID := map[string]core.ReminderFacts{}
	for _, f := range got {
		byID[f.PersonID] = f
	}
	withLoan, without := 0, 0
	for _, p := range ps {
		f := byID[p.PersonID]
		if !p.HasAccount {
			without++
			if f.HasAccount || f.Status != "" || f.LastDepositMonth != "" {
				t.Errorf("%s without an account: %+v", p.Persona.Name, f)
			}
			continue
		}
		a, err := h.client.Account(ctx, p.PersonID)
		if err != nil {
			t.Fatal(err)
		}
		if !f.HasAccount || f.Status != a.Status || f.LastDepositMonth != a.LastDepositMonth || f.ContinuousMonths != a.ContinuousMonths {
			t.Errorf("%s: facts %+v disagree with the account %+v", p.Persona.Name, f, a)
		}
		if a.LastDepositMonth != "" && (f.LastDepositFen <= 0 || f.LastDepositOn[:7] < a.LastDepositMonth) {
			t.Errorf("%s: last deposit %d fen on %q for %s", p.Persona.Name, f.LastDepositFen, f.LastDepositOn, a.LastDepositMonth)
		}
		l, err := h.client.Loan(ctx, p.PersonID)
		if err != nil {
			t.Fatal(err)
		}
		if l.HasLoan && !l.Settled {
			withLoan++
			if f.NextDueOn != l.NextDueOn || f.NextPaymentFen != l.NextPaymentFen {
				t.Errorf("%s: next instalment %s %d, the loan says %s %d", p.Persona.Name, f.NextDueOn, f.NextPaymentFen, l.NextDueOn, l.NextPaymentFen)
			}
		} else if f.NextDueOn != "" {
			t.Errorf("%s without a loan due: next instalment %s", p.Persona.Name, f.NextDueOn)
		}
	}
	if withLoan == 0 || without == 0 {
		t.Errorf("%d with a loan due, %d without an account: both cases must be tested", withLoan, without)
	}
}
