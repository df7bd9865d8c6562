package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services/hours"
	"handheld/services/ratelimit"
	"handheld/services/redistest"
)

const calculator = "/api/v1/loan/calculator?principal_fen=100000&months=12"

func policies(ps ...ratelimit.Policy) option {
	return func(c *bff.Config) { c.RateLimits = ps }
}

func TestRateLimitHeadersAnd429(t *testing.T) {
	t.Parallel()
	e := start(t, policies(ratelimit.Policy{Name: "public_ip", Key: ratelimit.KeyIP, Classes: []ratelimit.Class{"public"}, Rate: 3, Burst: 3, Period: time.Minute}))
	for i := 3; i > 0; i-- {
		r := e.do("GET", calculator, nil, nil)
		if r.StatusCode != 200 {
			t.Fatalf("request %d: %d", 4-i, r.StatusCode)
		}
		if r.Header.Get("RateLimit-Limit") != "3" || r.Header.Get("RateLimit-Remaining") != strconv.Itoa(i-1) || r.Header.Get("RateLimit-Reset") == "" {
			t.Fatalf("headers %v", r.Header)
		}
	}
	r := e.do("GET", calculator, nil, http.Header{"Accept-Language": {"en"}})
	wantProblem(t, r, 429, "rate_limited")
	ra, _ := strconv.Atoi(r.Header.Get("Retry-After"))
	if ra < 1 || ra > 20 || r.Header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("Retry-After %q, headers %v", r.Header.Get("Retry-After"), r.Header)
	}
	if p := r.problem(t); !strings.Contains(p.Detail, "seconds") {
		t.Fatalf("detail %q", p.Detail)
	}
	// Unlimited operations routes stay open.
	if r := e.do("GET", "/healthz", nil, nil); r.StatusCode != 200 || r.Header.Get("RateLimit-Limit") != "" {
		t.Fatalf("healthz limited: %d %v", r.StatusCode, r.Header)
	}
}

// A spoofed X-Forwarded-For does not buy a new per-IP budget unless the
// peer is a configured proxy.
func TestForwardedForTrustedOnlyFromProxies(t *testing.T) {
	t.Parallel()
	tight := ratelimit.Policy{Name: "public_ip", Key: ratelimit.KeyIP, Classes: []ratelimit.Class{"public"}, Rate: 2, Burst: 2, Period: time.Minute}
	e := start(t, policies(tight))
	for i := range 3 {
		r := e.do("GET", calculator, nil, http.Header{"X-Forwarded-For": {"203.0.113." + strconv.Itoa(i+1)}})
		if want := map[bool]int{true: 200, false: 429}[i < 2]; r.StatusCode != want {
			t.Fatalf("spoofed request %d: %d, want %d", i, r.StatusCode, want)
		}
	}
	behindProxy := start(t, policies(tight), func(c *bff.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	for i := range 3 {
		r := behindProxy.do("GET", calculator, nil, http.Header{"X-Forwarded-For": {"203.0.113." + strconv.Itoa(i+1)}})
		if r.StatusCode != 200 {
			t.Fatalf("client %d behind a trusted proxy: %d", i, r.StatusCode)
		}
	}
	// A garbage header from a trusted proxy still gets a key (the proxy's).
	for range 2 {
		behindProxy.do("GET", calculator, nil, http.Header{"X-Forwarded-For": {"not an address"}})
	}
	wantProblem(t, behindProxy.do("GET", calculator, nil, http.Header{"X-Forwarded-For": {"garbage"}}), 429, "rate_limited")
}

// Two replicas share one Redis: a per-subject limit holds across both.
func TestLimitHoldsAcrossReplicas(t *testing.T) {
	t.Parallel()
	const limit = 10
	e := start(t, policies(ratelimit.Policy{Name: "read_subject", Key: ratelimit.KeySubject, Classes: []ratelimit.Class{"read"}, Rate: limit, Burst: limit, Period: time.Hour}))
	other := e.replica()
	tok := e.bindWeChat("oReplicas000001", e.persona("depositor", "张伟")).AccessToken
	allowed := 0
	for i := range 2 * limit {
		target := e
		if i%2 == 1 {
			target = other
		}
		switch r := target.do("GET", "/api/v1/me/session", nil, bearer(tok)); r.StatusCode {
		case 200:
			allowed++
		case 429:
		default:
			t.Fatalf("request %d: %d %s", i, r.StatusCode, r.body)
		}
	}
	if allowed < limit-1 || allowed > limit+1 {
		t.Fatalf("%d requests allowed across two replicas, limit %d", allowed, limit)
	}
}

// When Redis stops, limits fall back to each replica's share in process,
// the fallback is counted, and Redis is used again once it is back.
func TestFallbackWhenRedisStops(t *testing.T) {
	t.Parallel()
	addr, stopRedis, startRedis := redistest.StartServer(t)
	e := start(t, func(c *bff.Config) {
		c.RedisURL = "redis://" + addr + "/0"
		c.Replicas = 2
		c.RateLimits = []ratelimit.Policy{{Name: "public_ip", Key: ratelimit.KeyIP, Classes: []ratelimit.Class{"public"}, Rate: 100, Burst: 10, Period: time.Minute}}
	})
	if r := e.do("GET", calculator, nil, nil); r.StatusCode != 200 || r.Header.Get("RateLimit-Limit") != "10" {
		t.Fatalf("with Redis: %d limit %q", r.StatusCode, r.Header.Get("RateLimit-Limit"))
	}
	stopRedis()
	r := e.do("GET", calculator, nil, nil)
	if r.StatusCode != 200 || r.Header.Get("RateLimit-Limit") != "5" {
		t.Fatalf("fallback: %d limit %q (want this replica's share, 5)", r.StatusCode, r.Header.Get("RateLimit-Limit"))
	}
	if m := e.do("GET", "/metrics", nil, nil); !strings.Contains(string(m.body), `handheld_ratelimit_fallback_total{policy="public_ip"}`) {
		t.Fatal("fallback not counted")
	}
	startRedis()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := e.do("GET", calculator, nil, nil)
		if r.StatusCode == 200 && r.Header.Get("RateLimit-Limit") == "10" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never went back to Redis: %d limit %q", r.StatusCode, r.Header.Get("RateLimit-Limit"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestServiceSwitchesAndHours(t *testing.T) {
	t.Parallel()
	cst := time.FixedZone("CST", 8*3600)
	now := time.Now().In(cst)
	closedNow := now.Add(2*time.Hour).Format("15:04") + "-" + now.Add(3*time.Hour).Format("15:04")
	e := start(t, func(c *bff.Config) {
		c.Services = hours.Policy{
			"employer": {"app": {Off: true}},
			"account":  {"miniapp": {Hours: closedNow}},
		}
	})
	emp := e.loginEmployer(e.persona("employer", ""))
	wantProblem(t, e.do("GET", "/api/v1/employer/unit", nil, bearer(emp.AccessToken)), 503, "service.closed")
	tok := e.bindWeChat("oHours000000001", e.persona("depositor", "李娜"))
	r := e.do("GET", "/api/v1/me/session", nil, http.Header{"Authorization": {"Bearer " + tok.AccessToken}, "Accept-Language": {"en"}})
	wantProblem(t, r, 503, "service.outside_hours")
	if ra, _ := strconv.Atoi(r.Header.Get("Retry-After")); ra < 3500 || ra > 7300 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if p := r.problem(t); !strings.Contains(p.Detail, closedNow[:5]) {
		t.Fatalf("detail does not say when it opens: %q", p.Detail)
	}
}
