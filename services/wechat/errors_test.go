package wechat_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/wechat"
	"handheld/services/wechat/wechattest"
)

// call is one adapter call set up to succeed unless the fake is told
// otherwise; personal lists the values it puts on the wire that no error
// may repeat.
type call struct {
	name     string
	run      func(f *fixture) error
	personal []string
}

func adapterCalls() []call {
	return []call{
		{"login", func(f *fixture) error {
			f.srv.AddLogin("0a3LoginCode", "oLeak-openid-0006", "")
			_, err := f.c.Code2Session(ctx0(), "0a3LoginCode")
			return err
		}, []string{"0a3LoginCode", "oLeak-openid-0006"}},
		{"phone", func(f *fixture) error {
			f.srv.AddPhone("PhoneCode0007", "13811112222")
			_, err := f.c.PhoneNumber(ctx0(), "PhoneCode0007")
			return err
		}, []string{"PhoneCode0007", "13811112222"}},
		{"send", func(f *fixture) error {
			return f.c.SendSubscribe(ctx0(), wechat.Message{ToOpenID: "oLeak-openid-0008", TemplateID: "tmpl-1", Data: map[string]string{"phone": "13811113333"}})
		}, []string{"oLeak-openid-0008", "13811113333"}},
	}
}

func TestErrcodeTranslation(t *testing.T) {
	type row struct {
		call     string
		ep       wechattest.Endpoint
		errcode  int64
		status   int
		want     services.Code
		wantCode int64 // errcode in the cause; 0 when none
	}
	rows := []row{
		{"login", wechattest.Login, 40029, 0, services.CodeWeChatInvalidCode, 40029},
		{"login", wechattest.Login, 40163, 0, services.CodeWeChatInvalidCode, 40163},
		{"login", wechattest.Login, 45011, 0, services.CodeWeChatRateLimited, 45011},
		{"login", wechattest.Login, -1, 0, services.CodeWeChatUnavailable, -1},
		{"login", wechattest.Login, 40125, 0, services.CodeWeChatUnavailable, 40125},
		{"login", wechattest.Login, 0, http.StatusBadGateway, services.CodeWeChatUnavailable, 0},
		{"phone", wechattest.Phone, 40029, 0, services.CodeWeChatInvalidCode, 40029},
		{"phone", wechattest.Phone, 45011, 0, services.CodeWeChatRateLimited, 45011},
		{"phone", wechattest.Phone, -1, 0, services.CodeWeChatUnavailable, -1},
		{"phone", wechattest.Phone, 0, http.StatusServiceUnavailable, services.CodeWeChatUnavailable, 0},
		{"phone", wechattest.StableToken, 45011, 0, services.CodeWeChatRateLimited, 45011},
		{"phone", wechattest.StableToken, -1, 0, services.CodeWeChatUnavailable, -1},
		{"phone", wechattest.StableToken, 40125, 0, services.CodeWeChatUnavailable, 40125},
		{"phone", wechattest.StableToken, 0, http.StatusInternalServerError, services.CodeWeChatUnavailable, 0},
		{"send", wechattest.Send, 43101, 0, services.CodeWeChatUnavailable, 43101},
		{"send", wechattest.Send, 45011, 0, services.CodeWeChatRateLimited, 45011},
		{"send", wechattest.Send, -1, 0, services.CodeWeChatUnavailable, -1},
		{"send", wechattest.Send, 0, http.StatusBadGateway, services.CodeWeChatUnavailable, 0},
		{"send", wechattest.StableToken, 0, http.StatusBadGateway, services.CodeWeChatUnavailable, 0},
	}
	byName := map[string]call{}
	for _, c := range adapterCalls() {
		byName[c.name] = c
	}
	for _, r := range rows {
		t.Run(fmt.Sprintf("%s/%s/%d/%d", r.call, strings.Trim(string(r.ep), "/"), r.errcode, r.status), func(t *testing.T) {
			f := newFixture(t, nil)
			if r.status != 0 {
				f.srv.FailNextStatus(r.ep, r.status)
			} else {
				f.srv.FailNext(r.ep, r.errcode)
			}
			err := byName[r.call].run(f)
			ae := wantCode(t, err, r.want)
			if ae == nil {
				t.Fatalf("cause of %v is no *wechat.APIError", err)
			}
			if ae.ErrCode != r.wantCode {
				t.Errorf("cause errcode %d, want %d (%v)", ae.ErrCode, r.wantCode, err)
			}
			var se *services.Error
			errors.As(err, &se)
			if (r.want == services.CodeWeChatRateLimited) != (se.RetryAfter > 0) {
				t.Errorf("RetryAfter %s for %s", se.RetryAfter, r.want)
			}
		})
	}
}

// TestErrorsAndLogsHoldNoSecrets provokes every kind of failure, including
// those where the library's own message carries a URL with the app secret
// or the access token, and checks what comes out.
func TestErrorsAndLogsHoldNoSecrets(t *testing.T) {
	type fault struct {
		name  string
		apply func(f *fixture, ep wechattest.Endpoint)
	}
	faults := []fault{
		{"502", func(f *fixture, ep wechattest.Endpoint) { f.srv.FailNextStatus(ep, http.StatusBadGateway) }},
		{"busy", func(f *fixture, ep wechattest.Endpoint) { f.srv.FailNext(ep, -1) }},
		{"invalid code", func(f *fixture, ep wechattest.Endpoint) { f.srv.FailNext(ep, 40029) }},
		{"token twice stale", func(f *fixture, ep wechattest.Endpoint) { f.srv.FailNext(ep, 40001); f.srv.FailNext(ep, 40001) }},
		{"timeout", func(f *fixture, ep wechattest.Endpoint) { f.srv.SetDelay(ep, 3*time.Second) }},
	}
	endpoints := map[string][]wechattest.Endpoint{
		"login": {wechattest.Login},
		"phone": {wechattest.Phone, wechattest.StableToken},
		"send":  {wechattest.Send, wechattest.StableToken},
	}
	checked := 0
	for _, c := range adapterCalls() {
		for _, ep := range endpoints[c.name] {
			for _, fl := range faults {
				f := newFixture(t, nil, func(c *wechat.Config) { c.Timeout = 150 * time.Millisecond })
				if ep != wechattest.StableToken {
					// A token in force, so that the failing call carries one in its URL.
					f.srv.AddPhone("warm-up", "13800000000")
					if _, err := f.c.PhoneNumber(ctx0(), "warm-up"); err != nil {
						t.Fatal(err)
					}
				}
				fl.apply(f, ep)
				err := c.run(f)
				if err == nil {
					t.Fatalf("%s with %s on %s: no error", c.name, fl.name, ep)
				}
				text := err.Error() + "\n" + fmt.Sprintf("%+v %#v", err, err) + "\n" + f.logs.String()
				for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
					text += "\n" + e.Error()
				}
				secrets := append([]string{f.srv.AppSecret, "warm-up", "13800000000"}, c.personal...)
				if tok := f.srv.Token(); tok != "" {
					secrets = append(secrets, tok)
				}
				for _, s := range secrets {
					if strings.Contains(text, s) {
						t.Errorf("%s with %s on %s: %q leaks into\n%s", c.name, fl.name, ep, s, text)
					}
				}
				checked++
			}
		}
	}
	if checked != 25 {
		t.Fatalf("checked %d failures, want 25", checked)
	}
}
