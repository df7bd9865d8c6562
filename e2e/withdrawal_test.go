package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services/coresim"
	"handheld/services/ratelimit"
)

const withdrawals = "/api/v1/me/withdrawals"

// fastWithdrawals polls the core every 100 ms and lets people sign in and
// apply as often as a test needs.
func fastWithdrawals(c *bff.Config) {
	c.WithdrawalPollInterval = 100 * time.Millisecond
	for i := range c.RateLimits {
		c.RateLimits[i].Rate, c.RateLimits[i].Burst, c.RateLimits[i].Period = 10_000, 10_000, time.Minute
		if c.RateLimits[i].Key == ratelimit.KeyChannel { // ceilings stay above the per-address limits
			c.RateLimits[i].Rate, c.RateLimits[i].Burst = 100_000, 100_000
		}
	}
}

type accepted struct {
	ID         string `json:"id"`
	CaseNumber string `json:"case_number"`
	Status     string `json:"status"`
	DueOn      string `json:"due_on"`
}

type application struct {
	ID          string `json:"id"`
	CaseNumber  string `json:"case_number"`
	Type        string `json:"type"`
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	Reason      string `json:"reason"`
	AmountFen   int64  `json:"amount_fen"`
	Payout      struct {
		Method    string `json:"method"`
		Account   string `json:"account"`
		AccountID string `json:"account_id"`
	} `json:"payout"`
	Events []struct {
		Status string `json:"status"`
	} `json:"events"`
}

