package bff

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"handheld/services/ratelimit"
)

// Start-up compares the rate-limit policies with the routes: the shipped
// ones are all filled; one that nothing could fill stops start-up, naming
// rate_limits, the policy and its setting.
func TestStartRefusesPoliciesNothingFills(t *testing.T) {
	open := func(ps []ratelimit.Policy) error {
		cfg, err := LoadConfig(map[string]string{"HANDHELD_DATA_DIR": t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		cfg.RateLimits = ps
		a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
		if err == nil {
			_ = a.Close()
		}
		return err
	}
	if err := open(ratelimit.DefaultPolicies()); err != nil {
		t.Fatalf("shipped policies refused: %v", err)
	}
	tests := []struct {
		name   string
		policy ratelimit.Policy
		want   []string
	}{
		{"class no route has", ratelimit.Policy{Name: "logon_ip", Key: ratelimit.KeyIP, Classes: []ratelimit.Class{"logon"}},
			[]string{"rate_limits", `"logon_ip": classes`, `"logon"`}},
		{"key no route of the class fills", ratelimit.Policy{Name: "calculator_unit", Key: ratelimit.KeyUnit, Classes: []ratelimit.Class{"public"}},
			[]string{"rate_limits", `"calculator_unit": key`}},
		{"unit key on sign-in", ratelimit.Policy{Name: "login_unit", Key: ratelimit.KeyUnit, Classes: []ratelimit.Class{"login"}},
			[]string{"rate_limits", `"login_unit": key`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.policy.Rate, tt.policy.Burst, tt.policy.Period = 10, 10, time.Minute
			err := open(append(ratelimit.DefaultPolicies(), tt.policy))
			if err == nil {
				t.Fatal("started")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// Without a per-address policy on refresh, one address could spend
	// the public ceiling.
	var noRefreshIP []ratelimit.Policy
	for _, p := range ratelimit.DefaultPolicies() {
		if p.Name != "refresh_ip" {
			noRefreshIP = append(noRefreshIP, p)
		}
	}
	if err := open(noRefreshIP); err == nil || !strings.Contains(err.Error(), "POST /api/v1/auth/refresh") {
		t.Fatalf("started without a per-address refresh limit: %v", err)
	}
}
