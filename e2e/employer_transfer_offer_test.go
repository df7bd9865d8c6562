package e2e

import (
	"strings"
	"testing"
	"time"

	"handheld/bff/employer"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/platformsim"
	"handheld/services/store"
)

// offersTo are the transfer offers the fake WeChat has carried to openid.
func (e *env) offersTo(openid string) int {
	n := 0
	for _, m := range e.wechat.Sent() {
		if m.TemplateID == "hpf-transfer-offer" && m.ToOpenID == openid {
			n++
		}
	}
	return n
}

// TestEmployerTransferOffer: a unit joins 王芳, who holds a sealed account in
// Beijing. The join succeeds as any other (the platform down meanwhile),
// she is offered the transfer by a message once the platform answers, no
// transfer is started and no money moves, and the employer learns nothing
// of her account elsewhere: not in its answers, not in its audit trail.
func TestEmployerTransferOffer(t *testing.T) {
	var sim *platformsim.Sim
	var simURL string
	e := start(t, withPlatform(t, &sim, &simURL))
	wang := e.persona("depositor", "王芳")
	// She lets the mini-program send her the offer (one subscribe grant);
	// without it the offer would reach her inbox only.
	e.grantWeChat(e.bindWeChat("o-offer-wangfang", wang).AccessToken, "hpf-transfer-offer", 1)
	putSim(t, simURL, "/_sim/holders", `{"id_number":"`+wang.IDNumber+`","name":"王芳","accounts":[{"centre":"110100",`+
		`"account_ref":"1101002020113377","status":"sealed","balance_fen":1250000,"months_since_last":3,`+
		`"unit_name":"北京云帆网络科技有限公司","opened_on":"2020-03-01"}]}`)

	// Her account here is sealed at 黄磊's unit (she leaves it first if
	// not); 郑秀英's unit joins her.
	from := e.persona("employer", "黄磊")
	to := e.persona("employer", "郑秀英")
	fromTok, toTok := e.loginEmployer(from).AccessToken, e.loginEmployer(to).AccessToken
	var member core.StaffMember
	for _, m := range e.roster(from.UnitCode) {
		if m.Name == "王芳" {
			member = m
		}
	}
	if member.PersonID == "" {
		t.Fatal("王芳 is not on 黄磊's roster")
	}
	if member.Status != core.StatusSealed {
		r := e.do("POST", "/api/v1/employer/staff/"+member.PersonID+"/leave",
			map[string]any{"month": time.Now().Format("2006-01"), "reason": "resigned"}, idempotent(fromTok, "offer-leave"))
		if r.StatusCode != 202 {
			t.Fatalf("leave: %d %s", r.StatusCode, r.body)
		}
		var left employer.StaffChangeBody
		r.json(t, &left)
		if v := e.followChange(fromTok, left.ID); v.Status != "done" {
			t.Fatalf("leave followed: %+v", v)
		}
	}

	// The platform is down: the join is accepted and done all the same.
	sim.SetOutage(true)
	asked := sim.Calls(platformsim.CallAccounts)
	r := e.do("POST", "/api/v1/employer/staff", map[string]any{"name": "王芳", "id_number": wang.IDNumber, "base_fen": 700000,
		"start_month": time.Now().Format("2006-01")}, idempotent(toTok, "offer-join"))
	if r.StatusCode != 202 {
		t.Fatalf("join: %d %s", r.StatusCode, r.body)
	}
	var joined employer.StaffChangeBody
	r.json(t, &joined)
	done := e.followChange(toTok, joined.ID)
	if done.Status != "done" {
		t.Fatalf("join followed: %+v", done)
	}
	// The offer was asked for and failed; it is retried through the outbox.
	deadline := time.Now().Add(30 * time.Second)
	for sim.Calls(platformsim.CallAccounts) == asked {
		if time.Now().After(deadline) {
			t.Fatal("the offer never asked the platform")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := e.offersTo("o-offer-wangfang"); n != 0 {
		t.Fatalf("%d offers while the platform was down", n)
	}
	sim.SetOutage(false)
	deadline = time.Now().Add(60 * time.Second)
	for e.offersTo("o-offer-wangfang") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no transfer offer after the platform came back")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// No transfer started, and the employer learns nothing.
	if n := sim.Calls(platformsim.CallTransfers); n != 0 {
		t.Fatalf("%d transfer calls on the employer's word", n)
	}
	for _, body := range []string{string(e.do("GET", "/api/v1/employer/staff-changes/"+joined.ID, nil, bearer(toTok)).body),
		string(e.do("GET", "/api/v1/employer/staff-changes", nil, bearer(toTok)).body)} {
		for _, secret := range []string{"110100", "北京", "1101002020113377", "1250000", "sealed_elsewhere"} {
			if strings.Contains(body, secret) {
				t.Fatalf("the employer's answer tells %q: %s", secret, body)
			}
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
	rows, err := s.Query(t.Context(), `SELECT subject, actor, action, target FROM audit_log ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	offers := 0
	for rows.Next() {
		var subject, actor, action, target string
		if err := rows.Scan(&subject, &actor, &action, &target); err != nil {
			t.Fatal(err)
		}
		if action == "transfer.offer" {
			offers++
			if strings.Contains(actor, "operator") || !strings.HasPrefix(target, "self sealed_elsewhere:1") {
				t.Errorf("offer audited as %s %s %s", subject, actor, target)
			}
			continue
		}
		if strings.HasPrefix(action, "staff.") && (strings.Contains(target, "110100") || strings.Contains(target, "elsewhere")) {
			t.Errorf("the employer's trail tells: %s %s", action, target)
		}
	}
	if offers == 0 {
		t.Fatal("the offer was not audited")
	}
}
