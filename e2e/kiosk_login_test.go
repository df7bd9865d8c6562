package e2e

import (
	"crypto/ed25519"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services"
	"handheld/services/identity"
	"handheld/services/store"
)

// Sign-in at a kiosk by phone QR (issue 16, part 2; docs/api.md § Sign-in
// at a kiosk by phone QR).

type loginCode struct {
	Code      string `json:"code"`
	URL       string `json:"url"`
	ExpiresIn int    `json:"expires_in"`
}

type codeState struct {
	Status      string `json:"status"`
	ExpiresIn   int    `json:"expires_in"`
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

// withKioskB registers kiosk B next to the demo kiosk.
func withKioskB(key *ed25519.PrivateKey) option {
	pub, priv, _ := ed25519GenerateKey()
	*key = priv
	return func(c *bff.Config) {
		c.Kiosks = append(c.Kiosks, bff.KioskDevice{ID: "kiosk-b-01", Location: "B hall", PublicKey: b64(pub), Enabled: true})
	}
}

func (e *env) kioskToken(id string, key ed25519.PrivateKey) string {
	e.t.Helper()
	r := e.do("POST", "/api/v1/kiosk/session", nil, deviceHeaders(id, key, time.Now(), newNonce()))
	if r.StatusCode != 200 {
		e.t.Fatalf("device session %d %s", r.StatusCode, r.body)
	}
	var tok tokens
	r.json(e.t, &tok)
	return tok.AccessToken
}

func (e *env) newLoginCode(device string) loginCode {
	e.t.Helper()
	r := e.do("POST", "/api/v1/kiosk/login-codes", nil, bearer(device))
	if r.StatusCode != 201 {
		e.t.Fatalf("login code %d %s", r.StatusCode, r.body)
	}
	var lc loginCode
	r.json(e.t, &lc)
	return lc
}

func (e *env) pollCode(device, code string) *response {
	return e.do("GET", "/api/v1/kiosk/login-codes/"+code, nil, bearer(device))
}

func (e *env) confirmCode(phone, code string) *response {
	return e.do("POST", "/api/v1/me/kiosk-logins", map[string]string{"code": code}, bearer(phone))
}

// The whole flow: the kiosk's code, the phone's preview and confirmation,
// the kiosk collecting a kiosk citizen session once; the session reads the
// person's home, ends when idle, and nothing works twice.
func TestKioskLoginByPhone(t *testing.T) {
	e := start(t, func(c *bff.Config) {
		c.KioskIdle = 2 * time.Second
		c.RevocationCache = 0
	})
	li := e.persona("depositor", "李娜")
	phone := e.bindWeChat("o-qr-li", li).AccessToken // bound with a face check just now
	device := e.deviceToken()

	lc := e.newLoginCode(device)
	u, err := url.Parse(lc.URL)
	if err != nil || u.Path != "/kiosk-login" || u.Query().Get("code") != lc.Code || !strings.HasPrefix(lc.URL, e.cfg.PublicBase()) ||
		lc.ExpiresIn != 60 || !identity.LoginCodePattern.MatchString(lc.Code) {
		t.Fatalf("login code %+v", lc)
	}
	var st codeState
	r := e.pollCode(device, lc.Code)
	r.json(t, &st)
	if r.StatusCode != 200 || st.Status != "pending" || st.AccessToken != "" || st.ExpiresIn < 1 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("pending poll %d %s", r.StatusCode, r.body)
	}

	r = e.do("GET", "/api/v1/me/kiosk-logins/"+lc.Code, nil, bearer(phone))
	if r.StatusCode != 200 || !strings.Contains(string(r.body), `"device_id":"`+bff.DemoKioskID+`"`) || !strings.Contains(string(r.body), `"location":"`) {
		t.Fatalf("preview %d %s", r.StatusCode, r.body)
	}
	r = e.confirmCode(phone, lc.Code)
	if r.StatusCode != 200 || !strings.Contains(string(r.body), `"confirmed_at":"`) {
		t.Fatalf("confirm %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.confirmCode(phone, lc.Code), 410, "kiosk_login.used")

	r = e.pollCode(device, lc.Code)
	st = codeState{}
	r.json(t, &st)
	if r.StatusCode != 200 || st.Status != "confirmed" || st.AccessToken == "" || st.TokenType != "Bearer" || st.ExpiresIn > 900 {
		t.Fatalf("confirmed poll %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.pollCode(device, lc.Code), 410, "kiosk_login.used")

	citizen := st.AccessToken
	r = e.do("GET", "/api/v1/me/session", nil, bearer(citizen))
	if r.StatusCode != 200 || !strings.Contains(string(r.body), `"channel":"kiosk"`) {
		t.Fatalf("citizen session %d %s", r.StatusCode, r.body)
	}
	if r := e.do("GET", "/api/v1/me/home", nil, bearer(citizen)); r.StatusCode != 200 {
		t.Fatalf("home at the kiosk %d %s", r.StatusCode, r.body)
	}
	// The kiosk session carries the phone's face check: a certificate
	// needs no step-up at the kiosk.
	if r := e.issue(citizen, "qr-cert-1", map[string]string{"type": "deposit_use"}); r.StatusCode != 201 {
		t.Fatalf("certificate at the kiosk %d %s", r.StatusCode, r.body)
	}
	// A kiosk citizen session cannot confirm another code.
	other := e.newLoginCode(device)
	wantProblem(t, e.confirmCode(citizen, other.Code), 403, "auth.forbidden")
	wantProblem(t, e.do("GET", "/api/v1/me/kiosk-logins/"+other.Code, nil, bearer(citizen)), 403, "auth.forbidden")
	// Nor can the device itself, nor a phone create or poll codes.
	wantProblem(t, e.confirmCode(device, other.Code), 403, "auth.forbidden")
	wantProblem(t, e.do("POST", "/api/v1/kiosk/login-codes", nil, bearer(phone)), 403, "auth.forbidden")
	wantProblem(t, e.pollCode(phone, other.Code), 403, "auth.forbidden")

	// Idle, the kiosk session ends.
	time.Sleep(2500 * time.Millisecond)
	wantProblem(t, e.do("GET", "/api/v1/me/home", nil, bearer(citizen)), 401, "auth.idle_timeout")

	// The trail: the code created by the device, confirmed by the person
	// for the kiosk, the sign-in by phone QR.
	var created, confirmed, login int
	s, err := store.Open(t.Context(), e.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.Query(t.Context(), `SELECT action, actor, target, result FROM audit_log WHERE action IN
		('kiosk_login.create', 'kiosk_login.confirm', 'login.success')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var action, actor, target, result string
		if err := rows.Scan(&action, &actor, &target, &result); err != nil {
			t.Fatal(err)
		}
		switch {
		case action == "kiosk_login.create" && actor == "device:"+bff.DemoKioskID && result == "ok":
			created++
		case action == "kiosk_login.confirm" && target == "device:"+bff.DemoKioskID && result == "ok":
			confirmed++
		case action == "login.success" && target == "phone_qr" && actor == "device:"+bff.DemoKioskID:
			login++
		}
	}
	rows.Close()
	if created != 2 || confirmed != 1 || login != 1 {
		t.Fatalf("audit: %d created, %d confirmed, %d logins by phone QR", created, confirmed, login)
	}
	if strings.Contains(e.logs.String(), lc.Code) {
		t.Fatal("a sign-in code in the logs")
	}
}

// Kiosk B can neither poll nor collect kiosk A's code: exactly as a code
// that does not exist. The same kiosk signed in again cannot either.
func TestKioskLoginOtherKiosk(t *testing.T) {
	t.Parallel()
	var keyB ed25519.PrivateKey
	e := start(t, withKioskB(&keyB))
	a := e.deviceToken()
	b := e.kioskToken("kiosk-b-01", keyB)
	lc := e.newLoginCode(a)
	wantProblem(t, e.pollCode(b, lc.Code), 404, "kiosk_login.not_found")
	wantProblem(t, e.pollCode(b, strings.Repeat("Q", 32)), 404, "kiosk_login.not_found")
	wantProblem(t, e.pollCode(e.deviceToken(), lc.Code), 404, "kiosk_login.not_found")
	phone := e.bindWeChat("o-qr-other", e.persona("depositor", "李娜")).AccessToken
	if r := e.confirmCode(phone, lc.Code); r.StatusCode != 200 {
		t.Fatalf("confirm %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.pollCode(b, lc.Code), 404, "kiosk_login.not_found")
	if r := e.pollCode(a, lc.Code); r.StatusCode != 200 || !strings.Contains(string(r.body), `"access_token"`) {
		t.Fatalf("kiosk A collects %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.confirmCode(phone, strings.Repeat("Q", 32)), 404, "kiosk_login.not_found")
	// A citizen signed in at kiosk B cannot confirm kiosk A's next code.
	next := e.newLoginCode(a)
	atB := e.loginKiosk(b, e.persona("depositor", "张伟")).AccessToken
	wantProblem(t, e.confirmCode(atB, next.Code), 403, "auth.forbidden")
	if r := e.pollCode(a, next.Code); !strings.Contains(string(r.body), `"status":"pending"`) {
		t.Fatalf("after kiosk B's citizen tried %d %s", r.StatusCode, r.body)
	}
}

// After its time a code is expired to the kiosk and to the phone.
func TestKioskLoginExpires(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *bff.Config) { c.KioskLoginTTL = time.Second })
	phone := e.bindWeChat("o-qr-late", e.persona("depositor", "李娜")).AccessToken
	device := e.deviceToken()
	lc := e.newLoginCode(device)
	if lc.ExpiresIn != 1 {
		t.Fatalf("expires_in %d", lc.ExpiresIn)
	}
	time.Sleep(1100 * time.Millisecond)
	wantProblem(t, e.pollCode(device, lc.Code), 410, "kiosk_login.expired")
	wantProblem(t, e.do("GET", "/api/v1/me/kiosk-logins/"+lc.Code, nil, bearer(phone)), 410, "kiosk_login.expired")
	wantProblem(t, e.confirmCode(phone, lc.Code), 410, "kiosk_login.expired")
}

// Confirming needs a recent face check: after max_age, 403 step-up with
// what is needed; the code stays pending.
func TestKioskLoginNeedsARecentFace(t *testing.T) {
	t.Parallel()
	e := start(t, withAssurance(func(a *identity.Assurance) {
		// A face check's time is kept in whole seconds: 3 s leaves a fresh
		// one room to be used on a loaded machine, where 1 s did not.
		a.Services[identity.ServiceKioskLogin] = identity.Requirement{ACR: services.ACRFace, MaxAge: 3 * time.Second}
	}))
	phone := e.bindWeChat("o-qr-stale", e.persona("depositor", "李娜")).AccessToken
	device := e.deviceToken()
	lc := e.newLoginCode(device)
	time.Sleep(4100 * time.Millisecond)
	r := e.confirmCode(phone, lc.Code)
	wantProblem(t, r, 403, "auth.step_up_required")
	if p := r.problem(t); p.RequiredACR != "face" || p.MaxAge == nil || *p.MaxAge != 3 {
		t.Fatalf("step-up problem %s", r.body)
	}
	if r := e.pollCode(device, lc.Code); !strings.Contains(string(r.body), `"status":"pending"`) {
		t.Fatalf("after a refused confirmation %d %s", r.StatusCode, r.body)
	}
	// A fresh face check and it works.
	if r := e.confirmCode(e.stepUp(phone), lc.Code); r.StatusCode != 200 {
		t.Fatalf("after step-up %d %s", r.StatusCode, r.body)
	}
}

// Two phones confirm one code at once: exactly one wins, the other is
// told the code is used; the kiosk gets exactly one session.
func TestKioskLoginConfirmRace(t *testing.T) {
	t.Parallel()
	e := start(t)
	phones := []string{
		e.bindWeChat("o-qr-race-1", e.persona("depositor", "李娜")).AccessToken,
		e.bindWeChat("o-qr-race-2", e.persona("depositor", "张伟")).AccessToken,
	}
	device := e.deviceToken()
	for round := range 3 {
		lc := e.newLoginCode(device)
		statuses := make([]int, 4)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.confirmCode(phones[i%2], lc.Code)
				statuses[i] = r.StatusCode
				if r.StatusCode != 200 && !strings.Contains(string(r.body), `"code":"kiosk_login.used"`) {
					t.Errorf("loser %d %s", r.StatusCode, r.body)
				}
			}()
		}
		wg.Wait()
		won := 0
		for _, s := range statuses {
			if s == 200 {
				won++
			}
		}
		if won != 1 {
			t.Fatalf("round %d: statuses %v, want exactly one 200", round, statuses)
		}
		if r := e.pollCode(device, lc.Code); r.StatusCode != 200 || !strings.Contains(string(r.body), `"access_token"`) {
			t.Fatalf("collect %d %s", r.StatusCode, r.body)
		}
	}
}

// Bad input: a malformed or oversize code is a 400 field error; unknown
// JSON fields are refused; script-bearing input is never echoed.
func TestKioskLoginBadInput(t *testing.T) {
	t.Parallel()
	e := start(t)
	phone := e.bindWeChat("o-qr-bad", e.persona("depositor", "李娜")).AccessToken
	device := e.deviceToken()
	lc := e.newLoginCode(device)
	for _, code := range []string{"short", strings.Repeat("A", 33), strings.Repeat("A", 2000), "%3Cscript%3Ealert(1)%3C%2Fscript%3EAAAAAAAAA",
		strings.Repeat("A", 31) + "."} {
		rs := []*response{e.bad().pollCode(device, code)}
		if len(code) > 32 { // the person's budget (kiosk_login, burst 10) is small
			rs = append(rs, e.bad().do("GET", "/api/v1/me/kiosk-logins/"+code, nil, bearer(phone)))
		}
		for _, r := range rs {
			wantProblem(t, r, 400, "request.invalid")
			if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "code" || strings.Contains(string(r.body), "<script") {
				t.Fatalf("%q: %s", code, r.body)
			}
		}
	}
	for _, body := range []string{
		`{"code":"` + strings.Repeat("A", 33) + `"}`,
		`{"code":"<script>alert(1)</script>"}`,
		`{"code":""}`,
		`{}`,
	} {
		r := e.bad().do("POST", "/api/v1/me/kiosk-logins", body, bearer(phone))
		wantProblem(t, r, 400, "request.invalid")
		if strings.Contains(string(r.body), "<script") {
			t.Fatalf("echoed: %s", r.body)
		}
	}
	wantProblem(t, e.bad().do("POST", "/api/v1/me/kiosk-logins", `{"code":"`+lc.Code+`","device_id":"kiosk-b-01"}`, bearer(phone)),
		400, "request.unknown_field")
	wantProblem(t, e.bad().do("POST", "/api/v1/me/kiosk-logins", `{"code":`, bearer(phone)), 400, "request.malformed_json")
	// None of it touched the code.
	if r := e.pollCode(device, lc.Code); !strings.Contains(string(r.body), `"status":"pending"`) {
		t.Fatalf("after bad input %d %s", r.StatusCode, r.body)
	}
}
