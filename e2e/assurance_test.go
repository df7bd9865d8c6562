package e2e

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services"
	"handheld/services/coresim"
	"handheld/services/identity"
	"handheld/services/wechat/wechattest"
)

// bindingToken signs openid in with WeChat and returns its binding token.
func (e *env) bindingToken(openid string) string {
	e.t.Helper()
	var first tokens
	e.do("POST", "/api/v1/auth/wechat", map[string]string{"code": e.wechatCode(openid)}, nil).json(e.t, &first)
	if first.BindingToken == "" {
		e.t.Fatalf("openid %s is already bound", openid)
	}
	return first.BindingToken
}

// bindWith posts a binding for name and ID number with extra fields.
func (e *env) bindWith(bt, name, id string, extra map[string]string) *response {
	body := map[string]string{"name": name, "id_number": id}
	for k, v := range extra {
		body[k] = v
	}
	return e.do("POST", "/api/v1/auth/bind", body, bearer(bt))
}

// sameAnswer asserts two refusals are alike in everything but request_id.
func sameAnswer(t *testing.T, what string, a, b *response) {
	t.Helper()
	pa, pb := a.problem(t), b.problem(t)
	pa.RequestID, pb.RequestID = "", ""
	if a.StatusCode != b.StatusCode || !reflect.DeepEqual(pa, pb) {
		t.Fatalf("%s: answers differ:\n%d %+v\n%d %+v", what, a.StatusCode, pa, b.StatusCode, pb)
	}
}

func withAssurance(edit func(*identity.Assurance)) option {
	return func(c *bff.Config) {
		a := identity.DefaultAssurance()
		edit(&a)
		c.Assurance = a
	}
}

// Knowing a name and ID number is not enough to bind: a face check must
// pass for them, by this WeChat user, once, in time.
func TestBindNeedsAPassedFaceCheck(t *testing.T) {
	t.Parallel()
	e := start(t, policies()) // more binds from one address than bind_ip allows
	li := e.persona("depositor", "李娜")
	zhang := e.persona("depositor", "张伟")

	// Passed: bound at the face level.
	bt := e.bindingToken("oFacePass000001")
	r := e.bindWith(bt, li.Name, li.IDNumber, map[string]string{"face_result": e.passedFace(bt, li)})
	if r.StatusCode != 200 {
		t.Fatalf("bind %d %s", r.StatusCode, r.body)
	}

	// Failed at WeChat (the face did not match), or never run.
	bt = e.bindingToken("oFaceFail000001")
	id := e.faceCheck(bt, map[string]string{"name": li.Name, "id_number": li.IDNumber})
	e.wechat.CompleteFace(id, 90011)
	wantProblem(t, e.bindWith(bt, li.Name, li.IDNumber, map[string]string{"face_result": id}), 422, "auth.face_failed")
	bt = e.bindingToken("oFaceFail000002")
	id = e.faceCheck(bt, map[string]string{"name": li.Name, "id_number": li.IDNumber})
	wantProblem(t, e.bindWith(bt, li.Name, li.IDNumber, map[string]string{"face_result": id}), 422, "auth.face_failed")

	// Replayed: a face result is spent by the bind that used it, even
	// one that failed afterwards (here: the person has no account).
	noAccount := e.persona("person", "")
	bt = e.bindingToken("oFaceReplay0001")
	face := e.passedFace(bt, noAccount)
	wantProblem(t, e.bindWith(bt, noAccount.Name, noAccount.IDNumber, map[string]string{"face_result": face}), 422, "auth.real_name_mismatch")
	bt = e.bindingToken("oFaceReplay0001")
	wantProblem(t, e.bindWith(bt, noAccount.Name, noAccount.IDNumber, map[string]string{"face_result": face}), 409, "auth.face_replayed")

	// Someone else's: the attacker's WeChat user presents a face result
	// the victim's WeChat user obtained.
	victim := e.bindingToken("oFaceVictim0001")
	stolen := e.passedFace(victim, li)
	attacker := e.bindingToken("oFaceThief00001")
	wantProblem(t, e.bindWith(attacker, li.Name, li.IDNumber, map[string]string{"face_result": stolen}), 422, "auth.face_invalid")
	// ...and the victim can still use it: the attempt did not burn it.
	if r := e.bindWith(victim, li.Name, li.IDNumber, map[string]string{"face_result": stolen}); r.StatusCode != 200 {
		t.Fatalf("victim's bind %d %s", r.StatusCode, r.body)
	}

	// Another person's: a face check passed for 李娜 cannot bind 张伟.
	bt = e.bindingToken("oFaceOther00001")
	liFace := e.passedFace(bt, li)
	wantProblem(t, e.bindWith(bt, zhang.Name, zhang.IDNumber, map[string]string{"face_result": liFace}), 422, "auth.face_invalid")

	// A forged one, and a simulator face token outside the sandbox.
	bt = e.bindingToken("oFaceForged0001")
	wantProblem(t, e.bindWith(bt, li.Name, li.IDNumber, map[string]string{"face_result": "vid_forged0000000000"}), 422, "auth.face_invalid")
	bt = e.bindingToken("oFaceToken00001")
	wantProblem(t, e.bindWith(bt, li.Name, li.IDNumber, map[string]string{"face_result": li.FaceToken}), 422, "auth.face_invalid")
}

