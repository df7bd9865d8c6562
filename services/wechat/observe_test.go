package wechat_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"handheld/services/wechat"
	"handheld/services/wechat/wechattest"
)

// observed records what a client reports to Config.Observe.
type observed struct {
	mu  sync.Mutex
	got []string
}

func (o *observed) observe(api, result string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, api+" "+result)
}

func (o *observed) take() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	got := o.got
	o.got = nil
	return got
}

// Every call that reaches WeChat is reported once, by API and result
// class; sandbox answers and codes refused before a request are not.
func TestObserveCalls(t *testing.T) {
	obs := &observed{}
	f := newFixture(t, nil, func(c *wechat.Config) { c.Observe = obs.observe; c.Sandbox = true })
	f.srv.AddLogin("login-ok-1", "oOpenID-carol-0003", "")
	f.srv.AddPhone("phone-ok-1", "13800138000")

	steps := []struct {
		name string
		call func()
		want []string
	}{
		{"login", func() { _, _ = f.c.Code2Session(ctx(t), "login-ok-1") }, []string{"jscode2session ok"}},
		{"used code", func() { _, _ = f.c.Code2Session(ctx(t), "login-ok-1") }, []string{"jscode2session invalid_code"}},
		{"busy", func() {
			f.srv.FailNext(wechattest.Login, -1)
			_, _ = f.c.Code2Session(ctx(t), "login-any-2")
		}, []string{"jscode2session busy"}},
		{"quota", func() {
			f.srv.FailNext(wechattest.Login, 45011)
			_, _ = f.c.Code2Session(ctx(t), "login-any-3")
		}, []string{"jscode2session rate_limited"}},
		{"other errcode", func() {
			f.srv.FailNext(wechattest.Login, 40125)
			_, _ = f.c.Code2Session(ctx(t), "login-any-4")
		}, []string{"jscode2session other_errcode"}},
		{"bad gateway", func() {
			f.srv.FailNextStatus(wechattest.Login, http.StatusBadGateway)
			_, _ = f.c.Code2Session(ctx(t), "login-any-5")
		}, []string{"jscode2session transport"}},
		{"phone fetches a token first", func() { _, _ = f.c.PhoneNumber(ctx(t), "phone-ok-1") },
			[]string{"stable_token ok", "getuserphonenumber ok"}},
		{"sandbox code: no call", func() { _, _ = f.c.Code2Session(ctx(t), wechat.SandboxLoginPrefix+"oSandbox-01") }, nil},
		{"malformed code: no call", func() { _, _ = f.c.Code2Session(ctx(t), "bad code!") }, nil},
	}
	for _, s := range steps {
		s.call()
		if diff := cmp.Diff(s.want, obs.take()); diff != "" {
			t.Errorf("%s: observed (-want +got):\n%s", s.name, diff)
		}
	}
}
