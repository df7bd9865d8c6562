package core_test

import (
	"context"
	"slices"
	"testing"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/coresim"
)

// person is a seeded persona resolved to the core's person id.
type person struct {
	coresim.Persona
	core.Person
}

// people resolves every persona that has a name and an ID number through the
// real-name check, so tests pick people by what the core says about them,
// never by hard-coded names.
func people(t *testing.T, h *harness) []person {
	t.Helper()
	var out []person
	for _, p := range h.sim.Personas() {
		if p.Name == "" || p.IDNumber == "" {
			continue
		}
		got, err := h.client.VerifyRealName(context.Background(), p.Name, p.IDNumber)
		if err != nil {
			t.Fatalf("VerifyRealName(persona %s): %v", p.Role, err)
		}
		out = append(out, person{Persona: p, Person: got})
	}
	if len(out) < 3 {
		t.Fatalf("the seed has %d people, want at least 3 (docs/api.md §Demo data)", len(out))
	}
	return out
}

// pick returns the first person for which ok holds, or fails the test.
func pick(t *testing.T, ps []person, what string, ok func(person) bool) person {
	t.Helper()
	for _, p := range ps {
		if ok(p) {
			return p
		}
	}
	t.Fatalf("the seed has no %s", what)
	return person{}
}

// code is the services code of err, failing when err is nil.
func code(t *testing.T, err error) services.Code {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error")
	}
	return services.ErrorCode(err)
}

