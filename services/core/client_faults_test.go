package core_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/coresim"
)

// observed records Observe calls of a client under test.
type observed struct {
	mu       sync.Mutex
	outcomes []string
}

func (o *observed) observe(endpoint, outcome string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outcomes = append(o.outcomes, endpoint+":"+outcome)
}

func (o *observed) last() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.outcomes) == 0 {
		return ""
	}
	return o.outcomes[len(o.outcomes)-1]
}

func TestContractMaintenanceWindow(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *coresim.Config) { c.Maintenance = "23:00-01:00" })
	ctx := context.Background()
	p := pick(t, people(t, h), "person with an account", func(p person) bool { return p.HasAccount })

	// 23:30 in Shanghai: inside the nightly window, 90 minutes before its end.
	day := h.clock.Now()
	h.clock.Set(time.Date(day.Year(), day.Month(), day.Day(), 23, 30, 0, 0, shanghai()))
	obs := &observed{}
	c := h.newClient(t, func(cfg *core.ClientConfig) { cfg.Observe = obs.observe })

	_, err := c.Account(ctx, p.PersonID)
	var e *services.Error
	if !errors.As(err, &e) || e.Code != services.CodeCoreMaintenance {
		t.Fatalf("Account in the window = %v, want core.maintenance", err)
	}
	if e.RetryAfter != 90*time.Minute {
		t.Errorf("RetryAfter = %s, want 1h30m (the window ends at 01:00)", e.RetryAfter)
	}
	if got := obs.last(); got != "account:maintenance" {
		t.Errorf("observed %q, want account:maintenance", got)
	}
	if err := c.Health(ctx); err != nil {
		t.Errorf("Health in the window = %v; the core is up, only business calls wait", err)
	}

	h.clock.Set(time.Date(day.Year(), day.Month(), day.Day()+1, 1, 0, 0, 0, shanghai()))
	if _, err := c.Account(ctx, p.PersonID); err != nil {
		t.Errorf("Account after the window = %v", err)
	}
}

func TestContractFaults(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	p := pick(t, people(t, h), "person with an account", func(p person) bool { return p.HasAccount })
	obs := &observed{}
	c := h.newClient(t, func(cfg *core.ClientConfig) {
		cfg.Observe = obs.observe
		cfg.Timeout = 300 * time.Millisecond
	})

	tests := []struct {
		spec        string
		wantOutcome string
		wantIs      error
	}{
		{"account=error:1.0", core.OutcomeError, nil},
		{"account=down", core.OutcomeError, nil},
		{"account=latency:1m", core.OutcomeTimeout, context.DeadlineExceeded},
		{"all=error:1.0", core.OutcomeError, nil},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			h.setFaults(t, tt.spec)
			t.Cleanup(func() { h.setFaults(t, "") })
			_, err := c.Account(ctx, p.PersonID)
			if code(t, err) != services.CodeCoreUnavailable {
				t.Errorf("Account under %s = %v, want core.unavailable", tt.spec, err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Account under %s = %v, want a cause wrapping %v", tt.spec, err, tt.wantIs)
			}
			if got, want := obs.last(), "account:"+tt.wantOutcome; got != want {
				t.Errorf("observed %q, want %q", got, want)
			}
		})
	}

	// A fault on one group leaves the others alone, and clearing it heals.
	h.setFaults(t, "account=error:1.0")
	if _, err := c.Loan(ctx, p.PersonID); err != nil {
		t.Errorf("Loan while only account is faulted = %v", err)
	}
	h.setFaults(t, "")
	if _, err := c.Account(ctx, p.PersonID); err != nil {
		t.Errorf("Account after clearing faults = %v", err)
	}
}

func testContractRefusesBadSignatures(t *testing.T, h *harness) {
	ctx := context.Background()
	tests := []struct {
		name  string
		tweak func(*core.ClientConfig)
	}{
		{"wrong secret", func(c *core.ClientConfig) { c.Secret = []byte("another-secret-another-secret-!!") }},
		{"unknown key id", func(c *core.ClientConfig) { c.KeyID = "intruder" }},
		{"clock ten minutes slow", func(c *core.ClientConfig) {
			c.Now = func() time.Time { return h.clock.Now().Add(-10 * time.Minute) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := h.newClient(t, tt.tweak).Health(ctx)
			if code(t, err) != services.CodeCoreUnavailable || !errors.Is(err, core.ErrSignatureRejected) {
				t.Errorf("Health = %v, want core.unavailable wrapping ErrSignatureRejected", err)
			}
		})
	}
	if err := h.client.Health(ctx); err != nil {
		t.Errorf("Health with the right key = %v", err)
	}
}

func testContractEchoesRequestID(t *testing.T, h *harness) {
	ctx := services.WithRequestID(context.Background(), "req-contract-7")
	if err := h.client.Health(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.seen.lastRequestID(); got != "req-contract-7" {
		t.Errorf("the core saw request id %q, want req-contract-7", got)
	}
}

// BenchmarkClientAccount measures one signed Account call against the
// simulator over loopback HTTP: signing, transport, the simulator's SQLite
// read and strict decoding. Run with -benchmem to watch allocations.
func BenchmarkClientAccount(b *testing.B) {
	h := newHarness(b)
	ctx := context.Background()
	var personID string
	for _, p := range h.sim.Personas() {
		if p.Name == "" || p.IDNumber == "" {
			continue
		}
		got, err := h.client.VerifyRealName(ctx, p.Name, p.IDNumber)
		if err == nil && got.HasAccount {
			personID = got.PersonID
			break
		}
	}
	if personID == "" {
		b.Fatal("the seed has no person with an account")
	}
	// The default client (tuned transport), without the test's validation.
	c := h.newClient(b, func(cfg *core.ClientConfig) { cfg.HTTPClient = nil })
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Account(ctx, personID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
