package coresim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"handheld/services/core"
	"handheld/services/loan"
)

func (h *harness) position(personID string) core.LoanPosition {
	h.t.Helper()
	var pos core.LoanPosition
	h.get(path(core.PathLoanPosition, personID), &pos)
	return pos
}

func (h *harness) prepay(pp core.Prepayment) (int, core.PrepaymentStatus) {
	h.t.Helper()
	resp, b := h.request(http.MethodPut, strings.Replace(core.PathPrepayment, "{prepayment_id}", pp.PrepaymentID, 1), pp, signing{})
	var st core.PrepaymentStatus
	if resp.StatusCode < 300 {
		if err := json.Unmarshal(b, &st); err != nil {
			h.t.Fatal(err)
		}
	}
	return resp.StatusCode, st
}

// The seeded personas cover each case: on time, in arrears, settled, an
// application in progress.
func TestLoanPersonasCoverEachCase(t *testing.T) {
	h := newHarness(t)
	zhang := h.position(h.personID("张伟"))
	if !zhang.HasLoan || zhang.Settled || zhang.OverduePeriods != 0 || zhang.Paid != 26 || zhang.OwedFen <= 0 || zhang.NextDueOn == "" {
		t.Fatalf("张伟 %+v", zhang)
	}
	zhou := h.position(h.personID("周强"))
	if zhou.OverduePeriods != 2 || zhou.ArrearsFen <= 0 || zhou.PenaltyFen <= 0 || zhou.Method != "linear" {
		t.Fatalf("周强 %+v", zhou)
	}
	zhao := h.position(h.personID("赵建国"))
	if !zhao.HasLoan || !zhao.Settled || zhao.OwedFen != 0 {
		t.Fatalf("赵建国 %+v", zhao)
	}
	var apps core.LoanApplicationList
	h.get(path(core.PathLoanApplications, h.personID("欧阳晓峰")), &apps)
	if len(apps.Items) != 1 || apps.Items[0].Status != core.LoanAppReviewing {
		t.Fatalf("欧阳晓峰 %+v", apps)
	}
	if none := h.position(h.personID("李娜")); none.HasLoan {
		t.Fatalf("李娜 %+v", none)
	}
	// The penalty is 万分之五 a day on each overdue instalment.
	var sched core.SchedulePage
	h.get(path(core.PathLoanSchedule, h.personID("周强"))+"?limit=100", &sched)
	var want int64
	for _, in := range sched.Items {
		if in.Status == "overdue" {
			want += penalty(in.PaymentFen, 5, in.DueOn, testNow)
		}
	}
	if want != zhou.PenaltyFen {
		t.Fatalf("penalty %d, want %d", zhou.PenaltyFen, want)
	}
}