func TestExpiredFaceResultBindsNothing(t *testing.T) {
	t.Parallel()
	e := start(t)
	li := e.persona("depositor", "李娜")
	e.wechat.SetFaceLifetime(time.Second) // WeChat's expires_in, which the BFF honours
	bt := e.bindingToken("oFaceExpired001")
	face := e.passedFace(bt, li)
	time.Sleep(1100 * time.Millisecond)
	wantProblem(t, e.bindWith(bt, li.Name, li.IDNumber, map[string]string{"face_result": face}), 422, "auth.face_expired")
}

func TestBindByPhoneOnlyWherePolicyAllows(t *testing.T) {
	t.Parallel()
	e := start(t)
	zhang := e.persona("depositor", "张伟")
	e.wechat.AddPhone("phone-code-1", "13858107326")
	bt := e.bindingToken("oPhoneRefused01")
	wantProblem(t, e.bindWith(bt, zhang.Name, zhang.IDNumber, map[string]string{"phone_code": "phone-code-1"}), 403, "auth.phone_not_accepted")
	// Both factors at once is a field error.
	r := e.bindWith(bt, zhang.Name, zhang.IDNumber, map[string]string{"phone_code": "phone-code-1", "face_result": "vid_forged0000000000"})
	wantProblem(t, r, 400, "request.invalid")

	e = start(t, withAssurance(func(a *identity.Assurance) {
		a.BindFactors = []identity.Factor{identity.FactorFace, identity.FactorPhone}
	}))
	e.wechat.AddPhone("phone-code-1", "13858107326")
	e.wechat.AddPhone("phone-code-2", "13900000000")
	r = e.bindWith(e.bindingToken("oPhoneWrong0001"), zhang.Name, zhang.IDNumber, map[string]string{"phone_code": "phone-code-2"})
	wantProblem(t, r, 422, "auth.real_name_mismatch")
	r = e.bindWith(e.bindingToken("oPhoneRight0001"), zhang.Name, zhang.IDNumber, map[string]string{"phone_code": "phone-code-1"})
	if r.StatusCode != 200 {
		t.Fatalf("phone bind %d %s", r.StatusCode, r.body)
	}
	var tok tokens
	r.json(t, &tok)
	// A phone binding reads, but money needs a face check.
	if r := e.do("GET", "/api/v1/me/session", nil, bearer(tok.AccessToken)); r.StatusCode != 200 {
		t.Fatalf("read %d", r.StatusCode)
	}
	r = e.issue(tok.AccessToken, "k-phone-1", map[string]string{"type": "deposit_use"})
	wantProblem(t, r, 403, "auth.step_up_required")
	if p := r.problem(t); p.RequiredACR != "face" || p.MaxAge == nil || *p.MaxAge != 300 {
		t.Fatalf("step-up problem %+v", p)
	}
	if r := e.issue(e.stepUp(tok.AccessToken), "k-phone-1", map[string]string{"type": "deposit_use"}); r.StatusCode != 201 {
		t.Fatalf("after step-up %d %s", r.StatusCode, r.body)
	}
}

// A wrong name/ID pair, an ID number without an account and a phone that
// differs get one answer, on bind and at the kiosk. Before this change the
// person without an account got 404 account.not_found at bind and a
// session at the kiosk.
func TestSignInRevealsNobody(t *testing.T) {
	t.Parallel()
	e := start(t, policies(), withAssurance(func(a *identity.Assurance) {
		a.BindFactors = []identity.Factor{identity.FactorFace, identity.FactorPhone}
	}))
	zhang := e.persona("depositor", "张伟")
	noAccount := e.persona("person", "")

	bindFaced := func(openid, name, id string) *response {
		bt := e.bindingToken(openid)
		face := e.passedFace(bt, coresim.Persona{Name: name, IDNumber: id})
		return e.bindWith(bt, name, id, map[string]string{"face_result": face})
	}
	wrongPair := bindFaced("oHideWrong00001", "张三", zhang.IDNumber)
	wantProblem(t, wrongPair, 422, "auth.real_name_mismatch")
	sameAnswer(t, "bind: no account vs wrong pair", wrongPair, bindFaced("oHideNoAcct0001", noAccount.Name, noAccount.IDNumber))
	e.wechat.AddPhone("phone-other", "13900000000")
	sameAnswer(t, "bind: phone differs vs wrong pair", wrongPair,
		e.bindWith(e.bindingToken("oHidePhone00001"), zhang.Name, zhang.IDNumber, map[string]string{"phone_code": "phone-other"}))

	dev := e.deviceToken()
	kiosk := func(name, id, face string) *response {
		return e.do("POST", "/api/v1/auth/kiosk", map[string]string{"name": name, "id_number": id, "face_token": face}, bearer(dev))
	}
	wrong := kiosk("张三", zhang.IDNumber, zhang.FaceToken)
	wantProblem(t, wrong, 401, "auth.face_mismatch")
	sameAnswer(t, "kiosk: no account vs wrong pair", wrong, kiosk(noAccount.Name, noAccount.IDNumber, noAccount.FaceToken))
	sameAnswer(t, "kiosk: unknown ID vs wrong pair", wrong, kiosk("张三", "11010519491231002X", "face:nobody-at-all"))
}

