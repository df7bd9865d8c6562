package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"

	"handheld/bff"
	"handheld/bff/auth"
	"handheld/services/coresim"
	"handheld/services/identity"
	"handheld/services/wechat/wechattest"
)

type tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	BindingToken string `json:"binding_token"`
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// persona returns the first seeded persona of role whose name is name (or
// any, when name is empty).
func (e *env) persona(role, name string) coresim.Persona {
	e.t.Helper()
	for _, p := range e.sim.Personas() {
		if p.Role == role && (name == "" || p.Name == name) {
			return p
		}
	}
	e.t.Fatalf("no %s persona %q", role, name)
	return coresim.Persona{}
}

// wechatCode registers a one-time login code for openid at the fake WeChat.
func (e *env) wechatCode(openid string) string {
	code := "c" + newNonce()
	e.wechat.AddLogin(code, openid, "")
	return code
}

// bindWeChat logs openid in and binds it to p; it returns the tokens.
func (e *env) bindWeChat(openid string, p coresim.Persona) tokens {
	e.t.Helper()
	var first tokens
	r := e.do("POST", "/api/v1/auth/wechat", map[string]string{"code": e.wechatCode(openid)}, nil)
	if r.StatusCode != 200 {
		e.t.Fatalf("wechat login %d %s", r.StatusCode, r.body)
	}
	r.json(e.t, &first)
	if first.BindingToken == "" {
		e.t.Fatalf("expected a binding token: %s", r.body)
	}
	face := e.passedFace(first.BindingToken, p)
	r = e.do("POST", "/api/v1/auth/bind", map[string]string{"name": p.Name, "id_number": p.IDNumber, "face_result": face}, bearer(first.BindingToken))
	if r.StatusCode != 200 {
		e.t.Fatalf("bind %d %s", r.StatusCode, r.body)
	}
	var tok tokens
	r.json(e.t, &tok)
	return tok
}

// faceCheck starts a WeChat face check with bearer (a binding token with
// body {name, id_number}, or a mini-program access token with body {}) and
// returns its verify id.
func (e *env) faceCheck(bearerToken string, body any) string {
	e.t.Helper()
	r := e.do("POST", "/api/v1/auth/face-checks", body, bearer(bearerToken))
	if r.StatusCode != 201 {
		e.t.Fatalf("face check %d %s", r.StatusCode, r.body)
	}
	var fc struct {
		VerifyID string `json:"verify_id"`
	}
	r.json(e.t, &fc)
	return fc.VerifyID
}

// passedFace is a face result for binding p with bindingToken: a face check
// the fake WeChat passes, as the persona's own face would at WeChat.
func (e *env) passedFace(bindingToken string, p coresim.Persona) string {
	e.t.Helper()
	id := e.faceCheck(bindingToken, map[string]string{"name": p.Name, "id_number": p.IDNumber})
	e.wechat.CompleteFace(id, wechattest.FacePassed)
	return id
}

// stepUp raises a mini-program session with a passed face check and
// returns the new access token.
func (e *env) stepUp(accessToken string) string {
	e.t.Helper()
	id := e.faceCheck(accessToken, map[string]string{})
	e.wechat.CompleteFace(id, wechattest.FacePassed)
	r := e.do("POST", "/api/v1/auth/step-up", map[string]string{"face_result": id}, bearer(accessToken))
	if r.StatusCode != 200 {
		e.t.Fatalf("step-up %d %s", r.StatusCode, r.body)
	}
	var tok tokens
	r.json(e.t, &tok)
	return tok.AccessToken
}

// loginEmployer signs an operator in.
func (e *env) loginEmployer(p coresim.Persona) tokens {
	e.t.Helper()
	r := e.do("POST", "/api/v1/auth/employer", map[string]string{"unit_code": p.UnitCode, "operator_id": p.OperatorID, "password": p.Password}, nil)
	if r.StatusCode != 200 {
		e.t.Fatalf("employer login %d %s", r.StatusCode, r.body)
	}
	var tok tokens
	r.json(e.t, &tok)
	return tok
}

// deviceHeaders signs a device-session request.
func deviceHeaders(device string, key ed25519.PrivateKey, ts time.Time, nonce string) http.Header {
	t := strconv.FormatInt(ts.Unix(), 10)
	sig := ed25519.Sign(key, identity.DeviceMessage("POST", "/api/v1/kiosk/session", t, nonce, nil))
	return http.Header{auth.HeaderDevice: {device}, auth.HeaderTimestamp: {t}, auth.HeaderNonce: {nonce},
		auth.HeaderSignature: {base64.StdEncoding.EncodeToString(sig)}}
}

func newNonce() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// deviceToken signs the demo kiosk in.
func (e *env) deviceToken() string {
	e.t.Helper()
	r := e.do("POST", "/api/v1/kiosk/session", nil, deviceHeaders(bff.DemoKioskID, bff.DemoKioskKey(), time.Now(), newNonce()))
	if r.StatusCode != 200 {
		e.t.Fatalf("device session %d %s", r.StatusCode, r.body)
	}
	var tok tokens
	r.json(e.t, &tok)
	return tok.AccessToken
}

// loginKiosk signs a person in at the demo kiosk with their face token.
func (e *env) loginKiosk(device string, p coresim.Persona) tokens {
	e.t.Helper()
	r := e.do("POST", "/api/v1/auth/kiosk", map[string]string{"name": p.Name, "id_number": p.IDNumber, "face_token": p.FaceToken}, bearer(device))
	if r.StatusCode != 200 {
		e.t.Fatalf("kiosk login %d %s", r.StatusCode, r.body)
	}
	var tok tokens
	r.json(e.t, &tok)
	return tok
}

// wantProblem asserts a status and code.
func wantProblem(t *testing.T, r *response, status int, code string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", r.StatusCode, status, r.body)
	}
	if p := r.problem(t); p.Code != code {
		t.Fatalf("code %q, want %q: %s", p.Code, code, r.body)
	}
}

func ed25519GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand.Reader)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// unitOperator is the simulator's seeded operator of a unit (shop01: 3
// staff; yunqi01: 50, two months in arrears).
func (e *env) unitOperator(operatorID string) coresim.Persona {
	e.t.Helper()
	for _, p := range e.sim.UnitPersonas() {
		if p.OperatorID == operatorID {
			return p
		}
	}
	e.t.Fatalf("no unit operator %s", operatorID)
	return coresim.Persona{}
}
