package e2e

import (
	"testing"
	"time"

	"handheld/bff/depositor"
	"handheld/services"
	"handheld/services/core"
	"handheld/services/coresim"
	"handheld/services/identity"
)

// loanSchedule counts the rows of the caller's repayment plan, page by page.
func (e *env) loanSchedule(tok string) (rows int, last core.Instalment) {
	e.t.Helper()
	cursor := ""
	for {
		r := e.meGet("/api/v1/me/loan/schedule?limit=100&cursor="+cursor, tok)
		if r.StatusCode != 200 {
			e.t.Fatalf("schedule %d %s", r.StatusCode, r.body)
		}
		var page struct {
			Items []struct {
				Period     int    `json:"period"`
				DueOn      string `json:"due_on"`
				PaymentFen int64  `json:"payment_fen"`
				Status     string `json:"status"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		r.json(e.t, &page)
		rows += len(page.Items)
		if n := len(page.Items); n > 0 {
			it := page.Items[n-1]
			last = core.Instalment{Period: it.Period, DueOn: it.DueOn, PaymentFen: it.PaymentFen, Status: it.Status}
		}
		if page.NextCursor == "" {
			return rows, last
		}
		cursor = page.NextCursor
	}
}

// On the embedded default the loan-holding persona quotes and makes a
// partial early repayment, watches it applied and the schedule shrink, and
// changes the repayment account; bad input and other people's ids are
// 4xx with nothing written.
func TestLoanHolderPrepaysAndChangesTheAccount(t *testing.T) {
	t.Parallel()
	// A face check counts for 5 s here, so that the test can wait one out.
	e := start(t, withAssurance(func(a *identity.Assurance) {
		a.Services[identity.ServiceWithdrawal] = identity.Requirement{ACR: services.ACRFace, MaxAge: 5 * time.Second}
	}))
	// The demo policy's cut-off is the 25th: the test runs on any day.
	policy := coresim.DefaultLoanPolicy()
	policy.PrepayCutoffDay = 31
	e.sim.SetLoanPolicy(policy)

	zhang := e.persona("depositor", "张伟")
	lina := e.persona("depositor", "李娜")
	tok := e.bindWeChat("o-loan-zhang", zhang).AccessToken
	linaTok := e.bindWeChat("o-loan-lina", lina).AccessToken

	rowsBefore, _ := e.loanSchedule(tok)
	// The periods paid so far (26 or 25, with the day of the month).
	var loanNow struct {
		OutstandingFen int64 `json:"outstanding_fen"`
	}
	e.meGet("/api/v1/me/loan", tok).json(t, &loanNow)
	// The quote: exact figures, the new schedule's first rows.
	r := e.meGet("/api/v1/me/loan/prepayment/quote?amount_fen=10000000&mode=shorten_term", tok)
	var q depositor.QuoteBody
	r.json(t, &q)
	if r.StatusCode != 200 || q.MonthsAfter >= q.MonthsBefore || q.InterestSavedFen <= 0 || len(q.Rows) != 12 ||
		q.OwedAfterFen != q.OwedBeforeFen-10_000_000 || q.OwedBeforeFen != loanNow.OutstandingFen || q.PaymentAfterFen > q.PaymentBeforeFen ||
		q.Rows[0].Period+q.MonthsBefore != 361 {
		t.Fatalf("quote %d %s", r.StatusCode, r.body)
	}
	// Bad input, refused before anything is written.
	wantProblem(t, e.bad().meGet("/api/v1/me/loan/prepayment/quote?amount_fen=0&mode=shorten_term", tok), 400, "request.invalid")
	wantProblem(t, e.bad().meGet("/api/v1/me/loan/prepayment/quote?amount_fen=100&mode=both", tok), 400, "request.invalid")
	wantProblem(t, e.meGet("/api/v1/me/loan/prepayment/quote?amount_fen=999999&mode=shorten_term", tok), 422, "loan.prepayment_below_minimum")
	wantProblem(t, e.meGet("/api/v1/me/loan/prepayment/quote?amount_fen=999999999&mode=shorten_term", tok), 422, "loan.prepayment_above_owed")
	wantProblem(t, e.meGet("/api/v1/me/loan/prepayment/quote?amount_fen=1000000&mode=shorten_term", linaTok), 422, "loan.none")

	body := map[string]any{"amount_fen": 10_000_000, "mode": "shorten_term", "source": map[string]any{"account_id": zhang.PayoutAccounts[0].ID}}
	// Money moves only after a recent face check: the binding's is old.
	time.Sleep(5100 * time.Millisecond)
	wantProblem(t, e.do("POST", "/api/v1/me/loan/prepayments", body, withKey(tok, "pp-1")), 403, "auth.step_up_required")
	tok = e.stepUp(tok)
	another := map[string]any{"amount_fen": 10_000_000, "mode": "shorten_term", "source": map[string]any{"account_id": lina.PayoutAccounts[0].ID}}
	wantProblem(t, e.do("POST", "/api/v1/me/loan/prepayments", another, withKey(tok, "pp-x")), 422, "loan.account_not_owned")
	wantProblem(t, e.bad().do("POST", "/api/v1/me/loan/prepayments", map[string]any{"amount_fen": "many"}, withKey(tok, "pp-y")), 400, "request.invalid")

	r = e.do("POST", "/api/v1/me/loan/prepayments", body, withKey(tok, "pp-1"))
	var accepted depositor.LoanPaymentBody
	r.json(t, &accepted)
	if r.StatusCode != 202 || accepted.Status != "accepted" || accepted.CaseNumber == "" || accepted.DueOn == "" {
		t.Fatalf("prepay %d %s", r.StatusCode, r.body)
	}
	if again := e.do("POST", "/api/v1/me/loan/prepayments", body, withKey(tok, "pp-1")); again.StatusCode != 202 || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %d %s", again.StatusCode, again.body)
	}
	// Another person cannot follow it.
	wantProblem(t, e.meGet("/api/v1/me/loan/prepayments/"+accepted.ID, linaTok), 404, "not_found")

	// Applied by the core through the outbox.
	var got depositor.LoanPaymentBody
	deadline := time.Now().Add(30 * time.Second)
	for {
		r = e.meGet("/api/v1/me/loan/prepayments/"+accepted.ID, tok)
		r.json(t, &got)
		if got.Status != "accepted" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got.Status != "applied" || got.InterestSavedFen != q.InterestSavedFen || got.MonthsAfter != q.MonthsAfter || len(got.Events) != 2 {
		t.Fatalf("payment %s, quote saved %d", r.body, q.InterestSavedFen)
	}
	// The schedule shrinks: the periods paid, then the new months. The
	// loan screens read through the core reader's cache, so they follow
	// within its fresh_for (30 s).
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		var now struct {
			OutstandingFen int64 `json:"outstanding_fen"`
		}
		if r := e.meGet("/api/v1/me/loan", tok); r.StatusCode == 200 {
			r.json(t, &now)
		}
		if now.OutstandingFen == q.OwedAfterFen {
			break
		}
		time.Sleep(2 * time.Second)
	}
	rowsAfter, last := e.loanSchedule(tok)
	if rowsAfter != q.Rows[0].Period-1+q.MonthsAfter || rowsAfter >= rowsBefore || last.PaymentFen == 0 {
		t.Fatalf("schedule %d rows → %d, quote %d months", rowsBefore, rowsAfter, q.MonthsAfter)
	}
	// The history shows it first; the case list has it, rateable.
	r = e.meGet("/api/v1/me/loan/repayments?limit=5", tok)
	var hist depositor.RepaymentListBody
	r.json(t, &hist)
	if r.StatusCode != 200 || len(hist.Items) != 5 || hist.Items[0].Kind != "prepayment" || hist.Items[0].AmountFen != 10_000_000 || hist.NextCursor == "" {
		t.Fatalf("history %d %s", r.StatusCode, r.body)
	}
	// Once in 12 months: a second is too soon.
	tok = e.stepUp(tok)
	wantProblem(t, e.do("POST", "/api/v1/me/loan/prepayments", body, withKey(tok, "pp-2")), 422, "loan.prepayment_too_soon")

	// The repayment account: masked; changed to another of his own from
	// the next cycle; another person's is refused.
	r = e.meGet("/api/v1/me/loan/repayment-account", tok)
	var ra depositor.RepaymentAccountBody
	r.json(t, &ra)
	if r.StatusCode != 200 || ra.Account.ID != zhang.PayoutAccounts[0].ID || ra.Account.NumberMasked == zhang.PayoutAccounts[0].Number || ra.Pending != nil {
		t.Fatalf("repayment account %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.do("PUT", "/api/v1/me/loan/repayment-account", map[string]string{"account_id": lina.PayoutAccounts[0].ID}, bearer(tok)), 422, "loan.account_not_owned")
	r = e.do("PUT", "/api/v1/me/loan/repayment-account", map[string]string{"account_id": zhang.PayoutAccounts[1].ID}, bearer(tok))
	ra = depositor.RepaymentAccountBody{}
	r.json(t, &ra)
	if r.StatusCode != 200 || ra.Pending == nil || ra.Pending.ID != zhang.PayoutAccounts[1].ID || ra.EffectiveFrom == "" {
		t.Fatalf("change %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.meGet("/api/v1/me/loan/repayment-account", linaTok), 422, "loan.none")
}

// A persona in arrears sees them and clears them; one with a loan
// application at a counter follows it.
func TestLoanArrearsAndApplications(t *testing.T) {
	t.Parallel()
	e := start(t)
	zhou := e.persona("depositor", "周强")
	tok := e.bindWeChat("o-loan-zhou", zhou).AccessToken
	r := e.meGet("/api/v1/me/loan/arrears", tok)
	var a depositor.ArrearsBody
	r.json(t, &a)
	if r.StatusCode != 200 || a.OverduePeriods != 2 || a.PenaltyFen <= 0 || a.TotalFen != a.ArrearsFen+a.PenaltyFen {
		t.Fatalf("arrears %d %s", r.StatusCode, r.body)
	}
	// The loan screen and home show them too: amount and penalty to date.
	var screen struct {
		ArrearsFen int64 `json:"arrears_fen"`
		PenaltyFen int64 `json:"penalty_fen"`
	}
	e.meGet("/api/v1/me/loan", tok).json(t, &screen)
	var home struct {
		Loan struct {
			ArrearsFen int64 `json:"arrears_fen"`
			PenaltyFen int64 `json:"penalty_fen"`
		} `json:"loan"`
	}
	e.meGet("/api/v1/me/home", tok).json(t, &home)
	if screen.ArrearsFen != a.ArrearsFen || screen.PenaltyFen != a.PenaltyFen || home.Loan.ArrearsFen != a.ArrearsFen || home.Loan.PenaltyFen != a.PenaltyFen {
		t.Fatalf("loan screen %+v, home %+v, arrears %+v", screen, home.Loan, a)
	}
	wantProblem(t, e.meGet("/api/v1/me/loan/prepayment/quote?amount_fen=1000000&mode=reduce_instalment", tok), 422, "loan.in_arrears")
	tok = e.stepUp(tok)
	r = e.do("POST", "/api/v1/me/loan/arrears/payments", map[string]any{"source": map[string]any{"hpf_balance": true}}, withKey(tok, "ap-1"))
	var p depositor.LoanPaymentBody
	r.json(t, &p)
	if r.StatusCode != 202 || p.Type != "loan_arrears" || p.AmountFen != a.TotalFen {
		t.Fatalf("pay arrears %d %s", r.StatusCode, r.body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for a.OverduePeriods > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		e.meGet("/api/v1/me/loan/arrears", tok).json(t, &a)
	}
	if a.OverduePeriods != 0 {
		t.Fatalf("arrears left %+v", a)
	}
	wantProblem(t, e.do("POST", "/api/v1/me/loan/arrears/payments", map[string]any{"source": map[string]any{"hpf_balance": true}}, withKey(tok, "ap-2")), 422, "loan.no_arrears")
	// The payment is a case in the list, finished, and rated once.
	if r := e.do("POST", "/api/v1/me/applications/"+p.ID+"/rating", map[string]any{"level": 5}, bearer(tok)); r.StatusCode != 201 {
		t.Fatalf("rating %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.do("POST", "/api/v1/me/applications/"+p.ID+"/rating", map[string]any{"level": 4}, bearer(tok)), 409, "rating.already_rated")

	ouyang := e.bindWeChat("o-loan-ouyang", e.persona("depositor", "欧阳晓峰")).AccessToken
	r = e.meGet("/api/v1/me/loan/applications", ouyang)
	var apps depositor.LoanApplicationListBody
	r.json(t, &apps)
	if r.StatusCode != 200 || len(apps.Items) != 1 || apps.Items[0].Status != "reviewing" || apps.Items[0].StatusLabel == "" {
		t.Fatalf("applications %d %s", r.StatusCode, r.body)
	}
	r = e.meGet("/api/v1/me/loan/applications", tok)
	apps = depositor.LoanApplicationListBody{}
	if r.json(t, &apps); len(apps.Items) != 0 {
		t.Fatalf("another's applications %s", r.body)
	}
}

// A settled persona downloads the settled-loan certificate whose QR
// verifies; a loan still owed gets none.
func TestSettledLoanCertificate(t *testing.T) {
	t.Parallel()
	e := start(t, relaxedIssue())
	zhao := e.persona("depositor", "赵建国")
	tok := e.stepUp(e.bindWeChat("o-loan-zhao", zhao).AccessToken)
	r := e.issue(tok, "ls-1", map[string]string{"type": "loan_settled"})
	var got issuedCert
	r.json(t, &got)
	if r.StatusCode != 201 || got.VerifyURL != e.cfg.PublicBase()+"/verify/"+got.VerifyCode {
		t.Fatalf("issue %d %s", r.StatusCode, r.body)
	}
	pdf := e.do("GET", got.DownloadURL, nil, nil)
	if pdf.StatusCode != 200 || pdf.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("download %d", pdf.StatusCode)
	}
	e.checkSignature(pdf.body, "02", zhao.IDNumber)
	var v verdict
	vr := e.do("GET", "/api/v1/verify/"+got.VerifyCode, nil, nil)
	vr.json(t, &v)
	if vr.StatusCode != 200 || !v.Valid || v.Number != got.Number {
		t.Fatalf("verify %d %s", vr.StatusCode, vr.body)
	}
	zhang := e.stepUp(e.bindWeChat("o-loan-zhang2", e.persona("depositor", "张伟")).AccessToken)
	wantProblem(t, e.issue(zhang, "ls-2", map[string]string{"type": "loan_settled"}), 409, "loan.not_settled")
	lina := e.stepUp(e.bindWeChat("o-loan-lina2", e.persona("depositor", "李娜")).AccessToken)
	wantProblem(t, e.issue(lina, "ls-3", map[string]string{"type": "loan_settled"}), 409, "loan.not_settled")
}
