package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"handheld/bff"
)

// from is a header set for a request sent through the trusted proxy on
// behalf of addr.
func from(addr string, h http.Header) http.Header {
	if h == nil {
		h = http.Header{}
	}
	h.Set("X-Forwarded-For", addr)
	return h
}

// behindProxy trusts the test client as a proxy, so X-Forwarded-For picks
// the client address.
func behindProxy(c *bff.Config) { c.TrustedProxies = []string{"127.0.0.1"} }

// withPolicy replaces one shipped policy's numbers.
func withPolicy(name string, rate, burst int, period time.Duration) option {
	return func(c *bff.Config) {
		for i := range c.RateLimits {
			if c.RateLimits[i].Name == name {
				c.RateLimits[i].Rate, c.RateLimits[i].Burst, c.RateLimits[i].Period = rate, burst, period
			}
		}
	}
}

// With the shipped policies, a flood from one address on any route without
// a token — sign-ins, refresh, the kiosk device session, verifier sign-in,
// public verification, the calculator — is refused with 429 while another
// address still gets through: no route lets one address spend the
// channel's ceiling.
func TestAnonymousFloodFromOneAddress(t *testing.T) {
	t.Parallel()
	e := start(t, behindProxy)
	n := 0
	unique := func() string { n++; return strconv.Itoa(n) + newNonce() }
	routes := []struct {
		name   string
		method string
		path   func() string
		body   func() any
		header func() http.Header
	}{
		{"calculator", "GET", func() string { return calculator }, nil, nil},
		{"jwks", "GET", func() string { return "/.well-known/jwks.json" }, nil, nil},
		{"verify", "GET", func() string { return "/api/v1/verify/ABCD" + strconv.Itoa(n%10) + "EFGH" }, nil, nil},
		{"certificate pdf", "GET", func() string { return "/api/v1/certificates/c_" + unique() + "/pdf?t=x" }, nil, nil},
		{"wechat", "POST", func() string { return "/api/v1/auth/wechat" },
			func() any { return map[string]string{"code": "c" + unique()} }, nil},
		{"bind", "POST", func() string { return "/api/v1/auth/bind" },
			func() any { return map[string]string{"name": "张伟", "id_number": "330106198503124133"} },
			func() http.Header { return bearer("bt_" + unique()) }},
		{"employer", "POST", func() string { return "/api/v1/auth/employer" },
			func() any {
				return map[string]string{"unit_code": "91330106MA2GL3K72J", "operator_id": "op" + unique(), "password": "x"}
			}, nil},
		{"verifier", "POST", func() string { return "/api/v1/auth/verifier" },
			func() any { return map[string]string{"client_id": "c" + unique(), "client_secret": "x"} }, nil},
		{"refresh", "POST", func() string { return "/api/v1/auth/refresh" },
			func() any { return map[string]string{"refresh_token": "rt_" + unique()} }, nil},
		{"kiosk session", "POST", func() string { return "/api/v1/kiosk/session" }, nil,
			func() http.Header {
				return deviceHeaders("kiosk-"+unique(), bff.DemoKioskKey(), time.Now(), newNonce())
			}},
	}
	for i, rt := range routes {
		send := func(addr string) *response {
			var body any
			if rt.body != nil {
				body = rt.body()
			}
			var h http.Header
			if rt.header != nil {
				h = rt.header()
			}
			return e.bad().do(rt.method, rt.path(), body, from(addr, h))
		}
		flooder, other := fmt.Sprintf("203.0.113.%d", i+1), fmt.Sprintf("198.51.100.%d", i+1)
		refused := 0
		for range 200 {
			if r := send(flooder); r.StatusCode == 429 {
				refused++
				break
			}
		}
		if refused == 0 {
			t.Errorf("%s: 200 requests from one address, none refused", rt.name)
			continue
		}
		if r := send(other); r.StatusCode == 429 {
			t.Errorf("%s: another address refused after one address's flood: %s", rt.name, r.body)
		}
	}
}

