package coresim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"handheld/services/core"
)

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in      string
		want    Window
		wantErr string
	}{
		{"23:00-01:00", Window{Start: 23 * time.Hour, End: time.Hour}, ""},
		{"02:30-04:00", Window{Start: 2*time.Hour + 30*time.Minute, End: 4 * time.Hour}, ""},
		{" 22:00 - 24:00 ", Window{Start: 22 * time.Hour, End: 24 * time.Hour}, ""},
		{"00:00-24:00", Window{End: 24 * time.Hour}, ""},
		{"23:00", Window{}, "want HH:MM-HH:MM"},
		{"23:00-23:00", Window{}, "same time"},
		{"24:00-01:00", Window{}, "start"},
		{"23:60-01:00", Window{}, "start"},
		{"23:00-1:00", Window{}, "end"},
		{"23:00-25:00", Window{}, "end"},
		{"ab:cd-01:00", Window{}, "start"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseWindow(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseWindow(%q) error %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseWindow(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if back, err := ParseWindow(got.String()); err != nil || back != got {
				t.Errorf("String() %q does not parse back", got.String())
			}
		})
	}
}

func TestWindowRemaining(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	at := func(h, m, s int) time.Time { return time.Date(2026, 11, 24, h, m, s, 0, cst) }
	night := Window{Start: 23 * time.Hour, End: time.Hour}
	day := Window{Start: 2 * time.Hour, End: 4 * time.Hour}
	tests := []struct {
		w      Window
		t      time.Time
		left   time.Duration
		inside bool
	}{
		{night, at(22, 59, 59), 0, false},
		{night, at(23, 0, 0), 2 * time.Hour, true},
		{night, at(23, 30, 0), 90 * time.Minute, true},
		{night, at(0, 0, 0), time.Hour, true},
		{night, at(0, 59, 59), time.Second, true},
		{night, at(1, 0, 0), 0, false},
		{night, at(12, 0, 0), 0, false},
		{night, at(23, 30, 0).UTC(), 90 * time.Minute, true}, // the zone of t does not matter
		{night, time.Date(2026, 11, 24, 15, 30, 0, 0, time.UTC), 90 * time.Minute, true},
		{day, at(1, 59, 0), 0, false},
		{day, at(3, 0, 0), time.Hour, true},
		{day, at(4, 0, 0), 0, false},
	}
	for _, tt := range tests {
		left, inside := tt.w.Remaining(tt.t)
		if left != tt.left || inside != tt.inside {
			t.Errorf("%v.Remaining(%v) = %v, %v; want %v, %v", tt.w, tt.t, left, inside, tt.left, tt.inside)
		}
	}
}

func TestMaintenanceWindowOverHTTP(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Maintenance = "23:00-01:00" })
	id := h.personID("张伟") // 15:04, outside
	cst := time.FixedZone("CST", 8*3600)
	h.clock.Set(time.Date(2026, 11, 24, 23, 59, 30, 250_000_000, cst)) // 1h0m29.75s left

	for _, p := range []string{path(core.PathAccount, id), path(core.PathLoan, id), path(core.PathWithdrawal, "x")} {
		resp, b := h.request(http.MethodGet, p, nil, signing{})
		wantError(t, resp, b, http.StatusServiceUnavailable, core.ErrMaintenance)
		if got := resp.Header.Get("Retry-After"); got != "3630" {
			t.Errorf("%s: Retry-After %q, want 3630 (1h0m29.75s rounded up)", p, got)
		}
	}
	var health map[string]string
	h.get(core.PathHealth, &health) // health answers during maintenance

	// A fraction of a second left still says 1.
	h.clock.Set(time.Date(2026, 11, 25, 0, 59, 59, 500_000_000, cst))
	resp, b := h.request(http.MethodGet, path(core.PathAccount, id), nil, signing{})
	wantError(t, resp, b, http.StatusServiceUnavailable, core.ErrMaintenance)
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}

	h.clock.Set(time.Date(2026, 11, 25, 1, 0, 0, 0, cst))
	var a core.Account
	h.get(path(core.PathAccount, id), &a)

	// Over the admin endpoint: move the window onto now, then remove it.
	put(t, h, "/_sim/maintenance", "00:30-02:00", http.StatusNoContent)
	if got := getText(t, h, "/_sim/maintenance"); got != "00:30-02:00" {
		t.Errorf("GET /_sim/maintenance = %q", got)
	}
	resp, b = h.request(http.MethodGet, path(core.PathAccount, id), nil, signing{})
	wantError(t, resp, b, http.StatusServiceUnavailable, core.ErrMaintenance)
	put(t, h, "/_sim/maintenance", "1am", http.StatusBadRequest)
	put(t, h, "/_sim/maintenance", "", http.StatusNoContent)
	h.get(path(core.PathAccount, id), &a)
}
