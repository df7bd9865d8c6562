package coresim

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"handheld/services/core"
)

func TestRealNameAndFaceChecks(t *testing.T) {
	h := newHarness(t)
	for _, p := range h.sim.Personas() {
		if p.Role == "employer" {
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			var got core.Person
			resp, b := h.request(http.MethodPost, core.PathPersonVerify, core.RealNameCheck{Name: p.Name, IDNumber: p.IDNumber}, signing{})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("verify: %d %s", resp.StatusCode, b)
			}
			json.Unmarshal(b, &got)
			if got.Name != p.Name || got.IDNumber != p.IDNumber || got.HasAccount != (p.Role == "depositor") || got.PersonID == "" {
				t.Errorf("verify = %+v", got)
			}
			var again core.Person
			h.get(path(core.PathPerson, got.PersonID), &again)
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("GET person differs from verify (-verify +get):\n%s", diff)
			}

			resp, b = h.request(http.MethodPost, core.PathPersonVerify, core.RealNameCheck{Name: p.Name + "某", IDNumber: p.IDNumber}, signing{})
			wantError(t, resp, b, http.StatusNotFound, core.ErrNotFound)

			faces := []struct {
				check core.FaceCheck
				want  core.FaceResult
			}{
				{core.FaceCheck{Name: p.Name, IDNumber: p.IDNumber, FaceToken: p.FaceToken}, core.FaceResult{Match: true, PersonID: got.PersonID}},
				{core.FaceCheck{Name: p.Name, IDNumber: p.IDNumber, FaceToken: "face:someone-else"}, core.FaceResult{}},
				{core.FaceCheck{Name: "李四", IDNumber: p.IDNumber, FaceToken: p.FaceToken}, core.FaceResult{}},
			}
			for _, f := range faces {
				resp, b := h.request(http.MethodPost, core.PathFaceVerify, f.check, signing{})
				var res core.FaceResult
				json.Unmarshal(b, &res)
				if resp.StatusCode != http.StatusOK || res != f.want {
					t.Errorf("face %+v: %d %+v, want %+v", f.check, resp.StatusCode, res, f.want)
				}
			}
		})
	}
	resp, b := h.request(http.MethodPost, core.PathPersonVerify, core.RealNameCheck{Name: "张伟", IDNumber: "11010519491231002X"}, signing{})
	wantError(t, resp, b, http.StatusNotFound, core.ErrNotFound)
	resp, b = h.request(http.MethodGet, path(core.PathPerson, "P9999"), nil, signing{})
	wantError(t, resp, b, http.StatusNotFound, core.ErrNotFound)
	resp, b = h.request(http.MethodPost, core.PathPersonVerify, []byte(`{"name":"张伟","id_number":"x","extra":1}`), signing{})
	wantError(t, resp, b, http.StatusBadRequest, core.ErrBadRequest)
}

func TestAccountsMatchTheSeed(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name                 string
		status               string
		lastMonth            string
		continuous           int
		monthlyEach          int64
		unit                 string
		wantNoAccountAnswers bool
	}{
		{"张伟", core.StatusNormal, "2026-10", 60, 300000, "杭州明湖软件科技有限公司", false},
		{"李娜", core.StatusNormal, "2026-10", 48, 216000, "杭州明湖软件科技有限公司", false},
		{"欧阳晓峰", core.StatusNormal, "2026-10", 40, 180000, "杭州明湖软件科技有限公司", false},
		{"王芳", core.StatusSealed, "2026-03", 50, 144000, "杭州明湖软件科技有限公司", false},
		{"吴敏", core.StatusNormal, "2026-10", 2, 108000, "杭州明湖软件科技有限公司", false},
		{"刘洋", core.StatusFrozen, "2026-10", 44, 160000, "浙江钱塘建设工程有限公司", false},
		{"孙丽", core.StatusNormal, "2026-10", 38, 80000, "浙江钱塘建设工程有限公司", false},
		{"周强", core.StatusNormal, "2026-10", 4, 104000, "浙江钱塘建设工程有限公司", false},
		{"赵建国", core.StatusSealed, "2022-05", 36, 128000, "浙江钱塘建设工程有限公司", false},
		{"陈静", "", "", 0, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := h.personID(tt.name)
			if tt.wantNoAccountAnswers {
				for _, p := range []string{core.PathAccount, core.PathDeposits, core.PathCertificateFacts} {
					resp, b := h.request(http.MethodGet, path(p, id), nil, signing{})
					wantError(t, resp, b, http.StatusNotFound, core.ErrNoAccount)
				}
				return
			}
			var a core.Account
			h.get(path(core.PathAccount, id), &a)
			got := []any{a.Status, a.LastDepositMonth, a.ContinuousMonths, a.MonthlyPersonal, a.MonthlyUnit, a.UnitName}
			want := []any{tt.status, tt.lastMonth, tt.continuous, tt.monthlyEach, tt.monthlyEach, tt.unit}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("account (-want +got):\n%s", diff)
			}
			if a.BalanceFen <= 0 || a.AccountNumber == "" || a.OpenedOn == "" {
				t.Errorf("account = %+v", a)
			}
			if tt.lastMonth >= "2026-01" && a.CurrentYearFen == 0 || tt.lastMonth < "2026-01" && a.CurrentYearFen != 0 {
				t.Errorf("current year deposits %d with last deposit month %s", a.CurrentYearFen, tt.lastMonth)
			}
			entries := allDeposits(t, h, id, "")
			checkLedger(t, entries, a)
		})
	}
	for _, p := range []string{core.PathAccount, core.PathDeposits, core.PathCertificateFacts} {
		resp, b := h.request(http.MethodGet, path(p, "P9999"), nil, signing{})
		wantError(t, resp, b, http.StatusNotFound, core.ErrNotFound)
	}
}

