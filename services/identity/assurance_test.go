package identity_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/identity"
	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/wechat/wechattest"
)

func TestRequireAssurance(t *testing.T) {
	f := newWeChatFixture(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	now := f.svc.Now() // the fixture's clock moves a second per reading
	depositor := func(acr services.ACR, age time.Duration) services.Principal {
		return services.Principal{Subject: "s_1", Role: services.RoleDepositor, Channel: services.ChannelMiniApp,
			Session: "ses_1", ACR: acr, AuthTime: now.Add(-age)}
	}
	tests := []struct {
		name    string
		p       services.Principal
		service identity.ServiceName
		want    services.Code // "" admits
	}{
		{"realname reads", depositor(services.ACRRealName, 30*24*time.Hour), identity.ServiceRead, ""},
		{"fresh face withdraws", depositor(services.ACRFace, time.Minute), identity.ServiceWithdrawal, ""},
		{"stale face steps up", depositor(services.ACRFace, 10*time.Minute), identity.ServiceWithdrawal, services.CodeStepUpRequired},
		{"fresh phone steps up", depositor(services.ACRPhone, 0), identity.ServiceCertificate, services.CodeStepUpRequired},
		{"realname steps up for payout accounts", depositor(services.ACRRealName, 0), identity.ServicePayoutAccount, services.CodeStepUpRequired},
		{"no acr steps up", depositor("", 0), identity.ServiceCertificate, services.CodeStepUpRequired},
		{"an employer is no depositor", services.Principal{Subject: "op", Role: services.RoleEmployer}, identity.ServiceRead, services.CodeForbidden},
		{"an unknown service is a wiring bug", depositor(services.ACRFace, 0), "payouts", services.CodeInternal},
	}
	for _, tt := range tests {
		err := f.svc.RequireAssurance(tt.p, tt.service)
		if got := services.Code(""); err != nil {
			got = services.ErrorCode(err)
			if got != tt.want {
				t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
			}
			continue
		}
		if tt.want != "" {
			t.Errorf("%s: admitted, want %s", tt.name, tt.want)
		}
	}
	err := f.svc.RequireAssurance(depositor(services.ACRPhone, 0), identity.ServiceWithdrawal)
	e := services.AsError(err)
	if e.Params["required_acr"] != "face" || e.Params["max_age"] != 300 {
		t.Fatalf("step-up params %v", e.Params)
	}
}

// The session row keeps the assurance: a refresh carries it, a step-up
// raises it, on both store backends (migration 0007).
func TestAssuranceLivesInTheSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newWeChatFixture(t, s)
		ctx := context.Background()
		l := f.login(t, openidA)
		tok, err := f.svc.Bind(ctx, l.BindingToken, identity.BindRequest{Name: "张伟", IDNumber: idAlice,
			FaceResult: f.passedFace(t, l.BindingToken, "张伟", idAlice)})
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.svc.Authenticate(ctx, tok.AccessToken)
		if err != nil || p.ACR != services.ACRFace || p.AuthTime.IsZero() {
			t.Fatalf("after bind: %+v %v", p, err)
		}
		bound := p.AuthTime
		next, err := f.svc.Refresh(ctx, tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if q, err := f.svc.Authenticate(ctx, next.AccessToken); err != nil || q.ACR != services.ACRFace || !q.AuthTime.Equal(bound) {
			t.Fatalf("after refresh: %+v %v; want face at %s", q, err, bound)
		}

		fc, err := f.svc.StartSessionFaceCheck(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if who, _ := f.wx.FaceCheckFor(fc.VerifyID); who.OpenID != openidA || who.CertNo != idAlice {
			t.Fatalf("the step-up's face check is for %+v", who)
		}
		f.wx.CompleteFace(fc.VerifyID, wechattest.FacePassed)
		raised, err := f.svc.StepUp(ctx, p, fc.VerifyID)
		if err != nil {
			t.Fatal(err)
		}
		q, err := f.svc.Authenticate(ctx, raised.AccessToken)
		if err != nil || q.Session != p.Session || !q.AuthTime.After(bound) || raised.RefreshToken != "" {
			t.Fatalf("after step-up: %+v %v", q, err)
		}
		if _, err := f.svc.StepUp(ctx, p, fc.VerifyID); services.ErrorCode(err) != services.CodeFaceReplayed {
			t.Fatalf("replayed step-up: %v", err)
		}
		var acr string
		var authTime time.Time
		if err := s.QueryRow(ctx, `SELECT acr, auth_time FROM sessions WHERE id = $1`, p.Session).Scan(&acr, &authTime); err != nil {
			t.Fatal(err)
		}
		if acr != "face" || !authTime.Equal(store.Timestamp(q.AuthTime)) && authTime.Unix() != q.AuthTime.Unix() {
			t.Fatalf("session row: %s %s, token auth_time %s", acr, authTime, q.AuthTime)
		}

		// A session from before assurance levels refreshes as realname.
		if _, err := s.Exec(ctx, `UPDATE sessions SET acr = '', auth_time = NULL WHERE id = $1`, p.Session); err != nil {
			t.Fatal(err)
		}
		old, err := f.svc.Refresh(ctx, next.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if q, err := f.svc.Authenticate(ctx, old.AccessToken); err != nil || q.ACR != services.ACRRealName {
			t.Fatalf("legacy session: %+v %v", q, err)
		}
	})
}

// Attempts are counted per ID number under a keyed HMAC, never the number.
func TestAttemptsPerIDNumber(t *testing.T) {
	f := newWeChatFixture(t, storetest.Migrated(t, storetest.SQLiteDSN(t)), func(d *identity.Deps) { d.Assurance.Attempts = 2 })
	ctx := context.Background()
	try := func(openid string) error {
		l := f.login(t, openid)
		_, err := f.svc.Bind(ctx, l.BindingToken, identity.BindRequest{Name: "张伟", IDNumber: idAlice, FaceResult: "vid_forged_000000"})
		return err
	}
	for _, openid := range []string{"oAttempt0001", "oAttempt0002"} {
		if err := try(openid); services.ErrorCode(err) != services.CodeFaceInvalid {
			t.Fatalf("attempt from %s: %v", openid, err)
		}
	}
	err := try("oAttempt0003")
	if e := services.AsError(err); e.Code != services.CodeRateLimited || e.RetryAfter < time.Second {
		t.Fatalf("third attempt: %+v", e)
	}
	if len(f.kv.counters) == 0 {
		t.Fatal("no attempt counters")
	}
	for _, k := range f.kv.counters {
		if strings.Contains(k, idAlice) || strings.Contains(k, "oAttempt") {
			t.Errorf("counter key %q names the person", k)
		}
	}
}

// A binding that succeeds clears the person's count: their own mistakes
// before it do not lock them out later. Starting a face check counts too.
func TestSuccessClearsAttempts(t *testing.T) {
	f := newWeChatFixture(t, storetest.Migrated(t, storetest.SQLiteDSN(t)), func(d *identity.Deps) { d.Assurance.Attempts = 3 })
	ctx := context.Background()
	forged := func(openid string) error {
		l := f.login(t, openid)
		_, err := f.svc.Bind(ctx, l.BindingToken, identity.BindRequest{Name: "张伟", IDNumber: idAlice, FaceResult: "vid_forged_000000"})
		return err
	}
	if err := forged("oClear0001"); services.ErrorCode(err) != services.CodeFaceInvalid {
		t.Fatal(err)
	}
	f.bind(t, "oClear0002", idAlice) // a face check and a bind: two more attempts, and a success
	for _, openid := range []string{"oClear0003", "oClear0004", "oClear0005"} {
		if err := forged(openid); services.ErrorCode(err) != services.CodeFaceInvalid {
			t.Fatalf("after a success, %s: %v", openid, err)
		}
	}
	if err := forged("oClear0006"); services.ErrorCode(err) != services.CodeRateLimited {
		t.Fatalf("the count starts again: %v", err)
	}
}
