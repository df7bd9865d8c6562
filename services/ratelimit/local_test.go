package ratelimit_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/ratelimit"
)

// clock is a hand-moved clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func mustNew(t testing.TB, cfg ratelimit.Config, ps ...ratelimit.Policy) *ratelimit.Limiter {
	t.Helper()
	l, err := ratelimit.New(cfg, ps)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func allow(t testing.TB, l *ratelimit.Limiter, r ratelimit.Request) ratelimit.Decision {
	t.Helper()
	d, err := l.Allow(t.Context(), r)
	if err != nil {
		t.Fatalf("Allow: %v", err)
	}
	return d
}

// TestLocalGCRA walks the in-process limiter through a burst, the steady
// rate and a refill: one per second (60/min), burst 3.
func TestLocalGCRA(t *testing.T) {
	clk := newClock()
	l := mustNew(t, ratelimit.Config{Now: clk.Now},
		ratelimit.Policy{Name: "p", Key: ratelimit.KeySubject, Rate: 60, Burst: 3, Period: time.Minute})
	const ms = time.Millisecond
	steps := []struct {
		at   time.Duration // since start
		want ratelimit.Decision
	}{
		{0, ratelimit.Decision{Allowed: true, Remaining: 2, ResetAfter: 1000 * ms}},
		{0, ratelimit.Decision{Allowed: true, Remaining: 1, ResetAfter: 2000 * ms}},
		{0, ratelimit.Decision{Allowed: true, Remaining: 0, ResetAfter: 3000 * ms}},
		{0, ratelimit.Decision{Allowed: false, Remaining: 0, RetryAfter: 1000 * ms, ResetAfter: 3000 * ms}},
		{500 * ms, ratelimit.Decision{Allowed: false, Remaining: 0, RetryAfter: 500 * ms, ResetAfter: 2500 * ms}},
		{1000 * ms, ratelimit.Decision{Allowed: true, Remaining: 0, ResetAfter: 3000 * ms}},
		{1000 * ms, ratelimit.Decision{Allowed: false, Remaining: 0, RetryAfter: 1000 * ms, ResetAfter: 3000 * ms}},
		{2500 * ms, ratelimit.Decision{Allowed: true, Remaining: 0, ResetAfter: 2500 * ms}},
		{10 * time.Second, ratelimit.Decision{Allowed: true, Remaining: 2, ResetAfter: 1000 * ms}},
		{10500 * ms, ratelimit.Decision{Allowed: true, Remaining: 1, ResetAfter: 1500 * ms}},
	}
	start := clk.Now()
	for i, s := range steps {
		clk.Advance(start.Add(s.at).Sub(clk.Now()))
		s.want.Limit, s.want.Policy = 3, "p"
		got := allow(t, l, ratelimit.Request{Subject: "s1"})
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("step %d at %s (-want +got):\n%s", i, s.at, diff)
		}
	}
}

func TestLocalGCRADailyBudget(t *testing.T) {
	clk := newClock()
	l := mustNew(t, ratelimit.Config{Now: clk.Now}, ratelimit.Policy{Name: "certificate_issue_subject",
		Key: ratelimit.KeySubject, Classes: []ratelimit.Class{"certificate_issue"}, Rate: 10, Burst: 5, Period: 24 * time.Hour})
	r := ratelimit.Request{Class: "certificate_issue", Subject: "s1"}
	for i := range 5 {
		if d := allow(t, l, r); !d.Allowed || d.Remaining != 4-i {
			t.Fatalf("certificate %d: %+v, want allowed with %d remaining", i+1, d, 4-i)
		}
	}
	d := allow(t, l, r)
	if d.Allowed || d.RetryAfter != 144*time.Minute {
		t.Fatalf("6th certificate: %+v, want refused for 2h24m (a day / 10)", d)
	}
	if err := d.Err(); err == nil {
		t.Fatal("Err() = nil for a refusal")
	}
	clk.Advance(144 * time.Minute)
	if d := allow(t, l, r); !d.Allowed {
		t.Fatalf("after 2h24m: %+v, want allowed", d)
	}
}

func TestDecisionErr(t *testing.T) {
	if err := (ratelimit.Decision{Allowed: true}).Err(); err != nil {
		t.Fatalf("allowed: Err() = %v", err)
	}
	err := ratelimit.Decision{Allowed: false, RetryAfter: 1500 * time.Millisecond}.Err()
	var e *services.Error
	if !errors.As(err, &e) {
		t.Fatalf("Err() = %T, want *services.Error", err)
	}
	if e.Code != services.CodeRateLimited || e.Code.Status() != http.StatusTooManyRequests || e.RetryAfter != 1500*time.Millisecond {
		t.Fatalf("Err() = %+v, want rate_limited (429), retry after 1.5s", e)
	}
}