// allDeposits follows next_cursor to the end; entries newest first.
func allDeposits(t *testing.T, h *harness, personID, query string) []core.Deposit {
	t.Helper()
	var out []core.Deposit
	cursor := ""
	for range 100 {
		q := "?limit=7" + query
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		var page core.DepositPage
		h.get(path(core.PathDeposits, personID)+q, &page)
		out = append(out, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			return out
		}
		if len(page.Items) != 7 {
			t.Fatalf("a page before the last has %d items", len(page.Items))
		}
	}
	t.Fatal("paging does not end")
	return nil
}

// checkLedger proves the history adds up: running balances, the account
// balance, the carry-over, and interest on every 30 June.
func checkLedger(t *testing.T, newestFirst []core.Deposit, a core.Account) {
	t.Helper()
	if len(newestFirst) == 0 {
		t.Fatal("no deposits")
	}
	var balance, carry int64
	junes := map[string]bool{}
	for i := len(newestFirst) - 1; i >= 0; i-- {
		d := newestFirst[i]
		balance += d.AmountFen
		if d.BalanceAfterFen != balance {
			t.Fatalf("entry %s: balance_after %d, running total %d", d.ID, d.BalanceAfterFen, balance)
		}
		if d.PostedOn < "2026-01-01" {
			carry = balance
		}
		switch d.Kind {
		case core.KindInterest:
			if d.PostedOn[5:] != "06-30" || d.AmountFen <= 0 {
				t.Errorf("interest entry %+v", d)
			}
			junes[d.Month] = true
		case core.KindRemittance:
			if d.AmountFen != a.MonthlyPersonal+a.MonthlyUnit {
				t.Errorf("remittance %+v, want %d", d, a.MonthlyPersonal+a.MonthlyUnit)
			}
		}
		if i > 0 && newestFirst[i-1].PostedOn < d.PostedOn {
			t.Errorf("not newest first at %s", d.ID)
		}
	}
	if balance != a.BalanceFen || carry != a.CarryOverFen {
		t.Errorf("ledger ends at %d (carry %d), account says %d (carry %d)", balance, carry, a.BalanceFen, a.CarryOverFen)
	}
	first := newestFirst[len(newestFirst)-1].Month
	for y := first[:4]; y <= "2026"; y = formatYear(y) {
		if june := y + "-06"; june >= first && !junes[june] {
			t.Errorf("no interest for %s", june)
		}
	}
}

func formatYear(y string) string {
	b := []byte(y)
	for i := 3; i >= 0; i-- {
		if b[i]++; b[i] <= '9' {
			break
		}
		b[i] = '0'
	}
	return string(b)
}

func TestDepositPagingAndFilters(t *testing.T) {
	h := newHarness(t)
	id := h.personID("张伟")
	var one core.DepositPage
	h.get(path(core.PathDeposits, id)+"?limit=100", &one)
	if one.NextCursor != "" || len(one.Items) != 65 { // 60 remittances and 5 interest entries
		t.Fatalf("one page of 100: %d items, cursor %q", len(one.Items), one.NextCursor)
	}
	if diff := cmp.Diff(one.Items, allDeposits(t, h, id, "")); diff != "" {
		t.Errorf("pages of 7 differ from one page (-one +pages):\n%s", diff)
	}
	var def core.DepositPage
	h.get(path(core.PathDeposits, id), &def)
	if len(def.Items) != 20 || def.NextCursor == "" {
		t.Errorf("default page: %d items, cursor %q; want 20 and a cursor", len(def.Items), def.NextCursor)
	}

	filtered := allDeposits(t, h, id, "&from=2025-06&to=2026-01")
	var months []string
	for _, d := range filtered {
		months = append(months, d.Month+" "+d.Kind)
	}
	want := []string{"2026-01 remittance", "2025-12 remittance", "2025-11 remittance", "2025-10 remittance", "2025-09 remittance",
		"2025-08 remittance", "2025-07 remittance", "2025-06 interest", "2025-06 remittance"}
	if diff := cmp.Diff(want, months); diff != "" {
		t.Errorf("from 2025-06 to 2026-01 (-want +got):\n%s", diff)
	}

	var staffPage core.StaffPage
	h.get(path(core.PathStaff, h.persona("张伟").UnitCode)+"?limit=1", &staffPage)
	bad := []string{"?limit=0", "?limit=ten", "?from=2025-13", "?to=2025/01", "?from=2026-01&to=2025-01",
		"?cursor=not-a-cursor", "?cursor=" + staffPage.NextCursor}
	for _, q := range bad {
		resp, b := h.request(http.MethodGet, path(core.PathDeposits, id)+q, nil, signing{})
		wantError(t, resp, b, http.StatusBadRequest, core.ErrBadRequest)
	}
}

