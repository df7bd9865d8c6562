package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services/audit"
	"handheld/services/store"
	"handheld/services/wechat/wechattest"
)

func TestWeChatLoginBindRefreshAndReuse(t *testing.T) {
	t.Parallel()
	e := start(t)
	zhang := e.persona("depositor", "张伟")
	tok := e.bindWeChat("oZhangWei000001", zhang)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn < 800 {
		t.Fatalf("tokens %+v", tok)
	}
	r := e.do("GET", "/api/v1/me/session", nil, bearer(tok.AccessToken))
	var sess struct{ Subject, Role, Channel string }
	r.json(t, &sess)
	if r.StatusCode != 200 || sess.Role != "depositor" || sess.Channel != "miniapp" || !strings.HasPrefix(sess.Subject, "s_") {
		t.Fatalf("session %d %s", r.StatusCode, r.body)
	}

	// A bound openid logs straight in, as the same subject.
	r = e.do("POST", "/api/v1/auth/wechat", map[string]string{"code": e.wechatCode("oZhangWei000001")}, nil)
	var again tokens
	r.json(t, &again)
	if again.AccessToken == "" || again.BindingToken != "" {
		t.Fatalf("bound login: %s", r.body)
	}
	var sess2 struct{ Subject string }
	e.do("GET", "/api/v1/me/session", nil, bearer(again.AccessToken)).json(t, &sess2)
	if sess2.Subject != sess.Subject {
		t.Fatalf("subject changed: %s → %s", sess.Subject, sess2.Subject)
	}

	// Refresh rotates; the old refresh token is then a reuse that ends the family.
	r = e.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": tok.RefreshToken}, nil)
	var rotated tokens
	r.json(t, &rotated)
	if r.StatusCode != 200 || rotated.RefreshToken == "" || rotated.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh %d %s", r.StatusCode, r.body)
	}
	if r := e.do("GET", "/api/v1/me/session", nil, bearer(rotated.AccessToken)); r.StatusCode != 200 {
		t.Fatalf("rotated access token: %d", r.StatusCode)
	}
	wantProblem(t, e.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": tok.RefreshToken}, nil), 401, "auth.refresh_reused")
	wantProblem(t, e.do("GET", "/api/v1/me/session", nil, bearer(rotated.AccessToken)), 401, "auth.session_revoked")
	wantProblem(t, e.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": rotated.RefreshToken}, nil), 401, "auth.refresh_invalid")
	// The other session (second login) is untouched.
	if r := e.do("GET", "/api/v1/me/session", nil, bearer(again.AccessToken)); r.StatusCode != 200 {
		t.Fatalf("unrelated session revoked: %d", r.StatusCode)
	}
	wantProblem(t, e.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": "rt_forged-token-value"}, nil), 401, "auth.refresh_invalid")
}

func TestBindingTokenIsSingleUseAndBadInputSpendsNothing(t *testing.T) {
	t.Parallel()
	e := start(t, policies()) // seven binds from one address: more than bind_ip allows

	li := e.persona("depositor", "李娜")
	var first tokens
	e.do("POST", "/api/v1/auth/wechat", map[string]string{"code": e.wechatCode("oLiNa0000000001")}, nil).json(t, &first)
	bt := bearer(first.BindingToken)

	// Local validation fails before the token is spent.
	for _, bad := range []struct{ id, field, code string }{
		{"33010519900721262", "id_number", "format"},
		{"330105199007212627", "id_number", "checksum"},
		{"330105199013212626", "id_number", "birth_date"},
	} {
		r := e.bad().do("POST", "/api/v1/auth/bind", map[string]string{"name": li.Name, "id_number": bad.id}, bt)
		if r.StatusCode != 400 {
			t.Fatalf("%s: %d %s", bad.id, r.StatusCode, r.body)
		}
		p := r.problem(t)
		if len(p.Errors) != 1 || p.Errors[0].Field != bad.field || p.Errors[0].Code != bad.code {
			t.Fatalf("%s: %+v", bad.id, p.Errors)
		}
	}
	wantProblem(t, e.bad().do("POST", "/api/v1/auth/bind", `{"name":"李娜","id_number":"330105199007212626","extra":1}`, bt), 400, "request.unknown_field")
	wantProblem(t, e.bad().do("POST", "/api/v1/auth/bind", `{"name":"李娜",`, bt), 400, "request.malformed_json")
	wantProblem(t, e.bad().do("POST", "/api/v1/auth/bind", `name=x`, http.Header{"Authorization": bt["Authorization"], "Content-Type": {"application/x-www-form-urlencoded"}}), 415, "request.unsupported_media_type")

	// Without a strong factor: a field error, and the token is not spent.
	r := e.do("POST", "/api/v1/auth/bind", map[string]string{"name": li.Name, "id_number": li.IDNumber}, bt)
	wantProblem(t, r, 400, "request.invalid")
	if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "face_result" || p.Errors[0].Code != "required" {
		t.Fatalf("no factor: %+v", p.Errors)
	}

	// The token still works once, then never again.
	face := map[string]string{"name": li.Name, "id_number": li.IDNumber, "face_result": e.passedFace(first.BindingToken, li)}
	if r := e.do("POST", "/api/v1/auth/bind", face, bt); r.StatusCode != 200 {
		t.Fatalf("bind %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.do("POST", "/api/v1/auth/bind", face, bt), 401, "auth.binding_invalid")
}

func TestWeChatErrorsAreProblems(t *testing.T) {
	t.Parallel()
	e := start(t)
	cases := []struct {
		errcode int64
		status  int
		code    string
	}{
		{40029, 400, "wechat.invalid_code"},
		{45011, 429, "wechat.rate_limited"},
		{-1, 503, "wechat.unavailable"},
	}
	for _, tc := range cases {
		e.wechat.FailNext(wechattest.Login, tc.errcode)
		wantProblem(t, e.do("POST", "/api/v1/auth/wechat", map[string]string{"code": e.wechatCode("oErr00000000001")}, nil), tc.status, tc.code)
	}
	before := e.wechat.Calls(wechattest.Login)
	wantProblem(t, e.bad().do("POST", "/api/v1/auth/wechat", map[string]string{"code": "bad code/../x"}, nil), 400, "request.invalid")
	wantProblem(t, e.do("POST", "/api/v1/auth/wechat", map[string]string{"code": "sandbox:oAnyone123"}, nil), 400, "wechat.invalid_code")
	wantProblem(t, e.bad().do("POST", "/api/v1/auth/wechat", `{"code":42}`, nil), 400, "request.invalid")
	if e.wechat.Calls(wechattest.Login) != before {
		t.Fatal("an invalid code reached WeChat")
	}
	// A used code is refused by WeChat (40163).
	code := e.wechatCode("oOnce0000000001")
	e.do("POST", "/api/v1/auth/wechat", map[string]string{"code": code}, nil)
	wantProblem(t, e.do("POST", "/api/v1/auth/wechat", map[string]string{"code": code}, nil), 400, "wechat.invalid_code")
}

func TestEmployerLoginScopeAndLockout(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *bff.Config) { c.LockoutFailures, c.LockoutDelay, c.LockoutDelayMax = 3, 0, 0 })
	minghu := e.persona("employer", "")
	tok := e.loginEmployer(minghu)
	r := e.do("GET", "/api/v1/employer/unit", nil, bearer(tok.AccessToken))
	var unit struct {
		UnitCode string `json:"unit_code"`
	}
	r.json(t, &unit)
	if r.StatusCode != 200 || unit.UnitCode != minghu.UnitCode {
		t.Fatalf("unit %d %s", r.StatusCode, r.body)
	}

	// A unit code of digits only (no letters) signs in too: audit records
	// carry a pseudonym of the unit, never its code.
	for _, p := range e.sim.Personas() {
		if p.Role == "employer" && p.UnitCode != minghu.UnitCode {
			other := e.loginEmployer(p)
			r := e.do("GET", "/api/v1/employer/unit", nil, bearer(other.AccessToken))
			r.json(t, &unit)
			if unit.UnitCode != p.UnitCode {
				t.Fatalf("second employer sees unit %s", unit.UnitCode)
			}
		}
	}

	badUnit := map[string]string{"unit_code": "91330106MA2GL3K72X", "operator_id": "x", "password": "y"}
	r = e.do("POST", "/api/v1/auth/employer", badUnit, nil)
	if p := r.problem(t); r.StatusCode != 400 || p.Errors[0].Field != "unit_code" || p.Errors[0].Code != "checksum" {
		t.Fatalf("bad unit code: %d %s", r.StatusCode, r.body)
	}

	wrong := map[string]string{"unit_code": minghu.UnitCode, "operator_id": minghu.OperatorID, "password": "guess"}
	wantProblem(t, e.do("POST", "/api/v1/auth/employer", wrong, nil), 401, "auth.bad_credentials")
	wantProblem(t, e.do("POST", "/api/v1/auth/employer", wrong, nil), 401, "auth.bad_credentials")
	r = e.do("POST", "/api/v1/auth/employer", wrong, nil)
	wantProblem(t, r, 423, "auth.locked")
	if ra := r.Header.Get("Retry-After"); ra != "900" {
		t.Fatalf("Retry-After %q", ra)
	}
	// Locked: even the right password is refused, without asking the core.
	right := map[string]string{"unit_code": minghu.UnitCode, "operator_id": minghu.OperatorID, "password": minghu.Password}
	calls := e.sim.Calls("employer")
	wantProblem(t, e.do("POST", "/api/v1/auth/employer", right, nil), 423, "auth.locked")
	if e.sim.Calls("employer") != calls {
		t.Fatal("a locked operator's attempt reached the core")
	}
}

func TestKioskDeviceAndCitizen(t *testing.T) {
	e := start(t, func(c *bff.Config) {
		c.KioskIdle = time.Second
		c.RevocationCache = 0
	})
	key := bff.DemoKioskKey()
	nonce := newNonce()
	r := e.do("POST", "/api/v1/kiosk/session", nil, deviceHeaders(bff.DemoKioskID, key, time.Now(), nonce))
	var dev tokens
	r.json(t, &dev)
	if r.StatusCode != 200 || dev.RefreshToken != "" || dev.ExpiresIn < 3000 {
		t.Fatalf("device session %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.do("POST", "/api/v1/kiosk/session", nil, deviceHeaders(bff.DemoKioskID, key, time.Now(), nonce)), 401, "auth.replayed")
	wantProblem(t, e.do("POST", "/api/v1/kiosk/session", nil, deviceHeaders(bff.DemoKioskID, key, time.Now().Add(-10*time.Minute), newNonce())), 401, "auth.device_signature")
	_, other, _ := ed25519GenerateKey()
	wantProblem(t, e.do("POST", "/api/v1/kiosk/session", nil, deviceHeaders(bff.DemoKioskID, other, time.Now(), newNonce())), 401, "auth.device_signature")
	wantProblem(t, e.do("POST", "/api/v1/kiosk/session", nil, deviceHeaders("kiosk-unknown", key, time.Now(), newNonce())), 401, "auth.device_signature")
	wantProblem(t, e.bad().do("POST", "/api/v1/kiosk/session", nil, nil), 401, "auth.device_signature")

	li := e.persona("depositor", "李娜")
	wrongFace := map[string]string{"name": li.Name, "id_number": li.IDNumber, "face_token": "face:somebody-else"}
	wantProblem(t, e.do("POST", "/api/v1/auth/kiosk", wrongFace, bearer(dev.AccessToken)), 401, "auth.face_mismatch")
	citizen := e.loginKiosk(dev.AccessToken, li)
	if citizen.RefreshToken != "" || citizen.ExpiresIn > 900 {
		t.Fatalf("kiosk citizen tokens %+v", citizen)
	}
	r = e.do("GET", "/api/v1/me/session", nil, bearer(citizen.AccessToken))
	if r.StatusCode != 200 || !strings.Contains(string(r.body), `"channel":"kiosk"`) {
		t.Fatalf("citizen session %d %s", r.StatusCode, r.body)
	}
	// Activity keeps the session; then idleness ends it.
	time.Sleep(600 * time.Millisecond)
	if r := e.do("GET", "/api/v1/me/session", nil, bearer(citizen.AccessToken)); r.StatusCode != 200 {
		t.Fatalf("active session ended: %d", r.StatusCode)
	}
	time.Sleep(600 * time.Millisecond)
	if r := e.do("GET", "/api/v1/me/session", nil, bearer(citizen.AccessToken)); r.StatusCode != 200 {
		t.Fatalf("session ended within the idle time: %d", r.StatusCode)
	}
	time.Sleep(1300 * time.Millisecond)
	wantProblem(t, e.do("GET", "/api/v1/me/session", nil, bearer(citizen.AccessToken)), 401, "auth.idle_timeout")
	wantProblem(t, e.do("GET", "/api/v1/me/session", nil, bearer(citizen.AccessToken)), 401, "auth.session_revoked")
}

func TestDisabledKiosk(t *testing.T) {
	t.Parallel()
	pub, priv, _ := ed25519GenerateKey()
	e := start(t, func(c *bff.Config) {
		c.Kiosks = append(c.Kiosks, bff.KioskDevice{ID: "kiosk-off-01", Location: "closed branch", PublicKey: b64(pub), Enabled: false})
	})
	wantProblem(t, e.do("POST", "/api/v1/kiosk/session", nil, deviceHeaders("kiosk-off-01", priv, time.Now(), newNonce())), 403, "auth.device_disabled")
}

// Which role reaches which route: the subject is always the token's.
func TestRoleGating(t *testing.T) {
	t.Parallel()
	e := start(t)
	depositor := e.bindWeChat("oGate0000000001", e.persona("depositor", "张伟")).AccessToken
	employer := e.loginEmployer(e.persona("employer", "")).AccessToken
	device := e.deviceToken()
	citizen := e.loginKiosk(device, e.persona("depositor", "李娜")).AccessToken
	routes := []struct {
		method, path string
		body         any
		allowed      map[string]bool
	}{
		{"GET", "/api/v1/me/session", nil, map[string]bool{"depositor": true, "citizen": true}},
		{"GET", "/api/v1/employer/unit", nil, map[string]bool{"employer": true}},
		{"GET", "/api/v1/kiosk/device", nil, map[string]bool{"device": true}},
		{"POST", "/api/v1/auth/kiosk", map[string]string{"name": "张伟", "id_number": "330106198503124133", "face_token": "face:demo-zhangwei"}, map[string]bool{"device": true}},
	}
	who := map[string]string{"depositor": depositor, "employer": employer, "device": device, "citizen": citizen}
	for _, rt := range routes {
		for name, tok := range who {
			r := e.do(rt.method, rt.path, rt.body, bearer(tok))
			if rt.allowed[name] {
				if r.StatusCode != 200 {
					t.Errorf("%s %s as %s: %d %s", rt.method, rt.path, name, r.StatusCode, r.body)
				}
				continue
			}
			if r.StatusCode != 403 || r.problem(t).Code != "auth.forbidden" {
				t.Errorf("%s %s as %s: %d, want 403 auth.forbidden", rt.method, rt.path, name, r.StatusCode)
			}
		}
		wantProblem(t, e.bad().do(rt.method, rt.path, rt.body, nil), 401, "auth.token_missing")
		wantProblem(t, e.bad().do(rt.method, rt.path, rt.body, http.Header{"Authorization": {"Basic abc"}}), 401, "auth.token_invalid")
	}
}

func TestLogoutRevokesAtOnce(t *testing.T) {
	t.Parallel()
	e := start(t)
	tok := e.bindWeChat("oLogout00000001", e.persona("depositor", "欧阳晓峰"))
	if r := e.do("POST", "/api/v1/auth/logout", nil, bearer(tok.AccessToken)); r.StatusCode != 204 {
		t.Fatalf("logout %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.do("GET", "/api/v1/me/session", nil, bearer(tok.AccessToken)), 401, "auth.session_revoked")
	wantProblem(t, e.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": tok.RefreshToken}, nil), 401, "auth.refresh_invalid")
}

// The audit trail holds every sign-in event as an unbroken chain, and no
// log line or audit record carries a name, ID number, phone or openid.
func TestAuditTrailAndNoPersonalDataInLogs(t *testing.T) {
	t.Parallel()
	e := start(t)
	zhang := e.persona("depositor", "张伟")
	tok := e.bindWeChat("oAuditZhang0001", zhang)
	e.do("POST", "/api/v1/auth/logout", nil, bearer(tok.AccessToken))
	emp := e.persona("employer", "")
	e.do("POST", "/api/v1/auth/employer", map[string]string{"unit_code": emp.UnitCode, "operator_id": emp.OperatorID, "password": "wrong"}, nil)
	e.stop()

	s, err := store.Open(t.Context(), e.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rep, err := audit.Verify(t.Context(), s)
	if err != nil || rep.FirstBroken != 0 || rep.Records < 3 {
		t.Fatalf("audit chain: %+v %v", rep, err)
	}
	rows, err := s.Query(t.Context(), `SELECT action, subject, actor, target FROM audit_log ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var actions []string
	var all strings.Builder
	for rows.Next() {
		var a, sub, actor, target string
		if err := rows.Scan(&a, &sub, &actor, &target); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, a)
		all.WriteString(sub + actor + target)
	}
	for _, want := range []string{"bind", "logout", "login.failure"} {
		if !strings.Contains(strings.Join(actions, ","), want) {
			t.Errorf("no %s in audit actions %v", want, actions)
		}
	}
	logs := e.logs.String() + all.String()
	for _, secret := range []string{zhang.Name, zhang.IDNumber, "oAuditZhang0001", emp.Password, tok.AccessToken, tok.RefreshToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs or audit carry %q", secret)
		}
	}
}
