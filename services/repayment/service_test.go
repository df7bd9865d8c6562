package repayment

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/loan"
	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// now is the 24th: before the demo policy's cut-off day.
var now = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

type fakeCore struct {
	mu        sync.Mutex
	policy    core.LoanPolicy
	positions map[string]core.LoanPosition
	accounts  map[string][]core.PayoutAccount
	balances  map[string]int64
	applied   map[string]core.Prepayment
	repay     map[string]core.RepaymentAccount
}

func newFakeCore() *fakeCore {
	return &fakeCore{
		policy: core.LoanPolicy{PrepayMinFen: 1_000_000, PrepayIntervalMonths: 12, PrepayCutoffDay: 25,
			PrepayModes: []string{core.ModeShortenTerm, core.ModeReduceInstalment}, PrepayFromHPF: true, PenaltyDailyBP: 5},
		positions: map[string]core.LoanPosition{
			"P-zhang": {HasLoan: true, PrincipalFen: 80_000_000, Months: 360, AnnualRateBP: 285, Method: "annuity", Paid: 26, FirstPeriod: 1,
				OwedFen: owedAfter(26), NextDueOn: "2026-12-20"},
			"P-zhou": {HasLoan: true, PrincipalFen: 50_000_000, Months: 300, AnnualRateBP: 310, Method: "linear", Paid: 15, FirstPeriod: 1,
				OwedFen: 47_833_342, OverduePeriods: 2, ArrearsFen: 580_901, PenaltyFen: 18_883, NextDueOn: "2026-12-05"},
			"P-zhao": {HasLoan: true, Settled: true},
			"P-li":   {},
		},
		accounts: map[string][]core.PayoutAccount{
			"P-zhang": {{ID: "pa_zhang_1", Kind: core.PayoutBankCard, Number: "6222021202005128741", Institution: "ICBC"},
				{ID: "pa_zhang_2", Kind: core.PayoutECNY, Number: "0021100056734812", Institution: "ICBC e-CNY"}},
			"P-zhou": {{ID: "pa_zhou_1", Kind: core.PayoutBankCard, Number: "6217856100025731486", Institution: "CCB"}},
			"P-li":   {{ID: "pa_li_1", Kind: core.PayoutBankCard, Number: "6217001540003274615", Institution: "CCB"}},
		},
		balances: map[string]int64{"P-zhang": 5_000_000, "P-zhou": 9_000_000},
		applied:  map[string]core.Prepayment{},
		repay:    map[string]core.RepaymentAccount{},
	}
}

func owedAfter(paid int) int64 {
	plan, _ := loan.Schedule(loan.Terms{PrincipalFen: 80_000_000, Months: 360, AnnualRateBP: 285, Method: loan.Annuity})
	return plan.Rows[paid-1].RemainingFen
}