func TestLoanAndSchedule(t *testing.T) {
	h := newHarness(t)
	id := h.personID("张伟")
	var loan core.Loan
	h.get(path(core.PathLoan, id), &loan)
	want := core.Loan{HasLoan: true, LoanNumber: "DK33012024090001", PrincipalFen: 80_000_000, AnnualRateBP: 285, Months: 360,
		Method: "annuity", StartedOn: "2024-09-20", NextDueOn: "2026-12-20", NextPaymentFen: 330846}
	got := loan
	got.OutstandingFen = 0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("loan (-want +got):\n%s", diff)
	}

	var all []core.Instalment
	pages := 1
	for cursor := ""; ; pages++ {
		var page core.SchedulePage
		q := "?limit=100"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		h.get(path(core.PathLoanSchedule, id)+q, &page)
		all = append(all, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(all) != 360 || pages != 4 {
		t.Fatalf("schedule: %d instalments in %d pages, want 360 in 4", len(all), pages)
	}
	var principal int64
	paid := 0
	for i, in := range all {
		principal += in.PrincipalFen
		if in.Period != i+1 || in.PaymentFen != in.PrincipalFen+in.InterestFen {
			t.Fatalf("instalment %+v", in)
		}
		if in.Status == "paid" {
			paid++
		}
		if i < 359 && in.PaymentFen != 330846 {
			t.Errorf("annuity instalment %d pays %d, want 330846", in.Period, in.PaymentFen)
		}
	}
	if principal != 80_000_000 || all[359].RemainingFen != 0 {
		t.Errorf("principal repaid %d, last remaining %d", principal, all[359].RemainingFen)
	}
	if paid != 26 || loan.OutstandingFen != all[25].RemainingFen {
		t.Errorf("%d paid, outstanding %d; want 26 paid and %d", paid, loan.OutstandingFen, all[25].RemainingFen)
	}

	var capped core.SchedulePage
	h.get(path(core.PathLoanSchedule, id)+"?limit=500", &capped)
	if len(capped.Items) != 100 || capped.NextCursor == "" {
		t.Errorf("limit=500 gave %d items; want the maximum, 100, and a cursor", len(capped.Items))
	}

	lina := h.personID("李娜")
	var none core.Loan
	h.get(path(core.PathLoan, lina), &none)
	var empty core.SchedulePage
	h.get(path(core.PathLoanSchedule, lina), &empty)
	if none.HasLoan || len(empty.Items) != 0 || empty.Items == nil {
		t.Errorf("no loan: %+v, schedule %+v", none, empty)
	}
	resp, b := h.request(http.MethodGet, path(core.PathLoan, "P9999"), nil, signing{})
	wantError(t, resp, b, http.StatusNotFound, core.ErrNotFound)
}

func TestCertificateFactsAndHealth(t *testing.T) {
	h := newHarness(t)
	id := h.personID("张伟")
	var f core.CertificateFacts
	h.get(path(core.PathCertificateFacts, id), &f)
	var a core.Account
	h.get(path(core.PathAccount, id), &a)
	if f.Person.Name != "张伟" || f.Account != a || !f.Loan.HasLoan || !f.AsOf.Equal(testNow) {
		t.Errorf("facts: %+v", f)
	}
	if len(f.Deposits) != 24 || f.Deposits[0].Month != "2026-10" || f.Deposits[23].Month != "2024-11" {
		t.Errorf("facts hold %d deposits from %s", len(f.Deposits), f.Deposits[0].Month)
	}
	var health map[string]string
	h.get(core.PathHealth, &health)
	if health["status"] != "ok" {
		t.Errorf("health %v", health)
	}
	resp, b := h.request(http.MethodGet, "/core/v1/nothing-here", nil, signing{})
	wantError(t, resp, b, http.StatusNotFound, core.ErrNotFound)
}