// threePolicies is one class limited per address, per subject and for the
// whole channel: burst 5, 2 and 100.
func threePolicies() []ratelimit.Policy {
	return []ratelimit.Policy{
		{Name: "login_ip", Key: ratelimit.KeyIP, Classes: []ratelimit.Class{"login"}, Rate: 5, Burst: 5, Period: time.Hour},
		{Name: "login_subject", Key: ratelimit.KeySubject, Classes: []ratelimit.Class{"login"}, Rate: 2, Burst: 2, Period: time.Hour},
		{Name: "ceiling_miniapp", Key: ratelimit.KeyChannel, Channels: []string{"miniapp"}, Rate: 100, Burst: 100, Period: time.Second},
	}
}

func TestMatchingAndSkipping(t *testing.T) {
	l := mustNew(t, ratelimit.Config{}, threePolicies()...)
	tests := []struct {
		name string
		req  ratelimit.Request
		want string // deciding policy on a fresh key
	}{
		{"subject tightest", ratelimit.Request{Class: "login", Channel: "miniapp", IP: "198.51.100.1", Subject: "a"}, "login_subject"},
		{"anonymous: subject skipped", ratelimit.Request{Class: "login", Channel: "miniapp", IP: "198.51.100.2"}, "login_ip"},
		{"no address still counted", ratelimit.Request{Class: "login", Channel: "app"}, "login_ip"},
		{"other class: ceiling only", ratelimit.Request{Class: "read", Channel: "miniapp", Subject: "b"}, "ceiling_miniapp"},
		{"other channel, other class: none", ratelimit.Request{Class: "read", Channel: "kiosk", Subject: "b"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := allow(t, l, tt.req)
			if !d.Allowed || d.Policy != tt.want {
				t.Fatalf("Allow(%+v) = %+v, want allowed by %q", tt.req, d, tt.want)
			}
		})
	}
}

// TestMissingAddressesShareACounter: requests without an address are
// counted together, not let through.
func TestMissingAddressesShareACounter(t *testing.T) {
	l := mustNew(t, ratelimit.Config{}, threePolicies()[0])
	for _, ip := range []string{"", " ", "", "unknown", ""} {
		if d := allow(t, l, ratelimit.Request{Class: "login", IP: ip}); !d.Allowed {
			t.Fatalf("IP %q refused early: %+v", ip, d)
		}
	}
	if d := allow(t, l, ratelimit.Request{Class: "login"}); d.Allowed {
		t.Fatalf("6th request without an address allowed: %+v", d)
	}
	// Junk is counted as given: five junk requests fill their own counter.
	for i := range 6 {
		d := allow(t, l, ratelimit.Request{Class: "login", IP: "<script>"})
		if d.Allowed != (i < 5) {
			t.Fatalf("junk address, request %d: %+v", i+1, d)
		}
	}
}

func TestEmbeddedIgnoresFailClosed(t *testing.T) {
	p := threePolicies()[1]
	p.FailClosed = true
	l := mustNew(t, ratelimit.Config{}, p)
	d := allow(t, l, ratelimit.Request{Class: "login", Subject: "a"})
	if !d.Allowed || d.Fallback {
		t.Fatalf("without Redis: %+v, want allowed, not a fallback", d)
	}
}

func TestLocalConcurrentUse(t *testing.T) {
	l := mustNew(t, ratelimit.Config{}, ratelimit.Policy{Name: "p", Key: ratelimit.KeySubject,
		Rate: 100, Burst: 100, Period: time.Hour})
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 8 {
		wg.Go(func() {
			for range 50 {
				d, err := l.Allow(t.Context(), ratelimit.Request{Subject: "shared"})
				if err != nil {
					t.Error(err)
				}
				if d.Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 100 {
		t.Fatalf("%d of 400 concurrent requests allowed, want exactly the burst of 100", allowed)
	}
}

// The per-unit write limit binds across the operators of one unit, not
// across units: a unit's clerks cannot multiply its budget.
func TestUnitLimitAcrossOperators(t *testing.T) {
	var unitPolicy ratelimit.Policy
	for _, p := range ratelimit.DefaultPolicies() {
		if p.Name == "employer_write_unit" {
			unitPolicy = p
		}
	}
	if unitPolicy.Name == "" {
		t.Fatal("no employer_write_unit policy")
	}
	unitPolicy.Rate, unitPolicy.Burst = 2, 2
	l := mustNew(t, ratelimit.Config{}, unitPolicy)
	write := func(subject, unit string) ratelimit.Decision {
		return allow(t, l, ratelimit.Request{Class: ratelimit.ClassEmployerWrite, Channel: ratelimit.ChannelApp, Subject: subject, Unit: unit})
	}
	if !write("admin", "shop").Allowed || !write("clerk", "shop").Allowed {
		t.Fatal("the unit's first two writes refused")
	}
	if d := write("clerk2", "shop"); d.Allowed || d.Policy != "employer_write_unit" {
		t.Fatalf("a third operator of the unit: %+v, want refused by the unit limit", d)
	}
	if !write("admin", "firm").Allowed {
		t.Fatal("another unit refused by this unit's limit")
	}
}
