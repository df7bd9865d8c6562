package e2e

import (
	"testing"
)

// TestNightSignIn: during the core's maintenance window a person already
// bound signs in with WeChat, and an employer operator who signed in
// before signs in again from the cached credential check; a wrong
// password is still refused and counts towards the lockout.
func TestNightSignIn(t *testing.T) {
	e := start(t, policies())
	zhang := e.persona("depositor", "张伟")
	e.bindWeChat("oNight000000001", zhang)
	clerk := e.unitOperator("shop01")
	e.loginEmployer(clerk)

	e.setMaintenance("00:00-23:59")
	defer e.setMaintenance("")
	r := e.do("POST", "/api/v1/auth/wechat", map[string]string{"code": e.wechatCode("oNight000000001")}, nil)
	if r.StatusCode != 200 {
		t.Fatalf("bound wechat sign-in in the window: %d %s", r.StatusCode, r.body)
	}
	var tok tokens
	r.json(t, &tok)
	if tok.AccessToken == "" {
		t.Fatalf("no tokens: %s", r.body)
	}
	r = e.do("POST", "/api/v1/auth/employer", map[string]string{"unit_code": clerk.UnitCode, "operator_id": clerk.OperatorID, "password": clerk.Password}, nil)
	if r.StatusCode != 200 {
		t.Fatalf("employer sign-in in the window: %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.do("POST", "/api/v1/auth/employer", map[string]string{"unit_code": clerk.UnitCode, "operator_id": clerk.OperatorID, "password": clerk.Password + "x"}, nil), 401, "auth.bad_credentials")
}