// The per-verifier limit is counted: a verifier past its budget is
// refused, whatever it verifies.
func TestVerifierLimitHolds(t *testing.T) {
	t.Parallel()
	e := start(t, withPolicy("verify_ecard_verifier", 2, 2, time.Minute))
	counter := e.verifierToken()
	for i := range 2 {
		if r := e.do("POST", "/api/v1/ecard/verify", map[string]string{"payload": "x.y.z"}, bearer(counter)); r.StatusCode == 429 {
			t.Fatalf("verification %d refused: %s", i+1, r.body)
		}
	}
	r := e.do("POST", "/api/v1/ecard/verify", map[string]string{"payload": "x.y.z"}, bearer(counter))
	wantProblem(t, r, 429, "rate_limited")
	if r.Header.Get("RateLimit-Limit") != "2" {
		t.Fatalf("decided by another policy: RateLimit-Limit %q", r.Header.Get("RateLimit-Limit"))
	}
}

// Field names match exactly and appear once: a case variant or a second
// copy of a field could otherwise show the rate limiter one account and
// the handler another.
func TestCaseVariantAndDuplicateFieldsRefused(t *testing.T) {
	t.Parallel()
	e := start(t, fastWithdrawals)
	li := e.persona("depositor", "李娜")
	device := e.deviceToken()
	kiosk := func(body string) *response { return e.bad().do("POST", "/api/v1/auth/kiosk", body, bearer(device)) }
	caseVariant := fmt.Sprintf(`{"name":%q,"id_number":"110101199003074514","ID_NUMBER":%q,"face_token":%q}`,
		li.Name, li.IDNumber, li.FaceToken)
	wantProblem(t, kiosk(caseVariant), 400, "request.unknown_field")
	duplicate := fmt.Sprintf(`{"name":%q,"id_number":"110101199003074514","id_number":%q,"face_token":%q}`,
		li.Name, li.IDNumber, li.FaceToken)
	wantProblem(t, kiosk(duplicate), 400, "request.duplicate_field")
	wantProblem(t, e.bad().do("POST", "/api/v1/auth/employer",
		`{"unit_code":"91330106MA2GL3K72J","OPERATOR_ID":"op","password":"x"}`, nil), 400, "request.unknown_field")

	zhang := e.persona("depositor", "张伟")
	tok := e.bindWeChat("o-case-variant-1", zhang).AccessToken
	wallet := payoutTo(t, zhang, "ecny")["account_id"]
	r := e.bad().apply(tok, "case-1", fmt.Sprintf(`{"type":"loan_repayment","Amount_Fen":1000000,"payout":{"account_id":%q}}`, wallet))
	wantProblem(t, r, 400, "request.unknown_field")
	r = e.apply(tok, "case-2", fmt.Sprintf(`{"type":"loan_repayment","amount_fen":1,"amount_fen":1000000,"payout":{"account_id":%q}}`, wallet))
	wantProblem(t, r, 400, "request.duplicate_field")
	if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "amount_fen" {
		t.Fatalf("duplicate field not named: %s", r.body)
	}
}

