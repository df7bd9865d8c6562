package e2e

import (
	"testing"
	"time"

	"handheld/bff"
)

type nightHome struct {
	Stale   bool `json:"stale"`
	Account *struct {
		BalanceFen int64 `json:"balance_fen"`
	} `json:"account"`
	Maintenance *struct {
		Until   time.Time `json:"until"`
		Message string    `json:"message"`
	} `json:"maintenance"`
}

// TestNightWindow does every service inside the core's maintenance window
// (the simulator's, set at run time) and checks each completes after it:
// sign-in (WeChat, bound; employer, cached check), the home screen with
// when live figures return, the e-card from the last known status, a
// certificate accepted as pending, a withdrawal accepted to be checked.
func TestNightWindow(t *testing.T) {
	e := start(t, everyReadToTheCore, policies(), func(c *bff.Config) { c.WithdrawalPollInterval = 100 * time.Millisecond })
	zhang := e.persona("depositor", "张伟")
	zt := e.bindWeChat("oNight000000001", zhang).AccessToken
	lina := e.persona("depositor", "李娜")
	li := e.bindWeChat("oNight000000002", lina).AccessToken
	wuP := e.persona("depositor", "吴敏")
	wu := e.bindWeChat("oNight000000003", wuP).AccessToken
	for _, tok := range []string{zt, li, wu} {
		e.grantWeChat(tok, caseTemplate, 3) // WeChat messages need the person's grant
	}
	clerk := e.unitOperator("shop01")
	e.loginEmployer(clerk)
	var day nightHome
	e.meGet("/api/v1/me/home", zt).json(t, &day)
	time.Sleep(1100 * time.Millisecond) // the remembered answers are then visibly older than now

	liStepped, wuStepped := e.stepUp(li), e.stepUp(wu) // a face check asks the core
	e.setMaintenance("00:00-24:00")
	defer e.setMaintenance("")

	// Sign-in.
	r := e.do("POST", "/api/v1/auth/wechat", map[string]string{"code": e.wechatCode("oNight000000001")}, nil)
	var tok tokens
	r.json(t, &tok)
	if r.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("bound wechat sign-in in the window: %d %s", r.StatusCode, r.body)
	}
	zt = tok.AccessToken
	r = e.do("POST", "/api/v1/auth/employer", map[string]string{"unit_code": clerk.UnitCode, "operator_id": clerk.OperatorID, "password": clerk.Password}, nil)
	if r.StatusCode != 200 {
		t.Fatalf("employer sign-in in the window: %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.do("POST", "/api/v1/auth/employer", map[string]string{"unit_code": clerk.UnitCode, "operator_id": clerk.OperatorID, "password": clerk.Password + "x"}, nil), 401, "auth.bad_credentials")
	other := e.unitOperator("yunqi01") // never signed in: nothing cached
	wantProblem(t, e.do("POST", "/api/v1/auth/employer", map[string]string{"unit_code": other.UnitCode, "operator_id": other.OperatorID, "password": other.Password}, nil), 503, "core.maintenance")

	// The home screen: remembered figures, and when live ones return.
	var night nightHome
	r = e.meGet("/api/v1/me/home", zt)
	r.json(t, &night)
	if r.StatusCode != 200 || !night.Stale || night.Account == nil || night.Account.BalanceFen != day.Account.BalanceFen ||
		night.Maintenance == nil || night.Maintenance.Message == "" || !night.Maintenance.Until.After(time.Now()) {
		t.Fatalf("home in the window: %d %s", r.StatusCode, r.body)
	}

	// The e-card from the last known status; the verifier sees its time.
	r = e.meGet("/api/v1/me/ecard", zt)
	var card struct {
		Payload    string    `json:"payload"`
		StatusAsOf time.Time `json:"status_as_of"`
	}
	r.json(t, &card)
	if r.StatusCode != 200 || card.Payload == "" || !card.StatusAsOf.Before(time.Now().Add(-time.Second)) {
		t.Fatalf("e-card in the window: %d %s", r.StatusCode, r.body)
	}
	var verdict struct {
		Valid      bool      `json:"valid"`
		StatusAsOf time.Time `json:"status_as_of"`
	}
	r = e.do("POST", "/api/v1/ecard/verify", map[string]string{"payload": card.Payload}, bearer(e.verifierToken()))
	r.json(t, &verdict)
	if r.StatusCode != 200 || !verdict.Valid || !verdict.StatusAsOf.Equal(card.StatusAsOf) {
		t.Fatalf("verify in the window: %d %s", r.StatusCode, r.body)
	}

	// A certificate: accepted as pending, shown in progress, not rateable.
	stepped := e.stepUp(zt)
	certBody := map[string]string{"type": "deposit_use", "purpose": "夜间申请"}
	r = e.issue(stepped, "night-cert-1", certBody)
	var pending struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	r.json(t, &pending)
	if r.StatusCode != 202 || pending.Status != "pending" || pending.ID == "" {
		t.Fatalf("certificate in the window: %d %s", r.StatusCode, r.body)
	}
	if again := e.issue(stepped, "night-cert-1", certBody); again.StatusCode != 202 || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the same key again: %d %s", again.StatusCode, again.body)
	}
	app := e.nightCase(stepped, pending.ID)
	if app == nil || app.Finished || app.Rateable || app.Status != "pending" {
		t.Fatalf("the pending certificate's case: %+v", app)
	}
	wantProblem(t, e.do("POST", "/api/v1/me/applications/"+pending.ID+"/rating", map[string]any{"level": 5}, bearer(stepped)), 409, "rating.not_rateable")
	if e.nightCase(li, pending.ID) != nil {
		t.Fatal("another person sees the pending certificate")
	}

	// Withdrawals from people with nothing of theirs remembered: accepted
	// to be checked, one per kind, the same answer to a retry.
	liRent := rent(100_000, payoutTo(t, lina, "bank_card"))
	r = e.apply(liStepped, "night-wd-1", liRent)
	var toCheck accepted
	r.json(t, &toCheck)
	if r.StatusCode != 202 || toCheck.Status != "to_be_checked" || toCheck.CaseNumber == "" {
		t.Fatalf("withdrawal in the window: %d %s", r.StatusCode, r.body)
	}
	if again := e.apply(liStepped, "night-wd-1", liRent); again.StatusCode != 202 || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the same key again: %d %s", again.StatusCode, again.body)
	}
	wantProblem(t, e.apply(liStepped, "night-wd-2", rent(200_000, payoutTo(t, lina, "bank_card"))), 409, "withdrawal.in_flight")
	var seen application
	e.meGet(withdrawals+"/"+toCheck.ID, li).json(t, &seen)
	if seen.Status != "to_be_checked" {
		t.Fatalf("the application in the window: %+v", seen)
	}
	if r := e.meGet(withdrawals+"/"+toCheck.ID, zt); r.StatusCode != 404 {
		t.Fatalf("another person reads the application to be checked: %d", r.StatusCode)
	}
	// 吴敏 has 2 months of deposits: rent needs 3, which only the check
	// can tell.
	r = e.apply(wuStepped, "night-wd-3", rent(100_000, payoutTo(t, wuP, "bank_card")))
	var wuCheck accepted
	r.json(t, &wuCheck)
	if r.StatusCode != 202 || wuCheck.Status != "to_be_checked" {
		t.Fatalf("吴敏's withdrawal in the window: %d %s", r.StatusCode, r.body)
	}

	e.setMaintenance("")
	// After the window: live again.
	var back nightHome
	e.meGet("/api/v1/me/home", zt).json(t, &back)
	if back.Stale || back.Maintenance != nil {
		t.Fatalf("home after the window: %+v", back)
	}
	r = e.meGet("/api/v1/me/ecard", zt)
	r.json(t, &card)
	if r.StatusCode != 200 || card.StatusAsOf.Before(time.Now().Add(-5*time.Second)) {
		t.Fatalf("e-card after the window: %d %s", r.StatusCode, r.body)
	}
	// The certificate is issued for its holder; its request's case is gone,
	// the certificate's case is finished and rateable.
	deadline := time.Now().Add(15 * time.Second)
	for e.nightCase(stepped, pending.ID) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the pending certificate was never issued")
		}
		time.Sleep(100 * time.Millisecond)
	}
	issued := e.nightCases(stepped, "certificate")
	if len(issued) != 1 || !issued[0].Rateable || issued[0].Status != "issued" {
		t.Fatalf("after the window: %+v", issued)
	}
	if len(e.nightCases(li, "certificate")) != 0 {
		t.Fatal("the certificate went to another person")
	}
	// The applications are checked: 李娜's goes to the core and is paid
	// under the same id and case number; 吴敏's is refused and she is told.
	paid := e.waitStatus(li, toCheck.ID, "paid")
	if paid.CaseNumber != toCheck.CaseNumber || len(paid.Events) < 3 || paid.Events[0].Status != "to_be_checked" {
		t.Fatalf("李娜's application after the window: %+v", paid)
	}
	refused := e.waitStatus(wu, wuCheck.ID, "rejected")
	if refused.Reason != "check_not_eligible" {
		t.Fatalf("吴敏's application after the window: %+v", refused)
	}
	deadline = time.Now().Add(15 * time.Second)
	for {
		var toWu int
		for _, m := range e.wechat.Sent() {
			if m.ToOpenID == "oNight000000003" {
				toWu++
			}
		}
		if toWu == 1 {
			break
		}
		if toWu > 1 || time.Now().After(deadline) {
			t.Fatalf("%d messages to 吴敏 about her refused application", toWu)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The holder is told (WeChat subscribe message, to their openid only).
	deadline = time.Now().Add(15 * time.Second)
	for {
		var told []string
		for _, m := range e.wechat.Sent() {
			if m.Data["thing6"] == "夜间申请的证明已出具" {
				told = append(told, m.ToOpenID)
			}
		}
		if len(told) == 1 && told[0] == "oNight000000001" {
			break
		}
		if len(told) > 1 || time.Now().After(deadline) {
			t.Fatalf("certificate notification sent to %v", told)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type nightCaseItem struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Status   string `json:"status"`
	Finished bool   `json:"finished"`
	Rateable bool   `json:"rateable"`
}

// nightCases lists the caller's cases of kind.
func (e *env) nightCases(tok, kind string) []nightCaseItem {
	e.t.Helper()
	r := e.meGet("/api/v1/me/applications?limit=50", tok)
	if r.StatusCode != 200 {
		e.t.Fatalf("cases %d %s", r.StatusCode, r.body)
	}
	var page struct {
		Items []nightCaseItem `json:"items"`
	}
	r.json(e.t, &page)
	var out []nightCaseItem
	for _, c := range page.Items {
		if c.Kind == kind {
			out = append(out, c)
		}
	}
	return out
}

// nightCase is the caller's case id, nil when they have none by that id.
func (e *env) nightCase(tok, id string) *nightCaseItem {
	e.t.Helper()
	for _, c := range e.nightCases(tok, "certificate") {
		if c.ID == id {
			return &c
		}
	}
	return nil
}
