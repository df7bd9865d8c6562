package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"handheld/bff"
	"handheld/services/audit"
	"handheld/services/store"
)

// subjectOf is the pseudonymous subject a token speaks for.
func (e *env) subjectOf(tok string) string {
	e.t.Helper()
	var s struct{ Subject string }
	e.meGet("/api/v1/me/session", tok).json(e.t, &s)
	if s.Subject == "" {
		e.t.Fatal("no subject")
	}
	return s.Subject
}

// BOLA: with two people signed in, no /me route shows one the other's
// data, whatever the query says. Parameters a route does not know are
// ignored (the person is the token's subject), and cursors are sealed to
// the subject they were issued to.
func TestNoRouteReachesAnotherPerson(t *testing.T) {
	t.Parallel()
	e := start(t)
	zhang, li := e.persona("depositor", "张伟"), e.persona("depositor", "李娜")
	type person struct {
		name, tok, subject string
		acc                accountScreen
	}
	a := person{name: "张伟", tok: e.bindWeChat("oBolaZhang00001", zhang).AccessToken}
	b := person{name: "李娜", tok: e.bindWeChat("oBolaLiNa000001", li).AccessToken}
	for _, p := range []*person{&a, &b} {
		p.subject = e.subjectOf(p.tok)
		e.meGet("/api/v1/me/account", p.tok).json(t, &p.acc)
	}
	if a.acc.AccountNumber == b.acc.AccountNumber || a.acc.BalanceFen == b.acc.BalanceFen || a.acc.Holder.Name == b.acc.Holder.Name {
		t.Fatalf("the two people look alike, the test would prove nothing: %+v %+v", a.acc, b.acc)
	}

	for _, pair := range [][2]person{{a, b}, {b, a}} {
		self, other := pair[0], pair[1]
		hostile := []string{
			"",
			"?subject=" + other.subject,
			"?person_id=P1000000002&person_id=P1000000001", // the simulator's ids for 李娜 and 张伟
			"?id_number=" + li.IDNumber + "&name=" + url.QueryEscape(li.Name),
			"?sub=" + other.subject + "&lang=en",
		}
		for _, route := range meRoutes {
			for _, q := range hostile {
				r := e.meGet(route+q, self.tok)
				if r.StatusCode != 200 {
					t.Errorf("%s %s%s: %d %s", self.name, route, q, r.StatusCode, r.body)
					continue
				}
				body := string(r.body)
				for _, leak := range []string{
					`"account_number":"` + other.acc.AccountNumber + `"`,
					fmt.Sprintf(`"balance_fen":%d,`, other.acc.BalanceFen),
					`"name":"` + other.acc.Holder.Name + `"`,
				} {
					if strings.Contains(body, leak) {
						t.Errorf("%s %s%s shows the other person's %s", self.name, route, q, leak)
					}
				}
				if (route == "/api/v1/me/account" || route == "/api/v1/me/home") && !strings.Contains(body, `"account_number":"`+self.acc.AccountNumber+`"`) {
					t.Errorf("%s %s%s: not their own account: %s", self.name, route, q, body)
				}
			}
		}
		// No path selects a person either.
		wantProblem(t, e.meGet("/api/v1/me/account/"+other.subject, self.tok), 404, "not_found")
	}

	// A cursor is its subject's: another person presenting it gets a field
	// error, not a page of the first person's list.
	var deposits, plan page
	e.meGet("/api/v1/me/deposits?limit=2", a.tok).json(t, &deposits)
	e.meGet("/api/v1/me/loan/schedule?limit=2", a.tok).json(t, &plan)
	if deposits.NextCursor == "" || plan.NextCursor == "" {
		t.Fatal("no cursors to try")
	}
	for _, tc := range []struct{ tok, path string }{
		{b.tok, "/api/v1/me/deposits?cursor=" + deposits.NextCursor},
		{b.tok, "/api/v1/me/loan/schedule?cursor=" + plan.NextCursor},
		{a.tok, "/api/v1/me/deposits?cursor=" + plan.NextCursor}, // and a cursor is its list's
	} {
		r := e.meGet(tc.path, tc.tok)
		wantProblem(t, r, 400, "request.invalid")
		if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "cursor" {
			t.Errorf("%s: %+v", tc.path, p.Errors)
		}
	}
}

// Every read of the screens is in the audit trail, joined to its request,
// naming the subject and the device, never the person's data.
func TestAccountReadsAreAudited(t *testing.T) {
	t.Parallel()
	e := start(t)
	zhang, li := e.persona("depositor", "张伟"), e.persona("depositor", "李娜")
	wechat := e.bindWeChat("oAuditReads0001", zhang).AccessToken
	citizen := e.loginKiosk(e.deviceToken(), li).AccessToken
	subjects := map[string]string{"miniapp": e.subjectOf(wechat), "kiosk": e.subjectOf(citizen)}
	actions := map[string]string{
		"/api/v1/me/home": "read.home", "/api/v1/me/account": "read.account", "/api/v1/me/deposits": "read.deposits",
		"/api/v1/me/loan": "read.loan", "/api/v1/me/loan/schedule": "read.loan_schedule",
	}
	want := map[string]bool{} // "channel action request-id"
	for i, path := range meRoutes {
		for channel, tok := range map[string]string{"miniapp": wechat, "kiosk": citizen} {
			id := fmt.Sprintf("e2e-read-%02d-%s", i, channel)
			if r := e.meGet(path, tok, http.Header{"X-Request-ID": {id}}); r.StatusCode != 200 {
				t.Fatalf("%s on %s: %d %s", path, channel, r.StatusCode, r.body)
			}
			want[channel+" "+actions[path]+" "+id] = true
		}
	}
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}

	s, err := store.Open(t.Context(), e.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rep, err := audit.Verify(t.Context(), s); err != nil || rep.FirstBroken != 0 {
		t.Fatalf("audit chain: %+v %v", rep, err)
	}
	rows, err := s.Query(t.Context(), `SELECT subject, actor, channel, action, target, request_id, result FROM audit_log WHERE action LIKE 'read.%' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var trail strings.Builder
	for rows.Next() {
		var subject, actor, channel, action, target, reqID, result string
		if err := rows.Scan(&subject, &actor, &channel, &action, &target, &reqID, &result); err != nil {
			t.Fatal(err)
		}
		trail.WriteString(subject + actor + target + "\n")
		wantActor := subject
		if channel == "kiosk" {
			wantActor = "device:" + bff.DemoKioskID
		}
		if subject != subjects[channel] || actor != wantActor || target != "self" || result != "ok" {
			t.Errorf("record %s %s %s %s %s %s", subject, actor, channel, action, target, result)
		}
		delete(want, channel+" "+action+" "+reqID)
	}
	for missing := range want {
		t.Errorf("no audit record for %s", missing)
	}
	for _, secret := range []string{zhang.Name, zhang.IDNumber, li.Name, li.IDNumber} {
		if strings.Contains(e.logs.String()+trail.String(), secret) {
			t.Errorf("logs or audit carry %q", secret)
		}
	}
}
