package e2e

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"handheld/bff"
	"handheld/bff/employer"
	"handheld/services/ratelimit"
)

type operatorList struct {
	Items []employer.OperatorBody `json:"items"`
}

// The administrator's tour: shop01 adds a clerk, who signs in with the
// temporary password, may do nothing but change it, then reads the staff;
// disabled, the clerk's access and refresh tokens are refused at once.
func TestOperatorsTour(t *testing.T) {
	t.Parallel()
	// No wait after the disabled clerk's refused sign-in: the tour signs
	// the clerk in again at once once re-enabled.
	e := start(t, func(c *bff.Config) { c.LockoutDelay, c.LockoutDelayMax = 0, 0 })
	admin := e.unitOperator("shop01")
	tok := e.loginEmployer(admin).AccessToken

	r := e.do("GET", "/api/v1/employer/operators", nil, bearer(tok))
	var list operatorList
	if r.StatusCode != 200 {
		t.Fatalf("list: %d %s", r.StatusCode, r.body)
	}
	r.json(t, &list)
	if len(list.Items) != 2 || !list.Items[0].Self || list.Items[0].Role != "admin" || list.Items[1].Role != "clerk" {
		t.Fatalf("operators: %+v", list.Items)
	}

	r = e.do("POST", "/api/v1/employer/operators", map[string]string{"operator_id": "shop09", "name": "新店员"}, bearer(tok))
	if r.StatusCode != 201 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("add: %d %s", r.StatusCode, r.body)
	}
	var added employer.TemporaryPasswordBody
	r.json(t, &added)
	if added.TemporaryPassword == "" || !added.Operator.MustChangePassword || added.Operator.Role != "clerk" {
		t.Fatalf("added: %+v", added.Operator)
	}
	if strings.Contains(e.logs.String(), added.TemporaryPassword) {
		t.Fatal("the temporary password is in the logs")
	}
	wantProblem(t, e.do("POST", "/api/v1/employer/operators", map[string]string{"operator_id": "shop09", "name": "又一个"}, bearer(tok)), 409, "operator.exists")

	clerk := admin
	clerk.OperatorID, clerk.Password = "shop09", added.TemporaryPassword
	temp := e.loginEmployer(clerk)
	for _, path := range []string{"/api/v1/employer/staff", "/api/v1/employer/unit", "/api/v1/employer/operators"} {
		wantProblem(t, e.do("GET", path, nil, bearer(temp.AccessToken)), 403, "auth.password_change_required")
	}
	// Refreshing keeps the mark.
	r = e.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": temp.RefreshToken}, nil)
	var refreshed tokens
	r.json(t, &refreshed)
	wantProblem(t, e.do("GET", "/api/v1/employer/staff", nil, bearer(refreshed.AccessToken)), 403, "auth.password_change_required")

	// A weak password is refused with every broken rule.
	r = e.do("POST", "/api/v1/auth/employer/password", map[string]string{"current_password": added.TemporaryPassword, "new_password": "shop09"}, bearer(refreshed.AccessToken))
	p := r.problem(t)
	if r.StatusCode != 400 || p.Code != "request.invalid" {
		t.Fatalf("weak password: %d %s", r.StatusCode, r.body)
	}
	var codes []string
	for _, f := range p.Errors {
		codes = append(codes, f.Code)
	}
	for _, want := range []string{"too_short", "too_few_classes", "contains_operator_id"} {
		if !slices.Contains(codes, want) {
			t.Errorf("weak password: codes %v lack %s", codes, want)
		}
	}
	r = e.do("POST", "/api/v1/auth/employer/password", map[string]string{"current_password": added.TemporaryPassword, "new_password": added.TemporaryPassword}, bearer(refreshed.AccessToken))
	if p := r.problem(t); r.StatusCode != 400 || len(p.Errors) != 1 || p.Errors[0].Code != "reused" {
		t.Fatalf("the temporary password again: %d %s", r.StatusCode, r.body)
	}

	r = e.do("POST", "/api/v1/auth/employer/password", map[string]string{"current_password": added.TemporaryPassword, "new_password": "Noodles-2026-xixi"}, bearer(refreshed.AccessToken))
	if r.StatusCode != 200 {
		t.Fatalf("change: %d %s", r.StatusCode, r.body)
	}
	var chosen tokens
	r.json(t, &chosen)
	wantProblem(t, e.do("GET", "/api/v1/employer/staff", nil, bearer(refreshed.AccessToken)), 401, "auth.session_revoked")
	if r := e.do("GET", "/api/v1/employer/staff", nil, bearer(chosen.AccessToken)); r.StatusCode != 200 {
		t.Fatalf("clerk reads the staff: %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.do("GET", "/api/v1/employer/operators", nil, bearer(chosen.AccessToken)), 403, "auth.forbidden")

	// Disabled: the clerk's tokens are refused at once, and so is signing in.
	r = e.do("POST", "/api/v1/employer/operators/shop09/disable", nil, bearer(tok))
	if r.StatusCode != 200 {
		t.Fatalf("disable: %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.do("GET", "/api/v1/employer/staff", nil, bearer(chosen.AccessToken)), 401, "auth.session_revoked")
	wantProblem(t, e.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": chosen.RefreshToken}, nil), 401, "auth.refresh_invalid")
	clerk.Password = "Noodles-2026-xixi"
	wantProblem(t, e.do("POST", "/api/v1/auth/employer", map[string]string{"unit_code": clerk.UnitCode, "operator_id": "shop09", "password": clerk.Password}, nil), 401, "auth.bad_credentials")
	if r := e.do("POST", "/api/v1/employer/operators/shop09/enable", nil, bearer(tok)); r.StatusCode != 200 {
		t.Fatalf("enable: %d %s", r.StatusCode, r.body)
	}
	if tok := e.loginEmployer(clerk).AccessToken; e.do("GET", "/api/v1/employer/staff", nil, bearer(tok)).StatusCode != 200 {
		t.Fatal("re-enabled clerk cannot read the staff")
	}
}

// The attacks: a clerk at operator management, another unit's operator,
// the administrator's own account, bad bodies, two resets at once, and
// guessing the current password on the change route.
func TestOperatorAttacks(t *testing.T) {
	t.Parallel()
	// No waits between guesses: the lock itself is what is checked.
	// Without the operator_admin limits, which the attacks below would
	// spend (TestUnitLimits checks those).
	e := start(t, func(c *bff.Config) {
		c.LockoutDelay, c.LockoutDelayMax = 0, 0
		c.RateLimits = slices.DeleteFunc(slices.Clone(c.RateLimits), func(p ratelimit.Policy) bool {
			return strings.HasPrefix(p.Name, "operator_admin_")
		})
	})
	admin := e.loginEmployer(e.unitOperator("shop01")).AccessToken
	clerk := e.loginEmployer(e.unitOperator("shop02")).AccessToken
	other := e.unitOperator("yunqi01")

	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/employer/operators"},
		{"POST", "/api/v1/employer/operators/shop01/disable"},
		{"POST", "/api/v1/employer/operators/shop01/reset-password"},
		{"POST", "/api/v1/employer/operators/shop02/enable"},
	} {
		wantProblem(t, e.do(c.method, c.path, nil, bearer(clerk)), 403, "auth.forbidden")
	}
	wantProblem(t, e.do("POST", "/api/v1/employer/operators", map[string]string{"operator_id": "mine", "name": "x"}, bearer(clerk)), 403, "auth.forbidden")

	// Another unit's operator is not found, and untouched.
	for _, action := range []string{"disable", "enable", "reset-password"} {
		wantProblem(t, e.do("POST", "/api/v1/employer/operators/"+other.OperatorID+"/"+action, nil, bearer(admin)), 404, "operator.not_found")
	}
	e.loginEmployer(other)
	wantProblem(t, e.bad().do("POST", "/api/v1/employer/operators/"+"..%2f..%2fx/disable", nil, bearer(admin)), 404, "operator.not_found")

	// Not one's own account; not the last administrator.
	wantProblem(t, e.do("POST", "/api/v1/employer/operators/shop01/disable", nil, bearer(admin)), 409, "operator.self")
	wantProblem(t, e.do("POST", "/api/v1/employer/operators/shop01/reset-password", nil, bearer(admin)), 409, "operator.self")

	// Bad bodies.
	wantProblem(t, e.bad().do("POST", "/api/v1/employer/operators", `{"operator_id": "x"`, bearer(admin)), 400, "request.malformed_json")
	wantProblem(t, e.bad().do("POST", "/api/v1/employer/operators", map[string]any{"operator_id": 7, "name": "x"}, bearer(admin)), 400, "request.invalid")
	wantProblem(t, e.bad().do("POST", "/api/v1/employer/operators", map[string]any{"operator_id": "a b", "name": "x", "role": "admin"}, bearer(admin)), 400, "request.unknown_field")
	wantProblem(t, e.bad().do("POST", "/api/v1/employer/operators", map[string]any{"operator_id": "a b", "name": "x"}, bearer(admin)), 400, "request.invalid")
	wantProblem(t, e.do("GET", "/api/v1/employer/operators", nil, bearer("forged.token.here")), 401, "auth.token_invalid")

	// Two resets at once: one shows a password, the other is refused, so
	// no administrator is handed a password that no longer works.
	e.setFaults("employer=latency:300ms")
	var wg sync.WaitGroup
	results := make([]*response, 2)
	for i := range results {
		wg.Go(func() {
			results[i] = e.do("POST", "/api/v1/employer/operators/shop02/reset-password", nil, bearer(admin))
		})
	}
	wg.Wait()
	e.setFaults("")
	statuses := []int{results[0].StatusCode, results[1].StatusCode}
	slices.Sort(statuses)
	if !slices.Equal(statuses, []int{200, 409}) {
		t.Fatalf("two resets at once: %v (%s | %s)", statuses, results[0].body, results[1].body)
	}
	var reset employer.TemporaryPasswordBody
	for _, r := range results {
		if r.StatusCode == 409 && r.problem(t).Code != "operator.in_flight" {
			t.Fatalf("the refused reset: %s", r.body)
		}
		if r.StatusCode == 200 {
			r.json(t, &reset)
		}
	}
	// The reset ended the clerk's session; the shown password works.
	wantProblem(t, e.do("GET", "/api/v1/employer/staff", nil, bearer(clerk)), 401, "auth.session_revoked")
	c := e.unitOperator("shop02")
	c.Password = reset.TemporaryPassword
	temp := e.loginEmployer(c).AccessToken

	// Guessing the current password on the change route locks out.
	var last *response
	for range 8 {
		last = e.do("POST", "/api/v1/auth/employer/password", map[string]string{"current_password": "Guess-0000-x", "new_password": "Strong-2026-pass"}, bearer(temp))
		if last.StatusCode == http.StatusLocked {
			break
		}
		if last.StatusCode != 401 {
			t.Fatalf("guess: %d %s", last.StatusCode, last.body)
		}
	}
	wantProblem(t, last, 423, "auth.locked")
	// The right password now: still refused, by the lock or by the
	// route's own limit, whichever comes first.
	r := e.do("POST", "/api/v1/auth/employer/password", map[string]string{"current_password": reset.TemporaryPassword, "new_password": "Strong-2026-pass"}, bearer(temp))
	if r.StatusCode != 423 && r.StatusCode != 429 {
		t.Fatalf("right password after the lockout: %d %s", r.StatusCode, r.body)
	}
}