func (f *fakeCore) LoanPolicy(context.Context) (core.LoanPolicy, error) { return f.policy, nil }
func (f *fakeCore) LoanPosition(_ context.Context, id string) (core.LoanPosition, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.positions[id], nil
}
func (f *fakeCore) RepaymentAccount(_ context.Context, id string) (core.RepaymentAccount, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.positions[id]; !p.HasLoan || p.Settled {
		return core.RepaymentAccount{}, services.E(services.CodeLoanNone)
	}
	if ra, ok := f.repay[id]; ok {
		return ra, nil
	}
	return core.RepaymentAccount{Account: f.accounts[id][0]}, nil
}
func (f *fakeCore) ChangeRepaymentAccount(_ context.Context, id, accountID string) (core.RepaymentAccount, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.accounts[id] {
		if a.ID == accountID {
			ra := core.RepaymentAccount{Account: f.accounts[id][0], Pending: &a, EffectiveFrom: f.positions[id].NextDueOn}
			f.repay[id] = ra
			return ra, nil
		}
	}
	return core.RepaymentAccount{}, services.E(services.CodeLoanAccountNotOwned)
}
func (f *fakeCore) LoanRepayments(context.Context, string, int, string) (core.RepaymentPage, error) {
	return core.RepaymentPage{Items: []core.Repayment{}}, nil
}
func (f *fakeCore) LoanApplications(context.Context, string) (core.LoanApplicationList, error) {
	return core.LoanApplicationList{Items: []core.LoanApplication{}}, nil
}
func (f *fakeCore) ApplyPrepayment(_ context.Context, p core.Prepayment) (core.PrepaymentStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied[p.PrepaymentID] = p
	pos := f.positions[p.PersonID]
	q, err := loan.Prepay(loan.Position{Terms: loan.Terms{PrincipalFen: pos.PrincipalFen, Months: pos.Months, AnnualRateBP: pos.AnnualRateBP,
		Method: loan.Method(pos.Method)}, Paid: pos.Paid}, p.AmountFen, loan.Mode(p.Mode))
	if err != nil {
		return core.PrepaymentStatus{}, err
	}
	return core.PrepaymentStatus{ID: p.PrepaymentID, Status: core.PrepaymentApplied, AmountFen: p.AmountFen, InterestSavedFen: q.InterestSavedFen,
		MonthsAfter: q.MonthsAfter, PaymentAfterFen: q.PaymentAfterFen, AppliedOn: "2026-11-24"}, nil
}
func (f *fakeCore) PayArrears(_ context.Context, p core.ArrearsPayment) (core.PrepaymentStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pos := f.positions[p.PersonID]
	return core.PrepaymentStatus{ID: p.PaymentID, Status: core.PrepaymentApplied, AmountFen: pos.ArrearsFen + pos.PenaltyFen,
		PenaltyFen: pos.PenaltyFen, AppliedOn: "2026-11-24"}, nil
}
func (f *fakeCore) PayoutAccounts(_ context.Context, id string) (core.PayoutAccountList, error) {
	return core.PayoutAccountList{Items: f.accounts[id]}, nil
}
func (f *fakeCore) Account(_ context.Context, id string) (core.Account, error) {
	return core.Account{Status: core.StatusNormal, BalanceFen: f.balances[id]}, nil
}

type fakePeople map[string]string

func (p fakePeople) PersonID(_ context.Context, subject string) (string, error) {
	if id, ok := p[subject]; ok {
		return id, nil
	}
	return "", errors.New("no such subject")
}

type fakeAudit struct {
	mu      sync.Mutex
	records []audit.Record
}

func (a *fakeAudit) Enqueue(_ context.Context, r audit.Record) error {
	if err := audit.Check(r); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.records = append(a.records, r)
	return nil
}

type fakeNotices struct {
	mu sync.Mutex
	n  []string
}

func (f *fakeNotices) Notice(_ context.Context, subject, notice string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n = append(f.n, subject+":"+notice)
	return nil
}