// An early repayment applies exactly what services/loan quotes, and the
// schedule shrinks from the next period.
func TestPrepaymentAppliesTheQuote(t *testing.T) {
	h := newHarness(t)
	id := h.personID("张伟")
	before := h.position(id)
	accounts := h.persona("张伟").PayoutAccounts
	q, err := loan.Prepay(loan.Position{Terms: loan.Terms{PrincipalFen: before.PrincipalFen, Months: before.Months,
		AnnualRateBP: before.AnnualRateBP, Method: loan.Method(before.Method)}, Paid: before.Paid}, 10_000_000, loan.ShortenTerm)
	if err != nil {
		t.Fatal(err)
	}
	pp := core.Prepayment{PrepaymentID: "pp-1", PersonID: id, AmountFen: 10_000_000, Mode: core.ModeShortenTerm, SourceAccountID: accounts[0].ID}
	code, st := h.prepay(pp)
	if code != http.StatusCreated || st.Status != core.PrepaymentApplied || st.InterestSavedFen != q.InterestSavedFen ||
		st.MonthsAfter != q.MonthsAfter || st.PaymentAfterFen != q.PaymentAfterFen {
		t.Fatalf("%d %+v, quote %+v", code, st, q)
	}
	after := h.position(id)
	if after.OwedFen != before.OwedFen-10_000_000 || after.Months != q.MonthsAfter || after.FirstPeriod != 27 || after.Paid != 0 ||
		after.LastPrepaidOn != "2026-11-24" {
		t.Fatalf("after %+v", after)
	}
	var sched core.SchedulePage
	h.get(path(core.PathLoanSchedule, id)+"?limit=100&cursor="+encodeCursor(cursorSchedule, "26"), &sched)
	if sched.Items[0].Period != 27 || sched.Items[0].PaymentFen != q.After.Rows[0].PaymentFen {
		t.Fatalf("next instalment %+v, want %+v", sched.Items[0], q.After.Rows[0])
	}
	// The same again answers the same; other content under the id is 409.
	if code, again := h.prepay(pp); code != http.StatusOK || again != st {
		t.Fatalf("repeat %d %+v", code, again)
	}
	other := pp
	other.AmountFen++
	if code, _ := h.prepay(other); code != http.StatusConflict {
		t.Fatalf("other content %d", code)
	}
	// Too soon after the last one (once in 12 months).
	if _, st := h.prepay(core.Prepayment{PrepaymentID: "pp-2", PersonID: id, AmountFen: 10_000_000, Mode: core.ModeReduceInstalment,
		SourceAccountID: accounts[0].ID}); st.Reason != core.ReasonTooSoon {
		t.Fatalf("second %+v", st)
	}
	// The history shows it.
	var hist core.RepaymentPage
	h.get(path(core.PathLoanRepayments, id)+"?limit=2", &hist)
	if hist.Items[0].Kind != core.RepaymentPrepayment || hist.Items[0].AmountFen != 10_000_000 || hist.NextCursor == "" {
		t.Fatalf("history %+v", hist)
	}
}

func TestPrepaymentRules(t *testing.T) {
	h := newHarness(t)
	zhang, zhou, li := h.personID("张伟"), h.personID("周强"), h.personID("李娜")
	own := h.persona("张伟").PayoutAccounts[0].ID
	others := h.persona("李娜").PayoutAccounts[0].ID
	owed := h.position(zhang).OwedFen
	for name, tc := range map[string]struct {
		pp   core.Prepayment
		want string
	}{
		"below minimum":     {core.Prepayment{PersonID: zhang, AmountFen: 999_999, Mode: core.ModeShortenTerm, SourceAccountID: own}, core.ReasonBelowMinimum},
		"above owed":        {core.Prepayment{PersonID: zhang, AmountFen: owed + 1, Mode: core.ModeShortenTerm, SourceAccountID: own}, core.ReasonAboveOwed},
		"another's account": {core.Prepayment{PersonID: zhang, AmountFen: 1_000_000, Mode: core.ModeShortenTerm, SourceAccountID: others}, core.ReasonSourceRefused},
		"more than the HPF": {core.Prepayment{PersonID: zhang, AmountFen: owed, Mode: core.ModeShortenTerm, FromHPF: true}, core.ReasonSourceRefused},
		"no loan":           {core.Prepayment{PersonID: li, AmountFen: 1_000_000, Mode: core.ModeShortenTerm, SourceAccountID: others}, core.ReasonNoLoan},
		"in arrears":        {core.Prepayment{PersonID: zhou, AmountFen: 1_000_000, Mode: core.ModeShortenTerm, FromHPF: true}, core.ReasonInArrears},
	} {
		tc.pp.PrepaymentID = "pp-" + strings.ReplaceAll(name, " ", "-")
		if code, st := h.prepay(tc.pp); code != http.StatusCreated || st.Status != core.PrepaymentRejected || st.Reason != tc.want {
			t.Errorf("%s: %d %+v, want %s", name, code, st, tc.want)
		}
	}
	// After the cut-off day.
	h.clock.Set(testNow.AddDate(0, 0, 2)) // the 26th
	if _, st := h.prepay(core.Prepayment{PrepaymentID: "pp-late", PersonID: zhang, AmountFen: 1_000_000, Mode: core.ModeShortenTerm,
		SourceAccountID: own}); st.Reason != core.ReasonAfterCutoff {
		t.Fatalf("late %+v", st)
	}
	if h.position(zhang).LastPrepaidOn != "" {
		t.Fatal("a refusal changed the loan")
	}
}

