package wechat_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/wechat"
	"handheld/services/wechat/wechattest"
)

func TestCode2Session(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.AddLogin("0a3Login-code_1", "oOpenID-alice-0001", "oUnion-alice")

	got, err := f.c.Code2Session(ctx(t), "0a3Login-code_1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wechat.Session{OpenID: "oOpenID-alice-0001", UnionID: "oUnion-alice"}, got); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
	if n := f.srv.Calls(wechattest.Login); n != 1 {
		t.Errorf("fake saw %d logins, want 1", n)
	}
	// WeChat codes are single-use.
	_, err = f.c.Code2Session(ctx(t), "0a3Login-code_1")
	if ae := wantCode(t, err, services.CodeWeChatInvalidCode); ae == nil || ae.ErrCode != 40163 {
		t.Errorf("cause %v, want errcode 40163", ae)
	}
}

func TestPhoneNumber(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.AddPhone("phone-code-1", "13800138000")
	got, err := f.c.PhoneNumber(ctx(t), "phone-code-1")
	if err != nil {
		t.Fatal(err)
	}
	if got != "13800138000" {
		t.Errorf("phone %q, want 13800138000", got)
	}
	if n := f.srv.Calls(wechattest.StableToken); n != 1 {
		t.Errorf("%d token fetches, want 1", n)
	}
}

func TestSendSubscribe(t *testing.T) {
	f := newFixture(t, nil)
	msg := wechat.Message{
		ToOpenID:   "oOpenID-bob-0002",
		TemplateID: "tmpl-withdrawal-approved",
		Page:       "pages/withdrawal/detail?id=A1",
		Data:       map[string]string{"thing1": "提取审批通过", "amount2": "12,345.67元"},
	}
	if err := f.c.SendSubscribe(ctx(t), msg); err != nil {
		t.Fatal(err)
	}
	msg.Lang = "en_US"
	if err := f.c.SendSubscribe(ctx(t), msg); err != nil {
		t.Fatal(err)
	}
	want := []wechattest.Sent{
		{ToOpenID: msg.ToOpenID, TemplateID: msg.TemplateID, Page: msg.Page, Lang: "zh_CN", Data: msg.Data},
		{ToOpenID: msg.ToOpenID, TemplateID: msg.TemplateID, Page: msg.Page, Lang: "en_US", Data: msg.Data},
	}
	if diff := cmp.Diff(want, f.srv.Sent()); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	if err := f.c.SendSubscribe(ctx(t), wechat.Message{ToOpenID: "o1", TemplateID: ""}); services.ErrorCode(err) != services.CodeInternal {
		t.Errorf("message without template: %v, want internal", err)
	}
}

func TestMalformedCodesNeverReachWeChat(t *testing.T) {
	f := newFixture(t, nil)
	bad := []string{
		"", " ", "abc def", strings.Repeat("a", 129), "abc&secret=x", "abc?x=1", "a/b", "a%20b",
		"码", "abc\n", "sandbox:oOpenID-alice", "sandbox-phone:13800138000",
	}
	for _, code := range bad {
		_, err := f.c.Code2Session(ctx(t), code)
		wantCode(t, err, services.CodeWeChatInvalidCode)
		_, err = f.c.PhoneNumber(ctx(t), code)
		wantCode(t, err, services.CodeWeChatInvalidCode)
	}
	if n := calls(f.srv, allEndpoints...); n != 0 {
		t.Errorf("fake saw %d calls for malformed codes, want 0", n)
	}
}

func TestSandbox(t *testing.T) {
	f := newFixture(t, nil, func(c *wechat.Config) { c.Sandbox, c.AppID, c.AppSecret = true, "", "" })

	s, err := f.c.Code2Session(ctx(t), "sandbox:oSandbox_user-1")
	if err != nil || s.OpenID != "oSandbox_user-1" {
		t.Fatalf("sandbox login: %+v, %v", s, err)
	}
	phone, err := f.c.PhoneNumber(ctx(t), "sandbox-phone:13912345678")
	if err != nil || phone != "13912345678" {
		t.Fatalf("sandbox phone: %q, %v", phone, err)
	}
	for _, code := range []string{"sandbox:short", "sandbox:has space", "sandbox:" + strings.Repeat("o", 65), "0a3RealCode"} {
		_, err := f.c.Code2Session(ctx(t), code)
		wantCode(t, err, services.CodeWeChatInvalidCode)
	}
	for _, code := range []string{"sandbox-phone:1391234567", "sandbox-phone:139123456789", "sandbox-phone:1391234567x", "realPhoneCode"} {
		_, err := f.c.PhoneNumber(ctx(t), code)
		wantCode(t, err, services.CodeWeChatInvalidCode)
	}

	msg := wechat.Message{ToOpenID: "oSandbox_user-1", TemplateID: "tmpl-sandbox", Data: map[string]string{"phone3": "13912345678"}}
	if err := f.c.SendSubscribe(ctx(t), msg); err != nil {
		t.Fatal(err)
	}
	if n := calls(f.srv, allEndpoints...); n != 0 {
		t.Errorf("sandbox made %d HTTP calls, want 0", n)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "tmpl-sandbox") || !strings.Contains(logs, "openid_hash=") {
		t.Errorf("sandbox log lacks template or openid hash:\n%s", logs)
	}
	for _, personal := range []string{"oSandbox_user-1", "13912345678"} {
		if strings.Contains(logs, personal) {
			t.Errorf("sandbox log holds %q:\n%s", personal, logs)
		}
	}
}

func TestSandboxWithAppStillAsksWeChat(t *testing.T) {
	f := newFixture(t, nil, func(c *wechat.Config) { c.Sandbox = true })
	f.srv.AddLogin("0a3RealCode", "oReal-user-0003", "")
	if s, err := f.c.Code2Session(ctx(t), "0a3RealCode"); err != nil || s.OpenID != "oReal-user-0003" {
		t.Fatalf("real code in sandbox: %+v, %v", s, err)
	}
	if s, err := f.c.Code2Session(ctx(t), "sandbox:oSandbox_user-2"); err != nil || s.OpenID != "oSandbox_user-2" {
		t.Fatalf("sandbox code: %+v, %v", s, err)
	}
	if n := f.srv.Calls(wechattest.Login); n != 1 {
		t.Errorf("fake saw %d logins, want 1", n)
	}
}

// TestAPIBaseWithPrefix puts the fake behind a path prefix, as an egress
// proxy would publish WeChat, and checks that the library's calls arrive.
func TestAPIBaseWithPrefix(t *testing.T) {
	srv := wechattest.NewServer(t)
	proxy := httptest.NewServer(http.StripPrefix("/egress/wechat", srv))
	t.Cleanup(proxy.Close)
	f := newFixture(t, nil, func(c *wechat.Config) {
		c.AppID, c.AppSecret, c.APIBase = srv.AppID, srv.AppSecret, proxy.URL+"/egress/wechat/"
	})
	srv.AddLogin("code-behind-proxy", "oProxied-0004", "")
	srv.AddPhone("phone-behind-proxy", "13700000000")
	if _, err := f.c.Code2Session(ctx(t), "code-behind-proxy"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.PhoneNumber(ctx(t), "phone-behind-proxy"); err != nil {
		t.Fatal(err)
	}
	if err := f.c.SendSubscribe(ctx(t), wechat.Message{ToOpenID: "oProxied-0004", TemplateID: "t1"}); err != nil {
		t.Fatal(err)
	}
	for _, ep := range allEndpoints {
		if srv.Calls(ep) != 1 {
			t.Errorf("%s: %d calls through the prefix, want 1", ep, srv.Calls(ep))
		}
	}
}

func TestTimeoutIsUnavailableQuickly(t *testing.T) {
	f := newFixture(t, nil, func(c *wechat.Config) { c.Timeout = 100 * time.Millisecond })
	f.srv.AddLogin("slow-code", "oSlow-0005", "")
	f.srv.SetDelay(wechattest.Login, 5*time.Second)
	f.srv.SetDelay(wechattest.StableToken, 5*time.Second)

	start := time.Now()
	_, err := f.c.Code2Session(ctx(t), "slow-code")
	wantCode(t, err, services.CodeWeChatUnavailable)
	_, err = f.c.PhoneNumber(ctx(t), "slow-phone")
	wantCode(t, err, services.CodeWeChatUnavailable)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("two timed-out calls took %s, want well under 2s", d)
	}
}