// A stranger guessing an operator's password from one address locks out
// that address, not the operator signing in from another; guessing spread
// over addresses still locks the operator.
func TestEmployerLockoutPerAddress(t *testing.T) {
	t.Parallel()
	// login_subject, which counts sign-ins per operator from any address,
	// is widened: here the lockout alone is under test.
	e := start(t, behindProxy, withPolicy("login_subject", 100, 100, time.Minute), func(c *bff.Config) {
		c.LockoutFailures, c.LockoutOperatorFailures, c.LockoutDelay, c.LockoutDelayMax = 3, 5, 0, 0
	})
	op := e.persona("employer", "")
	wrong := map[string]string{"unit_code": op.UnitCode, "operator_id": op.OperatorID, "password": "guess"}
	right := map[string]string{"unit_code": op.UnitCode, "operator_id": op.OperatorID, "password": op.Password}
	const stranger, office = "203.0.113.50", "198.51.100.7"
	wantProblem(t, e.do("POST", "/api/v1/auth/employer", wrong, from(stranger, nil)), 401, "auth.bad_credentials")
	wantProblem(t, e.do("POST", "/api/v1/auth/employer", wrong, from(stranger, nil)), 401, "auth.bad_credentials")
	wantProblem(t, e.do("POST", "/api/v1/auth/employer", wrong, from(stranger, nil)), 423, "auth.locked")
	wantProblem(t, e.do("POST", "/api/v1/auth/employer", right, from(stranger, nil)), 423, "auth.locked")
	if r := e.do("POST", "/api/v1/auth/employer", right, from(office, nil)); r.StatusCode != 200 {
		t.Fatalf("the operator from the office: %d %s", r.StatusCode, r.body)
	}
	// Two more failures from two more addresses make five: the operator
	// is locked, from everywhere.
	wantProblem(t, e.do("POST", "/api/v1/auth/employer", wrong, from("203.0.113.51", nil)), 401, "auth.bad_credentials")
	wantProblem(t, e.do("POST", "/api/v1/auth/employer", wrong, from("203.0.113.52", nil)), 423, "auth.locked")
	wantProblem(t, e.do("POST", "/api/v1/auth/employer", right, from(office, nil)), 423, "auth.locked")
}

