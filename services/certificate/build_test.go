package certificate

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services/core"
)

func TestMonthRows(t *testing.T) {
	dep := func(month, kind string, fen int64) core.Deposit {
		return core.Deposit{Month: month, Kind: kind, AmountFen: fen}
	}
	monthly := func(last string, n int) []core.Deposit {
		m, _ := parseMonth(last)
		var out []core.Deposit
		for i := range n {
			out = append(out, dep((m-month(i)).String(), core.KindRemittance, 100))
		}
		return out
	}
	months := func(first, last string) []string {
		a, _ := parseMonth(first)
		b, _ := parseMonth(last)
		var out []string
		for m := b; m >= a; m-- {
			out = append(out, m.String())
		}
		return out
	}
	cases := []struct {
		name     string
		deposits []core.Deposit
		opened   string
		at       time.Time
		rows     []string // months, newest first
		gaps     []string
		amounts  map[string]int64 // checked where given
	}{
		{name: "a full year up to last month", deposits: monthly("2026-02", 24), opened: "2020-01-01", at: start,
			rows: months("2025-03", "2026-02"), gaps: []string{}},
		{name: "this month's remittance already in", deposits: monthly("2026-03", 24), opened: "2020-01-01", at: start,
			rows: months("2025-04", "2026-03"), gaps: []string{}},
		{name: "the month is Shanghai's, not UTC's", deposits: monthly("2026-03", 3), opened: "2026-01-05",
			at: time.Date(2026, 2, 28, 17, 0, 0, 0, time.UTC), rows: months("2026-01", "2026-03"), gaps: []string{}},
		{name: "sealed: nothing for seven months", deposits: monthly("2025-07", 17), opened: "2020-01-01", at: start,
			rows: months("2025-03", "2026-02"), gaps: months("2025-08", "2026-02")},
		{name: "new account: no gaps before it opened", deposits: monthly("2026-02", 2), opened: "2026-01-10", at: start,
			rows: months("2026-01", "2026-02"), gaps: []string{}},
		{name: "opened this month, nothing yet", opened: "2026-03-02", at: start, rows: []string{}, gaps: []string{}},
		{name: "back-payment fills a gap; withdrawals and interest are not deposits",
			deposits: []core.Deposit{
				dep("2026-02", core.KindRemittance, 100), dep("2026-02", core.KindBackPayment, 50),
				dep("2026-01", core.KindBackPayment, 100), dep("2025-12", core.KindWithdrawal, -500),
				dep("2025-12", core.KindInterest, 30),
			},
			opened: "2025-12-01", at: start, rows: months("2025-12", "2026-02"), gaps: []string{"2025-12"},
			amounts: map[string]int64{"2026-02": 150, "2026-01": 100, "2025-12": 0}},
		{name: "no opening date: the whole window", deposits: monthly("2026-02", 1), at: start,
			rows: months("2025-03", "2026-02"), gaps: months("2025-03", "2026-01")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, gaps := monthRows(tc.deposits, tc.opened, tc.at)
			got := []string{}
			for _, r := range rows {
				got = append(got, r.Month)
				if want, ok := tc.amounts[r.Month]; ok && r.AmountFen != want {
					t.Errorf("%s: %d fen, want %d", r.Month, r.AmountFen, want)
				}
			}
			if tc.rows == nil {
				tc.rows = []string{}
			}
			if diff := cmp.Diff(tc.rows, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.gaps, gaps); diff != "" {
				t.Errorf("gaps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDocumentFromFacts(t *testing.T) {
	s := &Service{Deps: Deps{CentreName: "示范中心", PublicBaseURL: "https://hpf.example.cn"}}
	f := demoFacts()["p_zhang"]
	d := s.document(f, TypeDepositUse, "购房贷款", "330100-2026-000001", "7KQ2-M9XD-4T8W-J3HR", start, start.Add(DefaultValidity))
	if d.IDNumber != "33010619850312413X" || d.HolderName != "张伟" || d.StatusCode != "01" || d.Continuous != 60 {
		t.Errorf("holder and status: %+v", d)
	}
	if len(d.Months) != MonthsShown || d.Months[0].Month != "2026-02" || d.Months[0].AmountFen != 600_000 || len(d.Gaps) != 0 {
		t.Errorf("months %+v gaps %v", d.Months, d.Gaps)
	}
	if !d.Loan.HasLoan || d.Loan.OutstandingFen != 76_000_000 || d.VerifyURL != "https://hpf.example.cn/verify/7KQ2-M9XD-4T8W-J3HR" {
		t.Errorf("loan %+v, verify URL %s", d.Loan, d.VerifyURL)
	}
	if got := summary(d); got != (FactsSummary{Status: "01", BalanceFen: 12_345_600, ContinuousMonths: 60, HasLoan: true}) {
		t.Errorf("summary %+v", got)
	}
}
