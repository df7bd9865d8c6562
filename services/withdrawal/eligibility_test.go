package withdrawal

import (
	"slices"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
)

func TestEvaluate(t *testing.T) {
	ps := DefaultPolicies()
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, services.CentreTime)
	normal := core.Account{Status: "01", BalanceFen: 5_000_000, ContinuousMonths: 24}
	sealed := core.Account{Status: "02", BalanceFen: 3_000_000, ContinuousMonths: 0}
	rentPaid := func(on string, fen int64) core.Deposit {
		return core.Deposit{Kind: core.KindWithdrawal, WithdrawalKind: "07", PostedOn: on, AmountFen: -fen}
	}
	born := func(y int) time.Time { return time.Date(y, 3, 1, 0, 0, 0, 0, services.CentreTime) }
	tests := []struct {
		name    string
		kind    string
		f       Facts
		want    []string // reason codes, in order
		wantMax int64
	}{
		{"rent, eligible: the quarterly cap", KindRent, Facts{Account: normal}, nil, 600_000},
		{"rent, new hire", KindRent, Facts{Account: core.Account{Status: "01", BalanceFen: 100_000, ContinuousMonths: 2}}, []string{ReasonContinuity}, 0},
		{"rent, withdrew last month", KindRent, Facts{Account: normal, Withdrawals: []core.Deposit{rentPaid("2026-10-20", 450_000)}},
			[]string{ReasonTooFrequent}, 0},
		{"rent, paid here yesterday, not in the ledger yet", KindRent, Facts{Account: normal,
			Paid: []Open{{Kind: KindRent, AmountFen: 100_000, At: now.AddDate(0, 0, -1)}}}, []string{ReasonTooFrequent}, 0},
		{"critical illness, paid here this year counts against the cap", KindCriticalIllness, Facts{Account: core.Account{Status: "01", BalanceFen: 90_000_000},
			Paid: []Open{{Kind: KindCriticalIllness, AmountFen: 5_000_000, At: now.AddDate(0, 0, -1)}}}, nil, 15_000_000},
		{"rent, three months ago is fine", KindRent, Facts{Account: normal, Withdrawals: []core.Deposit{rentPaid("2026-08-20", 450_000)}}, nil, 600_000},
		{"rent, year cap nearly used", KindRent, Facts{Account: normal, Withdrawals: []core.Deposit{
			rentPaid("2026-02-01", 600_000), rentPaid("2026-05-01", 600_000), rentPaid("2026-08-01", 600_000)}}, nil, 600_000},
		{"rent, year cap used up", KindRent, Facts{Account: normal, Withdrawals: []core.Deposit{
			rentPaid("2026-01-01", 600_000), rentPaid("2026-04-01", 600_000), rentPaid("2026-07-01", 600_000), rentPaid("2026-08-01", 600_000)}},
			[]string{ReasonCapReached}, 0},
		{"rent, sealed account", KindRent, Facts{Account: sealed}, []string{ReasonAccountStatus, ReasonContinuity}, 0},
		{"rent, in flight", KindRent, Facts{Account: normal, Open: []Open{{Kind: KindRent, AmountFen: 100_000, At: now}}},
			[]string{ReasonInFlight}, 0},
		{"purchase, balance minus what is in flight", KindPurchase, Facts{Account: normal, Open: []Open{{Kind: KindRent, AmountFen: 600_000, At: now}}},
			nil, 4_400_000},
		{"purchase, 5 months", KindPurchase, Facts{Account: core.Account{Status: "01", BalanceFen: 1000, ContinuousMonths: 5}},
			[]string{ReasonContinuity}, 0},
		{"loan repayment, capped at the outstanding loan", KindLoanRepayment,
			Facts{Account: normal, Loan: core.Loan{HasLoan: true, OutstandingFen: 1_234_500}}, nil, 1_234_500},
		{"loan repayment without a loan", KindLoanRepayment, Facts{Account: normal}, []string{ReasonNoLoan}, 0},
		{"retirement, man of 64: the whole balance", KindRetirement, Facts{Account: sealed, Birth: born(1962), Male: true}, nil, 3_000_000},
		{"retirement, man of 59", KindRetirement, Facts{Account: sealed, Birth: born(1967), Male: true}, []string{ReasonNotRetired}, 0},
		{"retirement, woman of 56", KindRetirement, Facts{Account: sealed, Birth: born(1970)}, nil, 3_000_000},
		{"retirement, unknown age", KindRetirement, Facts{Account: sealed}, []string{ReasonNotRetired}, 0},
		{"leaving the city, sealed", KindLeavingCity, Facts{Account: sealed}, nil, 3_000_000},
		{"leaving the city, still employed", KindLeavingCity, Facts{Account: normal}, []string{ReasonAccountStatus}, 0},
		{"closing with another application running", KindClosing, Facts{Account: sealed, Open: []Open{{Kind: KindCriticalIllness, AmountFen: 1, At: now}}},
			[]string{ReasonOtherInFlight}, 0},
		{"critical illness, frozen", KindCriticalIllness, Facts{Account: core.Account{Status: "06", BalanceFen: 9_000_000}},
			[]string{ReasonAccountStatus}, 0},
		{"critical illness, the year cap", KindCriticalIllness, Facts{Account: core.Account{Status: "01", BalanceFen: 90_000_000}}, nil, 20_000_000},
		{"empty account", KindCriticalIllness, Facts{Account: core.Account{Status: "01", BalanceFen: 50}}, []string{ReasonInsufficientBalance}, 0},
		{"over the platform's transaction limit: closing takes all", KindLeavingCity,
			Facts{Account: core.Account{Status: "02", BalanceFen: 60_000_000}}, []string{ReasonOverPlatformLimit}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Now = now
			pol, ok := ps.Policy(tt.kind)
			if !ok {
				t.Fatalf("no policy %s", tt.kind)
			}
			got := ps.Evaluate(pol, tt.f)
			var codes []string
			for _, r := range got.Reasons {
				codes = append(codes, r.Code)
			}
			if !slices.Equal(codes, tt.want) {
				t.Errorf("reasons %v, want %v", codes, tt.want)
			}
			if got.Eligible != (len(tt.want) == 0) || got.MaxAmountFen != tt.wantMax {
				t.Errorf("eligible %v max %d, want %v %d", got.Eligible, got.MaxAmountFen, len(tt.want) == 0, tt.wantMax)
			}
		})
	}
}