type fixture struct {
	s       *Service
	st      *store.Store
	core    *fakeCore
	notices *fakeNotices
	audit   *fakeAudit
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	f := &fixture{st: st, core: newFakeCore(), notices: &fakeNotices{}, audit: &fakeAudit{}}
	var err error
	f.s, err = New(Deps{Store: st, Core: f.core, People: fakePeople{"s_zhang": "P-zhang", "s_zhou": "P-zhou", "s_zhao": "P-zhao", "s_li": "P-li"},
		Audit: f.audit, Notices: f.notices, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func depositor(subject string) services.Principal {
	return services.Principal{Subject: subject, Role: services.RoleDepositor, Channel: services.ChannelMiniApp}
}

func (f *fixture) rows(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.st.QueryRow(context.Background(), `SELECT COUNT(*) FROM loan_prepayments`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func prepayment(amount int64, mode, account string, key string) Request {
	return Request{AmountFen: amount, Mode: mode, SourceAccountID: account, IdempotencyKey: key,
		RequestHash: fmt.Sprintf("%d|%s|%s", amount, mode, account), Locale: "zh-CN"}
}

// Attacker tests first: another person's account, bad amounts, the
// policy's rules, no loan. Each is a 4xx code and nothing is written.
func TestPrepaymentRefusalsWriteNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := context.Background()
		owed := owedAfter(26)
		for name, tc := range map[string]struct {
			subject string
			r       Request
			want    services.Code
		}{
			"another person's account": {"s_zhang", prepayment(1_000_000, "shorten_term", "pa_li_1", "k1"), services.CodeLoanAccountNotOwned},
			"an unknown account":       {"s_zhang", prepayment(1_000_000, "shorten_term", "pa_nobody", "k2"), services.CodeLoanAccountNotOwned},
			"below the minimum":        {"s_zhang", prepayment(999_999, "shorten_term", "pa_zhang_1", "k3"), services.CodeLoanPrepaymentBelowMinimum},
			"above what is owed":       {"s_zhang", prepayment(owed+1, "shorten_term", "pa_zhang_1", "k4"), services.CodeLoanPrepaymentAboveOwed},
			"no loan":                  {"s_li", prepayment(1_000_000, "shorten_term", "pa_li_1", "k5"), services.CodeLoanNone},
			"a settled loan":           {"s_zhao", prepayment(1_000_000, "shorten_term", "pa_li_1", "k6"), services.CodeLoanNone},
			"in arrears":               {"s_zhou", prepayment(1_000_000, "shorten_term", "pa_zhou_1", "k7"), services.CodeLoanInArrears},
			"no amount":                {"s_zhang", prepayment(0, "shorten_term", "pa_zhang_1", "k8"), services.CodeInvalid},
			"a negative amount":        {"s_zhang", prepayment(-5, "shorten_term", "pa_zhang_1", "k9"), services.CodeInvalid},
			"an unknown mode":          {"s_zhang", prepayment(1_000_000, "both", "pa_zhang_1", "k10"), services.CodeInvalid},
			"no source":                {"s_zhang", prepayment(1_000_000, "shorten_term", "", "k11"), services.CodeInvalid},
			"two sources":              {"s_zhang", Request{AmountFen: 1_000_000, Mode: "shorten_term", SourceAccountID: "pa_zhang_1", FromHPF: true, IdempotencyKey: "k12"}, services.CodeInvalid},
			"more than the HPF balance": {"s_zhang", Request{AmountFen: 6_000_000, Mode: "shorten_term", FromHPF: true, IdempotencyKey: "k13"},
				services.CodeLoanPrepaymentSourceRefused},
		} {
			if _, _, err := f.s.Prepay(ctx, depositor(tc.subject), tc.r); services.ErrorCode(err) != tc.want {
				t.Errorf("%s: %v, want %s", name, err, tc.want)
			}
		}
		// The policy's calendar rules.
		f.core.policy.PrepayCutoffDay = 20
		if _, _, err := f.s.Prepay(ctx, depositor("s_zhang"), prepayment(1_000_000, "shorten_term", "pa_zhang_1", "k14")); services.ErrorCode(err) != services.CodeLoanPrepaymentAfterCutoff {
			t.Errorf("after the cut-off: %v", err)
		}
		f.core.policy.PrepayCutoffDay = 31
		pos := f.core.positions["P-zhang"]
		pos.LastPrepaidOn = "2026-03-01"
		f.core.positions["P-zhang"] = pos
		if _, _, err := f.s.Prepay(ctx, depositor("s_zhang"), prepayment(1_000_000, "shorten_term", "pa_zhang_1", "k15")); services.ErrorCode(err) != services.CodeLoanPrepaymentTooSoon {
			t.Errorf("too soon: %v", err)
		}
		if _, err := f.s.Quote(ctx, depositor("s_zhang"), 1_000_000, "shorten_term"); services.ErrorCode(err) != services.CodeLoanPrepaymentTooSoon {
			t.Errorf("quote too soon: %v", err)
		}
		if n := f.rows(t); n != 0 {
			t.Fatalf("%d rows written", n)
		}
		if n, _ := outbox.Pending(ctx, st); n != 0 {
			t.Fatalf("%d outbox rows", n)
		}
	})
}

func TestPrepaymentReplayAndRaces(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := context.Background()
		zhang := depositor("s_zhang")
		// Twice at once under two keys: one is accepted, the other is in
		// flight.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, errs[i] = f.s.Prepay(ctx, zhang, prepayment(2_000_000, "shorten_term", "pa_zhang_1", fmt.Sprintf("race-%d", i)))
			}()
		}
		wg.Wait()
		ok, busy := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case services.ErrorCode(err) == services.CodeLoanPrepaymentInFlight:
				busy++
			}
		}
		if ok != 1 || busy != 1 {
			t.Fatalf("two at once: %v", errs)
		}
		if n := f.rows(t); n != 1 {
			t.Fatalf("%d rows", n)
		}
		first, _, err := f.s.List(ctx, zhang, 0, "")
		if err != nil || len(first) != 1 {
			t.Fatal(first, err)
		}
		key := "race-0"
		if _, _, err := f.s.Prepay(ctx, zhang, prepayment(2_000_000, "shorten_term", "pa_zhang_1", key)); err != nil {
			key = "race-1"
		}
		again, replayed, err := f.s.Prepay(ctx, zhang, prepayment(2_000_000, "shorten_term", "pa_zhang_1", key))
		if err != nil || !replayed || again.ID != first[0].ID {
			t.Fatalf("replay %+v %v %v", again, replayed, err)
		}
		if _, _, err := f.s.Prepay(ctx, zhang, prepayment(3_000_000, "shorten_term", "pa_zhang_1", key)); services.ErrorCode(err) != services.CodeIdempotencyKeyReused {
			t.Fatalf("other body: %v", err)
		}
		// Another person cannot see it.
		if _, err := f.s.Get(ctx, depositor("s_li"), first[0].ID); services.ErrorCode(err) != services.CodeNotFound {
			t.Fatalf("another's id: %v", err)
		}
		if items, _, _ := f.s.List(ctx, depositor("s_li"), 0, ""); len(items) != 0 {
			t.Fatalf("another's list %+v", items)
		}
		// Delivered twice: applied once, with what the quote said.
		q, err := f.s.Quote(ctx, zhang, 2_000_000, "shorten_term")
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := f.s.Apply(ctx, outbox.Message{Payload: []byte(first[0].ID)}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := f.s.Get(ctx, zhang, first[0].ID)
		if err != nil || got.Status != StatusApplied || got.InterestSavedFen != q.InterestSavedFen || got.MonthsAfter != q.MonthsAfter ||
			len(got.Events) != 2 || got.Events[0].Status != StatusAccepted {
			t.Fatalf("applied %+v %v, quote %+v", got, err, q.Quote.InterestSavedFen)
		}
		// Now another may be asked for (the in-flight rule is for
		// unfinished payments only).
		if _, _, err := f.s.Prepay(ctx, zhang, prepayment(2_000_000, "reduce_instalment", "pa_zhang_2", "next")); err != nil {
			t.Fatal(err)
		}
	})
}