type eligibility struct {
	Eligible     bool  `json:"eligible"`
	MaxAmountFen int64 `json:"max_amount_fen"`
	Reasons      []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"reasons"`
}

// apply posts an application with key (none when empty).
func (e *env) apply(tok, key string, body any) *response {
	e.t.Helper()
	h := bearer(tok)
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	return e.do("POST", withdrawals, body, h)
}

func (e *env) eligibility(tok, kind string) eligibility {
	e.t.Helper()
	r := e.meGet(withdrawals+"/eligibility?type="+kind, tok)
	if r.StatusCode != 200 {
		e.t.Fatalf("eligibility %s: %d %s", kind, r.StatusCode, r.body)
	}
	var el eligibility
	r.json(e.t, &el)
	return el
}

// waitStatus polls the application until it reaches status.
func (e *env) waitStatus(tok, id, status string) application {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := e.meGet(withdrawals+"/"+id, tok)
		var a application
		r.json(e.t, &a)
		if a.Status == status {
			return a
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("application %s is %s, still not %s", id, a.Status, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// payoutTo names p's first payout account of kind (bank_card, ecny).
func payoutTo(t *testing.T, p coresim.Persona, kind string) map[string]any {
	t.Helper()
	for _, a := range p.PayoutAccounts {
		if a.Kind == kind {
			return map[string]any{"account_id": a.ID}
		}
	}
	t.Fatalf("%s has no %s", p.Name, kind)
	return nil
}

// rent is a rent application paid to payout.
func rent(amount int64, payout map[string]any) map[string]any {
	return map[string]any{"type": "rent", "amount_fen": amount, "payout": payout}
}

func TestWithdrawalFromApplicationToPayout(t *testing.T) {
	t.Parallel()
	e := start(t, fastWithdrawals)
	lina := e.persona("depositor", "李娜")
	tok := e.bindWeChat("o-lina-withdrawal", lina).AccessToken
	e.grantWeChat(tok, caseTemplate, 3) // what the mini-program asks before applying
	card := payoutTo(t, lina, "bank_card")

	el := e.eligibility(tok, "rent")
	if !el.Eligible || el.MaxAmountFen <= 0 || len(el.Reasons) != 0 {
		t.Fatalf("rent eligibility %+v", el)
	}
	wantProblem(t, e.bad().apply(tok, "", rent(100_000, card)), 400, "idempotency.key_missing")

	first := e.apply(tok, "lina-rent-1", rent(150_000, card))
	if first.StatusCode != 202 {
		t.Fatalf("apply %d %s", first.StatusCode, first.body)
	}
	var acc accepted
	first.json(t, &acc)
	if acc.Status != "accepted" || !strings.HasPrefix(acc.ID, "wd_") || !strings.HasPrefix(acc.CaseNumber, "TQ") || acc.DueOn == "" {
		t.Fatalf("accepted %+v", acc)
	}
	again := e.apply(tok, "lina-rent-1", rent(150_000, card))
	if again.StatusCode != 202 || string(again.body) != string(first.body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %d %s (replayed %q), want the first answer %s", again.StatusCode, again.body, again.Header.Get("Idempotent-Replayed"), first.body)
	}
	wantProblem(t, e.apply(tok, "lina-rent-1", rent(150_001, card)), 422, "idempotency.key_reused")
	wantProblem(t, e.apply(tok, "lina-rent-2", rent(100_000, card)), 409, "withdrawal.in_flight")

	paid := e.waitStatus(tok, acc.ID, "paid")
	var seen []string
	for _, ev := range paid.Events {
		seen = append(seen, ev.Status)
	}
	if !slices.Equal(seen, []string{"accepted", "submitted", "approved", "paid"}) {
		t.Errorf("events %v", seen)
	}
	if paid.Payout.Method != "bank_card" || !strings.Contains(paid.Payout.Account, "****") || paid.Payout.AccountID != card["account_id"] {
		t.Errorf("payout %+v: want her first card, masked", paid.Payout)
	}
	if n := e.sim.WithdrawalCount(acc.ID); n != 1 {
		t.Errorf("core has %d applications %s, want 1", n, acc.ID)
	}
	// One notification per announced status, to the person's openid.
	waitFor(t, func() bool { return len(sentFor(e, acc.ID)) >= 3 })
	time.Sleep(300 * time.Millisecond)
	if got := sentFor(e, acc.ID); len(got) != 3 {
		t.Errorf("notifications %v, want accepted, approved, paid once each", got)
	}
	for _, s := range e.wechat.Sent() {
		if s.ToOpenID != "o-lina-withdrawal" {
			t.Errorf("notification to %q", s.ToOpenID)
		}
	}
	// The paid withdrawal now counts: another rent in the same quarter
	// is too frequent.
	if el := e.eligibility(tok, "rent"); el.Eligible || el.Reasons[0].Code != "too_frequent" {
		t.Errorf("after payout: %+v", el)
	}

	// The case, rated once.
	r := e.meGet("/api/v1/me/applications", tok)
	var cases struct {
		Items []struct {
			ID       string `json:"id"`
			Finished bool   `json:"finished"`
			Rateable bool   `json:"rateable"`
		} `json:"items"`
	}
	r.json(t, &cases)
	if len(cases.Items) != 1 || cases.Items[0].ID != acc.ID || !cases.Items[0].Rateable {
		t.Fatalf("cases %s", r.body)
	}
	rate := func(level int) *response {
		sender := e
		if level < 1 || level > 5 {
			sender = e.bad()
		}
		return sender.do("POST", "/api/v1/me/applications/"+acc.ID+"/rating", map[string]any{"level": level, "comment": "很快"}, bearer(tok))
	}
	wantProblem(t, rate(6), 400, "request.invalid")
	if r := rate(5); r.StatusCode != 201 {
		t.Fatalf("rating %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, rate(4), 409, "rating.already_rated")
	if m := e.do("GET", "/metrics", nil, nil); !strings.Contains(string(m.body), `handheld_case_ratings_total{level="5"} 1`+"\n") {
		t.Errorf("metrics lack the one rating at level 5:\n%s", grep(string(m.body), "ratings_total"))
	}

	// Another person sees none of it.
	other := e.bindWeChat("o-ouyang-withdrawal", e.persona("depositor", "欧阳晓峰")).AccessToken
	wantProblem(t, e.meGet(withdrawals+"/"+acc.ID, other), 404, "not_found")
	wantProblem(t, e.do("POST", withdrawals+"/"+acc.ID+"/cancel", nil, bearer(other)), 404, "not_found")
	wantProblem(t, e.do("POST", "/api/v1/me/applications/"+acc.ID+"/rating", map[string]any{"level": 1}, bearer(other)), 404, "not_found")
}

// sentFor lists the statuses notified for one application.
func sentFor(e *env, id string) []string {
	var out []string
	for _, s := range e.wechat.Sent() {
		if strings.Contains(s.Page, id) {
			out = append(out, s.Page)
		}
	}
	return out
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWithdrawalHomeAndCancel(t *testing.T) {
	t.Parallel()
	e := start(t, fastWithdrawals)
	zhang := e.persona("depositor", "张伟")
	tok := e.bindWeChat("o-zhang-withdrawal", zhang).AccessToken

	// The core is down: the application is accepted and waits.
	e.setFaults("withdrawal=down")
	r := e.apply(tok, "zhang-loan-1", map[string]any{"type": "loan_repayment", "amount_fen": 1_000_000,
		"payout": payoutTo(t, zhang, "ecny")})
	if r.StatusCode != 202 {
		t.Fatalf("apply %d %s", r.StatusCode, r.body)
	}
	var acc accepted
	r.json(t, &acc)
	home := e.meGet("/api/v1/me/home", tok)
	if !strings.Contains(string(home.body), acc.ID) || !strings.Contains(string(home.body), acc.CaseNumber) {
		t.Errorf("home lacks the application in flight: %s", home.body)
	}
	c := e.do("POST", withdrawals+"/"+acc.ID+"/cancel", nil, bearer(tok))
	var cancelled application
	c.json(t, &cancelled)
	if c.StatusCode != 200 || cancelled.Status != "cancelled" || cancelled.Payout.Method != "ecny" ||
		strings.Contains(cancelled.Payout.Account, zhang.PayoutAccounts[1].Number[4:12]) {
		t.Fatalf("cancel %d %s", c.StatusCode, c.body)
	}
	if again := e.do("POST", withdrawals+"/"+acc.ID+"/cancel", nil, bearer(tok)); again.StatusCode != 200 {
		t.Errorf("second cancel %d %s", again.StatusCode, again.body)
	}
	e.setFaults("")
	time.Sleep(500 * time.Millisecond)
	if n := e.sim.WithdrawalCount(acc.ID); n != 0 {
		t.Errorf("a cancelled application reached the core %d times", n)
	}

	// Delivered and approved: too late to cancel.
	r = e.apply(tok, "zhang-loan-2", map[string]any{"type": "loan_repayment", "amount_fen": 1_000_000,
		"payout": payoutTo(t, zhang, "bank_card")})
	if r.StatusCode != 202 {
		t.Fatalf("apply %d %s", r.StatusCode, r.body)
	}
	r.json(t, &acc)
	e.waitStatus(tok, acc.ID, "paid")
	wantProblem(t, e.do("POST", withdrawals+"/"+acc.ID+"/cancel", nil, bearer(tok)), 409, "withdrawal.not_cancellable")
	if home := e.meGet("/api/v1/me/home", tok); strings.Contains(string(home.body), acc.ID) {
		t.Errorf("home still lists a paid application")
	}
}

func TestWithdrawalRefusals(t *testing.T) {
	t.Parallel()
	e := start(t, fastWithdrawals)
	lina := e.persona("depositor", "李娜")
	tok := e.bindWeChat("o-lina-refusals", lina).AccessToken
	bankCard := payoutTo(t, lina, "bank_card")
	cardJSON := `{"account_id":"` + bankCard["account_id"].(string) + `"}`
	cases := []struct {
		name   string
		key    string
		body   any
		status int
		code   string
	}{
		{"amount zero", "k1", map[string]any{"type": "rent", "amount_fen": 0, "payout": bankCard}, 400, "request.invalid"},
		{"amount negative", "k2", map[string]any{"type": "rent", "amount_fen": -100, "payout": bankCard}, 400, "request.invalid"},
		{"amount not an integer", "k3", `{"type":"rent","amount_fen":100.5,"payout":` + cardJSON + `}`, 400, "request.invalid"},
		{"amount a string", "k4", `{"type":"rent","amount_fen":"100","payout":` + cardJSON + `}`, 400, "request.invalid"},
		{"over the cap", "k5", map[string]any{"type": "rent", "amount_fen": 600_001, "payout": bankCard}, 422, "withdrawal.amount_over_limit"},
		{"over the balance", "k6", map[string]any{"type": "critical_illness", "amount_fen": 9_000_000_000, "payout": bankCard,
			"evidence_refs": []string{lina.Records[2].Ref}}, 422, "withdrawal.amount_over_limit"},
		{"unknown kind", "k7", map[string]any{"type": "holiday", "amount_fen": 100, "payout": bankCard}, 400, "request.invalid"},
		{"payout missing", "k8", map[string]any{"type": "rent", "amount_fen": 100}, 400, "request.invalid"},
		{"payout by method, as before", "k9", map[string]any{"type": "rent", "amount_fen": 100, "payout": map[string]any{"method": "bank_card"}}, 400, "request.unknown_field"},
		{"account id not a string", "k10", `{"type":"rent","amount_fen":100,"payout":{"account_id":12}}`, 400, "request.invalid"},
		{"unknown field", "k11", map[string]any{"type": "rent", "amount_fen": 100, "payout": bankCard, "note": "x"}, 400, "request.unknown_field"},
		{"malformed JSON", "k12", `{"type":`, 400, "request.malformed_json"},
		{"purchase without evidence", "k13", map[string]any{"type": "purchase", "amount_fen": 100_000, "payout": bankCard}, 422, "withdrawal.evidence_required"},
		{"key too long", strings.Repeat("k", 129), rent(100, bankCard), 400, "idempotency.key_invalid"},
		{"not eligible: leaving the city on a normal account", "k14", map[string]any{"type": "leaving_city", "amount_fen": 100,
			"payout": bankCard}, 422, "withdrawal.not_eligible"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sender := e // the 400s break the contract; the 422s keep it
			if c.status == 400 {
				sender = e.bad()
			}
			wantProblem(t, sender.apply(tok, c.key, c.body), c.status, c.code)
		})
	}
	p := e.apply(tok, "k15", map[string]any{"type": "leaving_city", "amount_fen": 100, "payout": bankCard}).problem(t)
	if !strings.Contains(p.Detail, "账户状态") {
		t.Errorf("detail %q does not give the reason", p.Detail)
	}

	// Nothing was written.
	var list struct {
		Items []application `json:"items"`
	}
	e.meGet(withdrawals, tok).json(t, &list)
	if len(list.Items) != 0 || e.sim.Withdrawals() != 0 {
		t.Errorf("refused applications left %d rows here, %d at the core", len(list.Items), e.sim.Withdrawals())
	}

	// Each kind refused with its reason for the seeded cases.
	refused := []struct{ person, kind, reason string }{
		{"吴敏", "rent", "continuity"},
		{"孙丽", "rent", "too_frequent"},
		{"周强", "purchase", "continuity"},
		{"李娜", "loan_repayment", "no_loan"},
		{"张伟", "retirement", "not_retired"},
		{"刘洋", "critical_illness", "account_status"},
		{"李娜", "closing", "account_status"},
	}
	for _, r := range refused {
		p := e.persona("depositor", r.person)
		tok := e.bindWeChat("o-refused-"+r.kind+"-"+p.IDNumber[14:], p).AccessToken
		el := e.eligibility(tok, r.kind)
		if el.Eligible || !slices.ContainsFunc(el.Reasons, func(x struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}) bool {
			return x.Code == r.reason && x.Message != ""
		}) {
			t.Errorf("%s %s: %+v, want reason %s", r.person, r.kind, el, r.reason)
		}
	}
	wantProblem(t, e.meGet(withdrawals+"/wd_00000000000000000000000000000000", tok), 404, "not_found")
}
