package ratelimit_test

import (
	"strings"
	"testing"
	"time"

	"handheld/services/ratelimit"
)

// routes are a small wiring: anonymous sign-in and refresh, a verifier
// route and a signed-in read.
func routes() []ratelimit.Route {
	base := []string{ratelimit.KeyIP, ratelimit.KeyChannel}
	return []ratelimit.Route{
		{Name: "POST /auth/employer", Class: "login", Channels: []string{"app"}, Anonymous: true,
			Keys: append(base, ratelimit.KeySubject)},
		{Name: "POST /auth/refresh", Class: "refresh", Channels: []string{"public"}, Anonymous: true,
			Keys: append(base, ratelimit.KeySubject)},
		{Name: "POST /ecard/verify", Class: "verify_ecard", Keys: append(base, ratelimit.KeySubject, ratelimit.KeyVerifier)},
		{Name: "GET /me", Class: "read", Keys: append(base, ratelimit.KeySubject)},
	}
}

func okPolicies() []ratelimit.Policy {
	return []ratelimit.Policy{
		{Name: "login_ip", Key: ratelimit.KeyIP, Classes: []ratelimit.Class{"login"}, Rate: 20, Burst: 10, Period: time.Minute},
		{Name: "login_subject", Key: ratelimit.KeySubject, Classes: []ratelimit.Class{"login"}, Rate: 10, Burst: 5, Period: time.Minute},
		{Name: "refresh_ip", Key: ratelimit.KeyIP, Classes: []ratelimit.Class{"refresh"}, Rate: 60, Burst: 30, Period: time.Minute},
		{Name: "verify_ecard_verifier", Key: ratelimit.KeyVerifier, Classes: []ratelimit.Class{"verify_ecard"}, Rate: 600, Burst: 100, Period: time.Minute},
		{Name: "read_subject", Key: ratelimit.KeySubject, Classes: []ratelimit.Class{"read"}, Rate: 120, Burst: 40, Period: time.Minute},
		{Name: "ceiling_public", Key: ratelimit.KeyChannel, Channels: []string{"public"}, Rate: 300, Burst: 300, Period: time.Second},
		{Name: "ceiling_app", Key: ratelimit.KeyChannel, Channels: []string{"app"}, Rate: 500, Burst: 500, Period: time.Second},
	}
}

func TestCheckRoutes(t *testing.T) {
	tests := []struct {
		name   string
		change func(ps []ratelimit.Policy, rs []ratelimit.Route) ([]ratelimit.Policy, []ratelimit.Route)
		want   []string // substrings of the error; none when valid
	}{
		{"valid", func(ps []ratelimit.Policy, rs []ratelimit.Route) ([]ratelimit.Policy, []ratelimit.Route) {
			return ps, rs
		}, nil},
		{"class no route has", func(ps []ratelimit.Policy, rs []ratelimit.Route) ([]ratelimit.Policy, []ratelimit.Route) {
			ps[1].Classes = []ratelimit.Class{"login", "rating"}
			return ps, rs
		}, []string{`"login_subject": classes:`, `"rating"`}},
		{"class only on another channel", func(ps []ratelimit.Policy, rs []ratelimit.Route) ([]ratelimit.Policy, []ratelimit.Route) {
			ps[1].Channels = []string{"kiosk"}
			return ps, rs
		}, []string{`"login_subject": classes:`}},
		{"key the route never fills", func(ps []ratelimit.Policy, rs []ratelimit.Route) ([]ratelimit.Policy, []ratelimit.Route) {
			rs[2].Keys = []string{ratelimit.KeyIP, ratelimit.KeyChannel, ratelimit.KeySubject}
			return ps, rs
		}, []string{`"verify_ecard_verifier": key:`, `"verifier"`}},
		{"every-class policy nobody fills", func(ps []ratelimit.Policy, rs []ratelimit.Route) ([]ratelimit.Policy, []ratelimit.Route) {
			return append(ps, ratelimit.Policy{Name: "kiosk_device", Key: ratelimit.KeyDevice, Channels: []string{"kiosk"},
				Rate: 600, Burst: 100, Period: time.Minute}), rs
		}, []string{`"kiosk_device": key:`}},
		{"anonymous route without a per-address policy", func(ps []ratelimit.Policy, rs []ratelimit.Route) ([]ratelimit.Policy, []ratelimit.Route) {
			return append(ps[:2], ps[3:]...), rs
		}, []string{"POST /auth/refresh", `"refresh"`, `key "ip"`}},
		{"per-address policy up to the ceiling", func(ps []ratelimit.Policy, rs []ratelimit.Route) ([]ratelimit.Policy, []ratelimit.Route) {
			ps[2].Rate, ps[2].Burst, ps[2].Period = 300, 300, time.Second
			return ps, rs
		}, []string{"POST /auth/refresh", "below the channel ceiling"}},
		{"no ceiling, nothing to starve", func(ps []ratelimit.Policy, rs []ratelimit.Route) ([]ratelimit.Policy, []ratelimit.Route) {
			return append(ps[:2:2], ps[3:5]...), rs // refresh has no per-address policy, nor a ceiling
		}, nil},
		{"per-address policy on another channel", func(ps []ratelimit.Policy, rs []ratelimit.Route) ([]ratelimit.Policy, []ratelimit.Route) {
			ps[0].Channels = []string{"miniapp"}
			return ps, rs
		}, []string{"POST /auth/employer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, rs := tt.change(okPolicies(), routes())
			err := ratelimit.CheckRoutes(ps, rs)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckRoutes() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckRoutes() = nil, want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckRoutes() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}