// TestReservationLastsUntilTheLedgerShowsThePayment: an application in
// flight, or paid but not in the ledger yet, holds its amount; once the
// ledger shows it (by id, or an entry naming no application of its kind
// and amount), the ledger's lower balance alone counts.
func TestReservationLastsUntilTheLedgerShowsThePayment(t *testing.T) {
	ps := DefaultPolicies()
	pol, _ := ps.Policy(KindPurchase)
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, services.CentreTime)
	acc := core.Account{Status: "01", BalanceFen: 5_000_000, ContinuousMonths: 24}
	paid := Open{ID: "wd_a", Kind: KindRent, AmountFen: 300_000, At: now.Add(-time.Hour)}
	entry := core.Deposit{Kind: core.KindWithdrawal, WithdrawalKind: "07", PostedOn: "2026-11-24", AmountFen: -300_000, BalanceAfterFen: 4_700_000}
	before := Ledger{Known: true, BalanceFen: 5_000_000, Paid: map[string]bool{}}
	named := entry
	named.ApplicationID = "wd_a"
	other := entry
	other.WithdrawalKind = "09"
	after := Ledger{Known: true, BalanceFen: 4_700_000, Paid: map[string]bool{"wd_a": true}}
	afterUnnamed := Ledger{Known: true, BalanceFen: 4_700_000, Paid: map[string]bool{}}
	tests := []struct {
		name string
		f    Facts
		want int64
	}{
		{"nothing held", Facts{Account: acc, Ledger: before}, 5_000_000},
		{"in flight", Facts{Account: acc, Ledger: before, Open: []Open{{ID: "wd_a", Kind: KindRent, AmountFen: 300_000, At: now}}}, 4_700_000},
		{"paid, not in the ledger yet", Facts{Account: acc, Ledger: before, Paid: []Open{paid}}, 4_700_000},
		{"paid and named in the ledger", Facts{Account: acc, Ledger: after, Withdrawals: []core.Deposit{named}, Paid: []Open{paid}}, 4_700_000},
		{"paid, an unnamed entry of its kind and amount", Facts{Account: acc, Ledger: afterUnnamed, Withdrawals: []core.Deposit{entry}, Paid: []Open{paid}}, 4_700_000},
		{"paid, an unnamed entry of another kind", Facts{Account: acc, Ledger: afterUnnamed, Withdrawals: []core.Deposit{other}, Paid: []Open{paid}}, 4_400_000},
		{"approved here, already paid and named", Facts{Account: acc, Ledger: after, Withdrawals: []core.Deposit{named},
			Open: []Open{{ID: "wd_a", Kind: KindRent, AmountFen: 300_000, At: now}}}, 4_700_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Now = now
			if got := ps.Evaluate(pol, tt.f); got.MaxAmountFen != tt.want {
				t.Errorf("max %d, want %d (%+v)", got.MaxAmountFen, tt.want, got.Reasons)
			}
		})
	}
}

