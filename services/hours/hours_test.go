package hours

import (
	"strings"
	"testing"
	"time"

	"handheld/services"
)

func TestGate(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	at := func(h, m int) func() time.Time {
		return func() time.Time { return time.Date(2026, 11, 24, h, m, 0, 0, cst) }
	}
	policy := Policy{
		"withdrawal":  {"kiosk": {Hours: "08:00-20:00"}, "*": {Hours: "06:00-23:30"}, "app": {Off: true}},
		"certificate": {"miniapp": {Hours: "22:00-02:00"}},
	}
	cases := []struct {
		service    Service
		channel    string
		now        func() time.Time
		code       services.Code
		retryAfter time.Duration
	}{
		{"withdrawal", "kiosk", at(9, 0), "", 0},
		{"withdrawal", "kiosk", at(20, 0), services.CodeServiceHours, 12 * time.Hour},
		{"withdrawal", "kiosk", at(7, 30), services.CodeServiceHours, 30 * time.Minute},
		{"withdrawal", "miniapp", at(23, 0), "", 0},
		{"withdrawal", "miniapp", at(23, 45), services.CodeServiceHours, 6*time.Hour + 15*time.Minute},
		{"withdrawal", "app", at(12, 0), services.CodeServiceClosed, 0},
		{"certificate", "miniapp", at(1, 0), "", 0},
		{"certificate", "miniapp", at(23, 0), "", 0},
		{"certificate", "miniapp", at(3, 0), services.CodeServiceHours, 19 * time.Hour},
		{"certificate", "kiosk", at(3, 0), "", 0},
		{"employer", "app", at(3, 0), "", 0},
	}
	for _, tc := range cases {
		g, err := New(policy, tc.now)
		if err != nil {
			t.Fatal(err)
		}
		err = g.Check(tc.service, tc.channel)
		if tc.code == "" {
			if err != nil {
				t.Errorf("%s/%s at %s: %v", tc.service, tc.channel, tc.now().Format("15:04"), err)
			}
			continue
		}
		e := services.AsError(err)
		if e.Code != tc.code || e.RetryAfter != tc.retryAfter {
			t.Errorf("%s/%s at %s: %s retry %s, want %s retry %s", tc.service, tc.channel, tc.now().Format("15:04"),
				e.Code, e.RetryAfter, tc.code, tc.retryAfter)
		}
	}
}

func TestBadHours(t *testing.T) {
	for _, h := range []string{"8-20", "08:00-08:00", "25:00-26:00", "08:60-09:00", "soon"} {
		if _, err := New(Policy{Withdrawal: {"kiosk": {Hours: h}}}, time.Now); err == nil {
			t.Errorf("hours %q accepted", h)
		}
	}
}

// A service or channel the gate does not know would never be checked: the
// policy naming it is refused, and the message names it.
func TestUnknownNamesRefused(t *testing.T) {
	for _, tc := range []struct {
		policy Policy
		want   string
	}{
		{Policy{"withdrawals": {"*": {Off: true}}}, `"withdrawals"`},
		{Policy{"ecard": {"*": {Off: true}}}, `"ecard"`},
		{Policy{Withdrawal: {"mini_app": {Off: true}}}, `"mini_app"`},
		{Policy{Account: {"": {Off: true}}}, `""`},
	} {
		_, err := New(tc.policy, time.Now)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one naming %s", tc.policy, err, tc.want)
		}
	}
	if _, err := New(Policy{Account: {ChannelAny: {Hours: "08:00-20:00"}}, Employer: {"app": {Off: true}},
		Certificate: {"kiosk": {}}, Withdrawal: {"public": {}, "miniapp": {}}}, time.Now); err != nil {
		t.Errorf("known names refused: %v", err)
	}
}