// Identity checks are limited per ID number (whatever the WeChat user) and
// per WeChat user (whatever the ID number).
func TestSignInAttemptsAreLimited(t *testing.T) {
	t.Parallel()
	e := start(t, policies(), withAssurance(func(a *identity.Assurance) { a.Attempts = 3 }))
	li := e.persona("depositor", "李娜")
	forged := map[string]string{"face_result": "vid_forged0000000000"}
	for i := range 3 {
		wantProblem(t, e.bindWith(e.bindingToken("oLimitId0000"+strconv.Itoa(i)), li.Name, li.IDNumber, forged), 422, "auth.face_invalid")
	}
	r := e.bindWith(e.bindingToken("oLimitId00009"), li.Name, li.IDNumber, forged)
	wantProblem(t, r, 429, "rate_limited")
	if ra, _ := strconv.Atoi(r.Header.Get("Retry-After")); ra < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	// The kiosk counts against the same ID number.
	wantProblem(t, e.do("POST", "/api/v1/auth/kiosk", map[string]string{"name": li.Name, "id_number": li.IDNumber, "face_token": li.FaceToken},
		bearer(e.deviceToken())), 429, "rate_limited")

	// One WeChat user walking through ID numbers.
	ids := []string{"330106198503124133", "330108199311051571", "330102198802140867", "330110199909302242"}
	var last *response
	for _, id := range ids {
		last = e.bindWith(e.bindingToken("oLimitOpenid001"), "王五", id, forged)
	}
	wantProblem(t, last, 429, "rate_limited")
}

// Money and certificates need a face check within max_age; a step-up
// raises the session with a fresh one.
func TestStepUpBeforeMoneyMoves(t *testing.T) {
	e := start(t, policies(), withAssurance(func(a *identity.Assurance) {
		for _, s := range []identity.ServiceName{identity.ServiceCertificate, identity.ServiceWithdrawal} {
			a.Services[s] = identity.Requirement{ACR: services.ACRFace, MaxAge: 3 * time.Second}
		}
	}))
	li := e.persona("depositor", "李娜")
	a := e.bindWeChat("oStepUpA0000001", li).AccessToken
	if r := e.issue(a, "k-step-1", map[string]string{"type": "deposit_use"}); r.StatusCode != 201 {
		t.Fatalf("fresh bind %d %s", r.StatusCode, r.body)
	}
	b := e.bindWeChat("oStepUpB0000001", li).AccessToken
	time.Sleep(3100 * time.Millisecond)

	r := e.issue(a, "k-step-2", map[string]string{"type": "deposit_use"})
	wantProblem(t, r, 403, "auth.step_up_required")
	if p := r.problem(t); p.RequiredACR != "face" || p.MaxAge == nil || *p.MaxAge != 3 {
		t.Fatalf("problem %+v", p)
	}
	h := bearer(a)
	h.Set("Idempotency-Key", "k-step-w")
	wantProblem(t, e.do("POST", "/api/v1/me/withdrawals", map[string]any{"type": "rent", "amount_fen": 100, "payout": payoutTo(t, li, "bank_card")}, h),
		403, "auth.step_up_required")
	wantProblem(t, e.bad().do("POST", "/api/v1/me/withdrawals/wd_nothing/cancel", nil, bearer(a)), 403, "auth.step_up_required")

	// A face check session B started cannot raise session A.
	fromB := e.faceCheck(b, map[string]string{})
	e.wechat.CompleteFace(fromB, wechattest.FacePassed)
	wantProblem(t, e.do("POST", "/api/v1/auth/step-up", map[string]string{"face_result": fromB}, bearer(a)), 422, "auth.face_invalid")
	// A failed one does not raise it either.
	failed := e.faceCheck(a, map[string]string{})
	e.wechat.CompleteFace(failed, 90011)
	wantProblem(t, e.do("POST", "/api/v1/auth/step-up", map[string]string{"face_result": failed}, bearer(a)), 422, "auth.face_failed")
	wantProblem(t, e.bad().do("POST", "/api/v1/auth/step-up", map[string]string{}, bearer(a)), 400, "request.invalid")

	// A passed one does, once.
	own := e.faceCheck(a, map[string]string{})
	e.wechat.CompleteFace(own, wechattest.FacePassed)
	r = e.do("POST", "/api/v1/auth/step-up", map[string]string{"face_result": own}, bearer(a))
	if r.StatusCode != 200 {
		t.Fatalf("step-up %d %s", r.StatusCode, r.body)
	}
	var raised tokens
	r.json(t, &raised)
	if raised.RefreshToken != "" {
		t.Error("step-up handed out a refresh token")
	}
	wantProblem(t, e.do("POST", "/api/v1/auth/step-up", map[string]string{"face_result": own}, bearer(a)), 409, "auth.face_replayed")
	if r := e.issue(raised.AccessToken, "k-step-3", map[string]string{"type": "deposit_use"}); r.StatusCode != 201 {
		t.Fatalf("after step-up %d %s", r.StatusCode, r.body)
	}
	// The old token of the same session still says what it said.
	wantProblem(t, e.issue(a, "k-step-4", map[string]string{"type": "deposit_use"}), 403, "auth.step_up_required")
	// Session B was not raised.
	wantProblem(t, e.issue(b, "k-step-5", map[string]string{"type": "deposit_use"}), 403, "auth.step_up_required")
}