func TestArrearsPayment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := context.Background()
		if _, _, err := f.s.PayArrears(ctx, depositor("s_zhang"), Request{SourceAccountID: "pa_zhang_1", IdempotencyKey: "a1"}); services.ErrorCode(err) != services.CodeLoanNoArrears {
			t.Fatalf("no arrears: %v", err)
		}
		if _, _, err := f.s.PayArrears(ctx, depositor("s_zhou"), Request{SourceAccountID: "pa_zhang_1", IdempotencyKey: "a2"}); services.ErrorCode(err) != services.CodeLoanAccountNotOwned {
			t.Fatalf("another's account: %v", err)
		}
		p, _, err := f.s.PayArrears(ctx, depositor("s_zhou"), Request{FromHPF: true, IdempotencyKey: "a3"})
		if err != nil || p.AmountFen != 580_901+18_883 || p.PenaltyFen != 18_883 || p.Kind != KindArrears {
			t.Fatalf("%+v %v", p, err)
		}
	})
}

func TestRepaymentAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := context.Background()
		ra, err := f.s.RepaymentAccount(ctx, depositor("s_zhang"))
		if err != nil || ra.Account.ID != "pa_zhang_1" || ra.Account.NumberMasked == "6222021202005128741" || ra.Pending != nil {
			t.Fatalf("%+v %v", ra, err)
		}
		if _, err := f.s.ChangeRepaymentAccount(ctx, depositor("s_zhang"), "pa_li_1"); services.ErrorCode(err) != services.CodeLoanAccountNotOwned {
			t.Fatalf("another's account: %v", err)
		}
		if len(f.notices.n) != 0 {
			t.Fatal("a refusal sent a message")
		}
		ra, err = f.s.ChangeRepaymentAccount(ctx, depositor("s_zhang"), "pa_zhang_2")
		if err != nil || ra.Pending == nil || ra.Pending.ID != "pa_zhang_2" || ra.EffectiveFrom != "2026-12-20" {
			t.Fatalf("%+v %v", ra, err)
		}
		if len(f.notices.n) != 1 || f.notices.n[0] != "s_zhang:repayment_account_changed" {
			t.Fatalf("notices %v", f.notices.n)
		}
		if _, err := f.s.RepaymentAccount(ctx, depositor("s_li")); services.ErrorCode(err) != services.CodeLoanNone {
			t.Fatalf("no loan: %v", err)
		}
	})
}