// A stranger sending sign-ins for an operator from one address until the
// limiter answers 429 holds only that address back: the operator's own
// sign-in from the office goes through under the shipped limits.
func TestStrangerCannotHoldTheOperatorAt429(t *testing.T) {
	t.Parallel()
	e := start(t, behindProxy, func(c *bff.Config) {
		c.LockoutFailures, c.LockoutOperatorFailures, c.LockoutDelay, c.LockoutDelayMax = 100, 101, 0, 0
	})
	op := e.persona("employer", "")
	wrong := map[string]string{"unit_code": op.UnitCode, "operator_id": op.OperatorID, "password": "guess"}
	right := map[string]string{"unit_code": op.UnitCode, "operator_id": op.OperatorID, "password": op.Password}
	limited := false
	for range 30 {
		if r := e.do("POST", "/api/v1/auth/employer", wrong, from("203.0.113.60", nil)); r.StatusCode == 429 {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("30 sign-ins a minute from one address were never limited")
	}
	if r := e.do("POST", "/api/v1/auth/employer", right, from("198.51.100.8", nil)); r.StatusCode != 200 {
		t.Fatalf("the operator from the office: %d %s", r.StatusCode, r.body)
	}
}

// After a failure the same address waits before its next attempt, longer
// after each failure.
func TestEmployerProgressiveDelay(t *testing.T) {
	e := start(t)
	op := e.persona("employer", "")
	wrong := map[string]string{"unit_code": op.UnitCode, "operator_id": op.OperatorID, "password": "guess"}
	wantProblem(t, e.do("POST", "/api/v1/auth/employer", wrong, nil), 401, "auth.bad_credentials")
	r := e.do("POST", "/api/v1/auth/employer", wrong, nil)
	wantProblem(t, r, 423, "auth.locked")
	if ra := r.Header.Get("Retry-After"); ra != "1" {
		t.Fatalf("Retry-After %q after one failure, want 1", ra)
	}
}

// A kiosk citizen's session lives inside the device's: it expires with it
// at the latest, and ends when the device signs out.
func TestKioskCitizenSessionEndsWithDevice(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *bff.Config) { c.RevocationCache = 0; c.DeviceTokenTTL = 5 * time.Second })
	device := e.deviceToken()
	citizen := e.loginKiosk(device, e.persona("depositor", "李娜"))
	if citizen.ExpiresIn > 5 {
		t.Fatalf("citizen session outlives its device's: expires in %d s", citizen.ExpiresIn)
	}

	e = start(t, func(c *bff.Config) { c.RevocationCache = 0 })
	device = e.deviceToken()
	li, zhang := e.loginKiosk(device, e.persona("depositor", "李娜")), e.loginKiosk(device, e.persona("depositor", "张伟"))
	for _, c := range []tokens{li, zhang} {
		if r := e.do("GET", "/api/v1/me/session", nil, bearer(c.AccessToken)); r.StatusCode != 200 {
			t.Fatalf("citizen session %d %s", r.StatusCode, r.body)
		}
	}
	if r := e.do("POST", "/api/v1/auth/logout", nil, bearer(device)); r.StatusCode != 204 {
		t.Fatalf("device logout %d %s", r.StatusCode, r.body)
	}
	for _, c := range []tokens{li, zhang} {
		wantProblem(t, e.do("GET", "/api/v1/me/session", nil, bearer(c.AccessToken)), 401, "auth.session_revoked")
	}
	// A citizen's own logout still ends only their own session.
	other := e.deviceToken()
	a, b := e.loginKiosk(other, e.persona("depositor", "李娜")), e.loginKiosk(other, e.persona("depositor", "张伟"))
	if r := e.do("POST", "/api/v1/auth/logout", nil, bearer(a.AccessToken)); r.StatusCode != 204 {
		t.Fatalf("citizen logout %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.do("GET", "/api/v1/me/session", nil, bearer(a.AccessToken)), 401, "auth.session_revoked")
	if r := e.do("GET", "/api/v1/me/session", nil, bearer(b.AccessToken)); r.StatusCode != 200 {
		t.Fatalf("another citizen's logout ended this one: %d %s", r.StatusCode, r.body)
	}
}

// Replaying an Idempotency-Key answer does not spend a person's daily
// budget; a certificate accepted as pending while the core is down spends
// one unit, like one issued at once.
func TestBudgetsSpareReplaysAndFailures(t *testing.T) {
	t.Parallel()
	e := start(t, withPolicy("certificate_issue_subject", 2, 2, 24*time.Hour),
		withPolicy("withdrawal_submit_subject", 2, 2, time.Hour), withPolicy("read_subject", 1000, 1000, time.Minute))
	tok := e.bindWeChat("o-budget-0000001", e.persona("depositor", "张伟")).AccessToken
	body := map[string]string{"type": "deposit_use"}
	// With the core down a certificate is accepted as pending, to be
	// issued when the core returns (7×24): it spends one of the budget of
	// two, and its replays spend nothing.
	e.setFaults("certificate=down")
	first := e.issue(tok, "budget-1", body)
	if first.StatusCode != 202 {
		t.Fatalf("issue with the core down: %d %s", first.StatusCode, first.body)
	}
	for i := range 4 {
		r := e.issue(tok, "budget-1", body)
		if r.StatusCode != 202 || r.Header.Get("Idempotent-Replayed") != "true" || string(r.body) != string(first.body) {
			t.Fatalf("replay %d: %d %s", i+1, r.StatusCode, r.body)
		}
	}
	e.setFaults("")
	// The second, issued at once or pending while the core's breaker is
	// still open, spends the rest; a third is refused.
	if r := e.issue(tok, "budget-2", body); r.StatusCode != 201 && r.StatusCode != 202 {
		t.Fatalf("second certificate of a budget of two: %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.issue(tok, "budget-3", body), 429, "rate_limited")
	// A replay is still answered once the budget is spent.
	if r := e.issue(tok, "budget-1", body); r.StatusCode != 202 || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay with the budget spent: %d %s", r.StatusCode, r.body)
	}

	application := map[string]any{"type": "loan_repayment", "amount_fen": 1_000_000,
		"payout": payoutTo(t, e.persona("depositor", "张伟"), "ecny")}
	if r := e.apply(tok, "budget-w1", application); r.StatusCode != 202 {
		t.Fatalf("apply %d %s", r.StatusCode, r.body)
	}
	for i := range 3 {
		if r := e.apply(tok, "budget-w1", application); r.StatusCode != 202 || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("application replay %d: %d %s", i+1, r.StatusCode, r.body)
		}
	}
	// A second application of the same kind is refused (409, one in
	// flight): a refusal of the person's own request spends its unit.
	wantProblem(t, e.apply(tok, "budget-w2", application), 409, "withdrawal.in_flight")
	wantProblem(t, e.apply(tok, "budget-w3", application), 429, "rate_limited")
}