// TestContract runs the read-mostly contract checks against one seeded
// simulator (opening one costs about a second under -race). Each subtest
// leaves the data as it found it, or writes only under its own ids.
func TestContract(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *harness)
	}{
		{"RealName", testContractRealName},
		{"Face", testContractFace},
		{"Account", testContractAccount},
		{"DepositsPaging", testContractDepositsPaging},
		{"Loan", testContractLoan},
		{"CertificateFacts", testContractCertificateFacts},
		{"OperatorUnitAndStaff", testContractOperatorUnitAndStaff},
		{"WithdrawalIsIdempotent", testContractWithdrawalIsIdempotent},
		{"PayoutAccounts", testContractPayoutAccounts},
		{"EvidenceCheck", testContractEvidenceCheck},
		{"ReminderFacts", testContractReminderFacts},
		{"RefusesBadSignatures", testContractRefusesBadSignatures},
		{"EchoesRequestID", testContractEchoesRequestID},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

func testContractRealName(t *testing.T, h *harness) {
	ctx := context.Background()
	for _, p := range people(t, h) {
		if p.Person.Name != p.Persona.Name || p.Person.IDNumber != p.Persona.IDNumber || p.PersonID == "" {
			t.Errorf("persona %s: real-name check answered %+v", p.Role, p.Person)
		}
		again, err := h.client.Person(ctx, p.PersonID)
		if err != nil || again != p.Person {
			t.Errorf("Person(%s) = %+v, %v; want the verified record %+v", p.Role, again, err, p.Person)
		}
	}
	p := people(t, h)[0]
	if _, err := h.client.VerifyRealName(ctx, p.Persona.Name+"某", p.Persona.IDNumber); code(t, err) != services.CodePersonNotFound {
		t.Errorf("mismatched name: %v, want person.not_found", err)
	}
	if _, err := h.client.VerifyRealName(ctx, p.Persona.Name, "110101190001010000"); code(t, err) != services.CodePersonNotFound {
		t.Errorf("unknown ID number: %v, want person.not_found", err)
	}
	if _, err := h.client.Person(ctx, "no-such-person"); code(t, err) != services.CodePersonNotFound {
		t.Errorf("Person(unknown): %v, want person.not_found", err)
	}
}

func testContractFace(t *testing.T, h *harness) {
	ctx := context.Background()
	p := pick(t, people(t, h), "persona with a face token", func(p person) bool { return p.FaceToken != "" })
	got, err := h.client.VerifyFace(ctx, core.FaceCheck{Name: p.Persona.Name, IDNumber: p.Persona.IDNumber, FaceToken: p.FaceToken})
	if err != nil || !got.Match || got.PersonID != p.PersonID {
		t.Errorf("VerifyFace(right token) = %+v, %v; want a match for %s", got, err, p.PersonID)
	}
	got, err = h.client.VerifyFace(ctx, core.FaceCheck{Name: p.Persona.Name, IDNumber: p.Persona.IDNumber, FaceToken: p.FaceToken + "x"})
	if err != nil || got.Match || got.PersonID != "" {
		t.Errorf("VerifyFace(wrong token) = %+v, %v; want no match", got, err)
	}
}

func testContractAccount(t *testing.T, h *harness) {
	ctx := context.Background()
	ps := people(t, h)
	p := pick(t, ps, "person with an account", func(p person) bool { return p.HasAccount })
	a, err := h.client.Account(ctx, p.PersonID)
	if err != nil {
		t.Fatalf("Account: %v", err)
	}
	if a.AccountNumber == "" || a.Status == "" || a.BalanceFen < 0 {
		t.Errorf("Account = %+v, want a number, a status and a balance", a)
	}

	none := pick(t, ps, "person without an account", func(p person) bool { return !p.HasAccount })
	if _, err := h.client.Account(ctx, none.PersonID); code(t, err) != services.CodeAccountNotFound {
		t.Errorf("Account(no account) = %v, want account.not_found", err)
	}
	if _, err := h.client.Account(ctx, "no-such-person"); code(t, err) != services.CodePersonNotFound {
		t.Errorf("Account(unknown) = %v, want person.not_found", err)
	}
	// Statuses the glossary names are all seeded: sealed and frozen too.
	var statuses []string
	for _, p := range ps {
		if a, err := h.client.Account(ctx, p.PersonID); err == nil {
			statuses = append(statuses, a.Status)
		}
	}
	for _, want := range []string{core.StatusNormal, core.StatusSealed, core.StatusFrozen} {
		if !slices.Contains(statuses, want) {
			t.Errorf("no seeded account has status %s (seen %v)", want, statuses)
		}
	}
}

func testContractDepositsPaging(t *testing.T, h *harness) {
	ctx := context.Background()
	ps := people(t, h)
	p := pick(t, ps, "person with an account", func(p person) bool { return p.HasAccount })

	all := allDeposits(t, h, p.PersonID, core.DepositQuery{Limit: 7})
	if len(all) < 8 {
		t.Fatalf("%d deposits: too few to page with limit 7", len(all))
	}
	ids := map[string]bool{}
	for i, d := range all {
		if ids[d.ID] {
			t.Errorf("deposit %s appears on two pages", d.ID)
		}
		ids[d.ID] = true
		if i > 0 && d.Month > all[i-1].Month {
			t.Errorf("deposits not newest first: %s after %s", d.Month, all[i-1].Month)
		}
	}
	// One big page is the same list.
	whole, err := h.client.Deposits(ctx, p.PersonID, core.DepositQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) <= 100 && !slices.Equal(whole.Items, all) {
		t.Errorf("paging with limit 7 gave %d entries, one page of 100 gave %d", len(all), len(whole.Items))
	}

	// A month range answers exactly the entries of those months.
	from, to := all[len(all)/2].Month, all[len(all)/4].Month
	ranged := allDeposits(t, h, p.PersonID, core.DepositQuery{From: from, To: to, Limit: 3})
	var want []core.Deposit
	for _, d := range all {
		if d.Month >= from && d.Month <= to {
			want = append(want, d)
		}
	}
	if len(want) == 0 || !slices.Equal(ranged, want) {
		t.Errorf("deposits %s..%s: got %d entries, want %d", from, to, len(ranged), len(want))
	}

	if _, err := h.client.Deposits(ctx, p.PersonID, core.DepositQuery{Cursor: "not-a-cursor"}); code(t, err) != services.CodeCoreRejected {
		t.Errorf("a forged cursor = %v, want core.rejected", err)
	}
	none := pick(t, ps, "person without an account", func(p person) bool { return !p.HasAccount })
	if _, err := h.client.Deposits(ctx, none.PersonID, core.DepositQuery{}); code(t, err) != services.CodeAccountNotFound {
		t.Errorf("Deposits(no account) = %v, want account.not_found", err)
	}
}

// allDeposits walks every page, checking each respects the limit.
func allDeposits(t *testing.T, h *harness, personID string, q core.DepositQuery) []core.Deposit {
	t.Helper()
	var out []core.Deposit
	for range 1000 {
		page, err := h.client.Deposits(context.Background(), personID, q)
		if err != nil {
			t.Fatalf("Deposits(%+v): %v", q, err)
		}
		if len(page.Items) > q.Limit {
			t.Fatalf("a page of %d entries with limit %d", len(page.Items), q.Limit)
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		q.Cursor = page.NextCursor
	}
	t.Fatal("deposit paging never ends")
	return nil
}

func testContractLoan(t *testing.T, h *harness) {
	ctx := context.Background()
	ps := people(t, h)
	var with, without *person
	for i := range ps {
		l, err := h.client.Loan(ctx, ps[i].PersonID)
		if err != nil {
			t.Fatalf("Loan(%s): %v", ps[i].Role, err)
		}
		switch {
		case l.HasLoan && with == nil:
			with = &ps[i]
			if l.LoanNumber == "" || l.PrincipalFen <= 0 || l.Months <= 0 || (l.Method != "annuity" && l.Method != "linear") {
				t.Errorf("Loan(%s) = %+v, want a complete summary", ps[i].Role, l)
			}
		case !l.HasLoan:
			if l != (core.Loan{}) {
				t.Errorf("Loan(%s) without a loan carries figures: %+v", ps[i].Role, l)
			}
			if without == nil {
				without = &ps[i]
			}
		}
	}
	if with == nil || without == nil {
		t.Fatalf("the seed needs a person with a loan and one without (with %v, without %v)", with != nil, without != nil)
	}

	loan, _ := h.client.Loan(ctx, with.PersonID)
	var plan []core.Instalment
	cursor := ""
	for range 1000 {
		page, err := h.client.LoanSchedule(ctx, with.PersonID, 50, cursor)
		if err != nil {
			t.Fatalf("LoanSchedule: %v", err)
		}
		if len(page.Items) > 50 {
			t.Fatalf("a schedule page of %d with limit 50", len(page.Items))
		}
		plan = append(plan, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(plan) != loan.Months {
		t.Errorf("schedule has %d instalments, the loan %d months", len(plan), loan.Months)
	}
	var principal int64
	for i, in := range plan {
		if in.Period != i+1 {
			t.Errorf("instalment %d has period %d", i, in.Period)
			break
		}
		principal += in.PrincipalFen
	}
	if principal != loan.PrincipalFen {
		t.Errorf("schedule repays %d fen of principal, the loan lent %d", principal, loan.PrincipalFen)
	}

	page, err := h.client.LoanSchedule(ctx, without.PersonID, 0, "")
	if err != nil || len(page.Items) != 0 || page.NextCursor != "" {
		t.Errorf("LoanSchedule(no loan) = %+v, %v; want an empty plan", page, err)
	}
	if _, err := h.client.Loan(ctx, "no-such-person"); code(t, err) != services.CodePersonNotFound {
		t.Errorf("Loan(unknown) = %v, want person.not_found", err)
	}
}

func testContractCertificateFacts(t *testing.T, h *harness) {
	ctx := context.Background()
	p := pick(t, people(t, h), "person with an account", func(p person) bool { return p.HasAccount })
	f, err := h.client.CertificateFacts(ctx, p.PersonID)
	if err != nil {
		t.Fatalf("CertificateFacts: %v", err)
	}
	a, err := h.client.Account(ctx, p.PersonID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Person != p.Person || f.Account != a {
		t.Errorf("facts disagree with the person and account answers:\n%+v\n%+v", f.Person, f.Account)
	}
	if !f.AsOf.Equal(h.clock.Now()) {
		t.Errorf("AsOf = %s, want the core's now %s", f.AsOf, h.clock.Now())
	}
	for _, d := range f.Deposits {
		if d.Kind != core.KindRemittance && d.Kind != core.KindBackPayment {
			t.Errorf("certificate lists a %s entry; it states remittances", d.Kind)
		}
	}
}