func TestDueOnSkipsWeekendsAndHolidays(t *testing.T) {
	ps := DefaultPolicies()
	ps.Holidays = []string{"2026-11-30"}
	s := &Service{Deps: Deps{Policies: ps}, holidays: map[string]bool{"2026-11-30": true}}
	tests := []struct{ at, want string }{
		{"2026-11-24T10:00:00+08:00", "2026-11-27"}, // Tuesday → Friday
		{"2026-11-26T23:30:00+08:00", "2026-12-02"}, // Thursday → Fri, (weekend), (holiday Mon), Tue, Wed
		{"2026-11-28T09:00:00+08:00", "2026-12-03"}, // Saturday → Tue, Wed, Thu
		{"2026-11-26T16:30:00Z", "2026-12-03"},      // 00:30 Friday in Shanghai → (holiday Mon), Tue, Wed, Thu
	}
	for _, tt := range tests {
		at, _ := time.Parse(time.RFC3339, tt.at)
		if got := s.dueOn(at, KindRent); got != tt.want {
			t.Errorf("dueOn(%s) = %s, want %s", tt.at, got, tt.want)
		}
	}
}

// promises is a catalogue that promises rent in one working day.
type promises map[string]int

func (p promises) PromisedWorkingDays(kind string) (int, bool) { n, ok := p[kind]; return n, ok }

// The promised time limit of the kind's catalogue entry sets the due date;
// a kind the catalogue does not list keeps the statutory time.
func TestDueOnTakesThePromisedTimeLimit(t *testing.T) {
	s := &Service{Deps: Deps{Policies: DefaultPolicies(), TimeLimits: promises{KindRent: 1}}, holidays: map[string]bool{}}
	at, _ := time.Parse(time.RFC3339, "2026-11-26T10:00:00+08:00") // Thursday
	if got := s.dueOn(at, KindRent); got != "2026-11-27" {
		t.Errorf("rent due %s, want 2026-11-27 (one working day)", got)
	}
	if got := s.dueOn(at, KindPurchase); got != "2026-12-01" {
		t.Errorf("purchase due %s, want 2026-12-01 (three working days)", got)
	}
}

func TestPoliciesValidate(t *testing.T) {
	if err := DefaultPolicies().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := []struct {
		name string
		edit func(*Policies)
	}{
		{"no kinds", func(p *Policies) { p.Kinds = nil }},
		{"kind twice", func(p *Policies) { p.Kinds = append(p.Kinds, p.Kinds[0]) }},
		{"core kind", func(p *Policies) { p.Kinds[0].CoreKind = "7" }},
		{"no statuses", func(p *Policies) { p.Kinds[0].Statuses = nil }},
		{"negative cap", func(p *Policies) { p.Kinds[0].CapPerYearFen = -1 }},
		{"closing with a cap", func(p *Policies) { p.Kinds[3].CapPerApplicationFen = 1 }},
		{"min 0", func(p *Policies) { p.MinPerTransactionFen = 0 }},
		{"max below min", func(p *Policies) { p.MaxPerTransactionFen = 10 }},
		{"holiday", func(p *Policies) { p.Holidays = []string{"30/11/2026"} }},
		{"notify on", func(p *Policies) { p.NotifyOn = []string{"done"} }},
		{"poll", func(p *Policies) { p.PollInterval = 0 }},
	}
	for _, tt := range bad {
		p := DefaultPolicies()
		tt.edit(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}