func TestPrepayingEverythingSettles(t *testing.T) {
	h := newHarness(t)
	id := h.personID("张伟")
	owed := h.position(id).OwedFen
	if _, st := h.prepay(core.Prepayment{PrepaymentID: "pp-all", PersonID: id, AmountFen: owed, Mode: core.ModeShortenTerm,
		SourceAccountID: h.persona("张伟").PayoutAccounts[0].ID}); !st.Settled {
		t.Fatalf("%+v", st)
	}
	var l core.Loan
	h.get(path(core.PathLoan, id), &l)
	if pos := h.position(id); !pos.Settled || !l.Settled || l.OutstandingFen != 0 {
		t.Fatalf("%+v %+v", pos, l)
	}
}

func TestArrearsPaymentClearsThem(t *testing.T) {
	h := newHarness(t)
	id := h.personID("周强")
	before := h.position(id)
	var sched core.SchedulePage
	h.get(path(core.PathLoanSchedule, id)+"?limit=100", &sched)
	var overduePrincipal int64
	for _, in := range sched.Items {
		if in.Status == "overdue" {
			overduePrincipal += in.PrincipalFen
		}
	}
	resp, b := h.request(http.MethodPut, strings.Replace(core.PathArrearsPayment, "{payment_id}", "ap-1", 1),
		core.ArrearsPayment{PaymentID: "ap-1", PersonID: id, FromHPF: true}, signing{})
	var st core.PrepaymentStatus
	if err := json.Unmarshal(b, &st); err != nil || resp.StatusCode != http.StatusCreated || st.Status != core.PrepaymentApplied ||
		st.AmountFen != before.ArrearsFen+before.PenaltyFen {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if after := h.position(id); after.OverduePeriods != 0 || after.ArrearsFen != 0 || after.OwedFen != before.OwedFen-overduePrincipal {
		t.Fatalf("after %+v before %+v", after, before)
	}
	_, b = h.request(http.MethodPut, strings.Replace(core.PathArrearsPayment, "{payment_id}", "ap-2", 1),
		core.ArrearsPayment{PaymentID: "ap-2", PersonID: id, FromHPF: true}, signing{})
	if !strings.Contains(string(b), core.ReasonNoArrears) {
		t.Fatalf("again: %s", b)
	}
}

func TestRepaymentAccountChangesFromTheNextCycle(t *testing.T) {
	h := newHarness(t)
	id := h.personID("张伟")
	p := h.persona("张伟")
	var ra core.RepaymentAccount
	h.get(path(core.PathLoanRepaymentAccount, id), &ra)
	if ra.Account.ID != p.PayoutAccounts[0].ID || ra.Pending != nil {
		t.Fatalf("%+v", ra)
	}
	resp, b := h.request(http.MethodPut, path(core.PathLoanRepaymentAccount, id), core.RepaymentAccountChange{AccountID: p.PayoutAccounts[1].ID}, signing{})
	if err := json.Unmarshal(b, &ra); err != nil || resp.StatusCode != 200 || ra.Pending == nil || ra.Pending.ID != p.PayoutAccounts[1].ID ||
		ra.EffectiveFrom != h.position(id).NextDueOn {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	// Another person's account is not found.
	resp, b = h.request(http.MethodPut, path(core.PathLoanRepaymentAccount, id), core.RepaymentAccountChange{AccountID: h.persona("李娜").PayoutAccounts[0].ID}, signing{})
	wantError(t, resp, b, http.StatusNotFound, core.ErrNotFound)
	// On the due date the change is in force.
	h.clock.Set(testNow.AddDate(0, 1, 0))
	ra = core.RepaymentAccount{}
	h.get(path(core.PathLoanRepaymentAccount, id), &ra)
	if ra.Account.ID != p.PayoutAccounts[1].ID || ra.Pending != nil {
		t.Fatalf("a month on %+v %+v", ra, ra.Pending)
	}
	// No loan outstanding: not found.
	resp, b = h.request(http.MethodGet, path(core.PathLoanRepaymentAccount, h.personID("赵建国")), nil, signing{})
	wantError(t, resp, b, http.StatusNotFound, core.ErrNotFound)
}