// At a kiosk the sign-in is a face check; after max_age the citizen steps
// up with the core's face service, as at sign-in.
func TestKioskStepUp(t *testing.T) {
	e := start(t, withAssurance(func(a *identity.Assurance) {
		// auth_time has whole seconds: a window of 3 s leaves room for a
		// slow sign-in before the first issue.
		a.Services[identity.ServiceCertificate] = identity.Requirement{ACR: services.ACRFace, MaxAge: 3 * time.Second}
	}))
	li := e.persona("depositor", "李娜")
	zhang := e.persona("depositor", "张伟")
	citizen := e.loginKiosk(e.deviceToken(), li).AccessToken
	if r := e.issue(citizen, "k-kiosk-1", map[string]string{"type": "deposit_use"}); r.StatusCode != 201 {
		t.Fatalf("at sign-in %d %s", r.StatusCode, r.body)
	}
	time.Sleep(3100 * time.Millisecond)
	wantProblem(t, e.issue(citizen, "k-kiosk-2", map[string]string{"type": "deposit_use"}), 403, "auth.step_up_required")
	step := func(face string) *response {
		return e.do("POST", "/api/v1/auth/step-up", map[string]string{"face_result": face}, bearer(citizen))
	}
	wantProblem(t, step(zhang.FaceToken), 422, "auth.face_failed")
	wantProblem(t, step("vid_forged0000000000"), 422, "auth.face_invalid")
	r := step(li.FaceToken)
	if r.StatusCode != 200 {
		t.Fatalf("kiosk step-up %d %s", r.StatusCode, r.body)
	}
	var raised tokens
	r.json(t, &raised)
	if r := e.issue(raised.AccessToken, "k-kiosk-2", map[string]string{"type": "deposit_use"}); r.StatusCode != 201 {
		t.Fatalf("after step-up %d %s", r.StatusCode, r.body)
	}
	// Devices cannot step up.
	wantProblem(t, e.do("POST", "/api/v1/auth/step-up", map[string]string{"face_result": li.FaceToken}, bearer(e.deviceToken())), 403, "auth.forbidden")
}

// The read floor is policy too: a centre that wants a face check for every
// personal screen gets it.
func TestReadFloorIsPolicy(t *testing.T) {
	t.Parallel()
	e := start(t, withAssurance(func(a *identity.Assurance) {
		a.BindFactors = []identity.Factor{identity.FactorFace, identity.FactorPhone}
		a.Services[identity.ServiceRead] = identity.Requirement{ACR: services.ACRFace}
	}))
	zhang := e.persona("depositor", "张伟")
	e.wechat.AddPhone("phone-code-1", "13858107326")
	var tok tokens
	r := e.bindWith(e.bindingToken("oReadFloor00001"), zhang.Name, zhang.IDNumber, map[string]string{"phone_code": "phone-code-1"})
	r.json(t, &tok)
	if r.StatusCode != 200 {
		t.Fatalf("phone bind %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.do("GET", "/api/v1/me/session", nil, bearer(tok.AccessToken)), 403, "auth.step_up_required")
	if r := e.do("GET", "/api/v1/me/session", nil, bearer(e.stepUp(tok.AccessToken))); r.StatusCode != 200 {
		t.Fatalf("after step-up %d %s", r.StatusCode, r.body)
	}
}
