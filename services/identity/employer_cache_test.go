package identity_test

import (
	"context"
	"testing"
	"time"

	"handheld/services"
)

func (c *operatorCore) setAway(away bool) { c.mu.Lock(); c.away = away; c.mu.Unlock() }

// At night an operator who signed in before signs in from the cached check;
// one who never did gets the core's 503; a wrong password is refused and
// counts towards the same lockout as by day.
func TestCachedOperatorCheckDuringMaintenance(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	cc := &operatorCore{}
	svc := lockoutService(t, clk, cc)
	const addr, attacker = "198.51.100.4", "203.0.113.9"

	cc.setAway(true)
	wantCode(t, "never signed in", login(svc, addr, opPassword), services.CodeCoreMaintenance, 0)
	cc.setAway(false)
	wantCode(t, "by day", login(svc, addr, opPassword), "", 0)
	cc.setAway(true)
	wantCode(t, "at night, cached", login(svc, addr, opPassword), "", 0)

	// Guessing at night: refused, delayed, then locked, as by day.
	wantCode(t, "guess 1", login(svc, attacker, "guess1"), services.CodeBadCredentials, 0)
	wantCode(t, "at once", login(svc, attacker, "guess2"), services.CodeLocked, time.Second)
	clk.Advance(time.Second)
	wantCode(t, "guess 2", login(svc, attacker, "guess2"), services.CodeBadCredentials, 0)
	clk.Advance(2 * time.Second)
	wantCode(t, "guess 3 locks", login(svc, attacker, "guess3"), services.CodeLocked, 15*time.Minute)
	wantCode(t, "locked, right password", login(svc, attacker, opPassword), services.CodeLocked, 0)

	// The cached check does not outlive its age.
	clk.Advance(identity7Days + time.Minute)
	wantCode(t, "after the cache's age", login(svc, addr, opPassword), services.CodeCoreMaintenance, 0)
}

const identity7Days = 7 * 24 * time.Hour

// A disable (or reset) seen by handheld forgets the cached check: the
// disabled operator is not let in at night.
func TestCachedOperatorCheckForgottenOnRevoke(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	cc := &operatorCore{}
	svc := lockoutService(t, clk, cc)
	wantCode(t, "by day", login(svc, "198.51.100.4", opPassword), "", 0)
	if err := svc.RevokeOperator(context.Background(), opUnit, opID, "disabled"); err != nil {
		t.Fatal(err)
	}
	cc.setAway(true)
	wantCode(t, "disabled, at night", login(svc, "198.51.100.4", opPassword), services.CodeCoreMaintenance, 0)
}

// A failure the core saw (the password changed at the counter) forgets the
// cached check too.
func TestCachedOperatorCheckForgottenOnCoreRefusal(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	cc := &operatorCore{}
	svc := lockoutService(t, clk, cc)
	wantCode(t, "by day", login(svc, "198.51.100.4", opPassword), "", 0)
	wantCode(t, "refused by the core", login(svc, "198.51.100.5", "other"), services.CodeBadCredentials, 0)
	cc.setAway(true)
	wantCode(t, "at night", login(svc, "198.51.100.4", opPassword), services.CodeCoreMaintenance, 0)
}
