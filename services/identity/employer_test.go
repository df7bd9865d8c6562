package identity_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/identity"
	"handheld/services/keys"
	"handheld/services/kv"
	"handheld/services/store/storetest"
	"handheld/services/suite"
	"handheld/services/token"
)

// operatorCore knows one operator and its password, and counts the sign-ins
// it was asked for.
type operatorCore struct {
	notCalled
	mu    sync.Mutex
	calls int
	away  bool // in its maintenance window
}

const (
	opUnit     = "91330106MA2GL3K72J"
	opID       = "op"
	opPassword = "right"
)

func (c *operatorCore) AuthenticateOperator(_ context.Context, l core.OperatorLogin) (core.Operator, error) {
	c.mu.Lock()
	c.calls++
	away := c.away
	c.mu.Unlock()
	if away {
		return core.Operator{}, services.E(services.CodeCoreMaintenance)
	}
	if l.UnitCode != opUnit || l.OperatorID != opID || l.Password != opPassword {
		return core.Operator{}, core.ErrInvalidCredentials
	}
	return core.Operator{UnitCode: opUnit, OperatorID: opID, Role: core.OperatorAdmin}, nil
}

func (c *operatorCore) Operators(context.Context, string) (core.OperatorList, error) {
	return core.OperatorList{Items: []core.OperatorRecord{{OperatorID: opID, Role: core.OperatorAdmin, Status: core.OperatorActive}}}, nil
}

// ChangeOperatorPassword counts like a sign-in: the current password
// proves who it is.
func (c *operatorCore) ChangeOperatorPassword(_ context.Context, ch core.PasswordChange) (core.Operator, error) {
	return c.AuthenticateOperator(context.Background(), core.OperatorLogin{UnitCode: ch.UnitCode, OperatorID: ch.OperatorID, Password: ch.CurrentPassword})
}

// fakeClock is the service's and kv's clock, moved by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func lockoutService(t *testing.T, clk *fakeClock, cc *operatorCore) *identity.Service {
	t.Helper()
	ring, err := keys.Ensure(filepath.Join(t.TempDir(), "keys"), clk.Now(), suite.Env())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := token.New(token.Config{Issuer: "handheld", Audience: "handheld", TTL: 15 * time.Minute,
		Leeway: 5 * time.Second, Now: clk.Now}, ring)
	if err != nil {
		t.Fatal(err)
	}
	s := storetest.Migrated(t, storetest.SQLiteDSN(t))
	log := audit.New(s, audit.Options{})
	t.Cleanup(func() { _ = log.Close(context.Background()) })
	secret := []byte("0123456789abcdef0123456789abcdef")
	svc, err := identity.New(identity.Deps{
		Store: s, Core: cc, WeChat: notCalled{}, Tokens: tok, KV: kv.NewMemory(clk.Now, services.NewHashKey(secret, suite.Env())), Audit: log,
		HashKey: services.NewHashKey(secret, suite.Env()), Now: clk.Now, Assurance: identity.DefaultAssurance(),
		Policy: identity.Policy{AccessTTL: 15 * time.Minute, KioskIdle: 3 * time.Minute, KioskAbsolute: 15 * time.Minute,
			LockoutFailures: 3, LockoutOperatorFailures: 7, LockoutWindow: 15 * time.Minute, LockoutDuration: 15 * time.Minute,
			LockoutDelay: time.Second, LockoutDelayMax: 3 * time.Second,
			RefreshTTL: map[string]time.Duration{services.ChannelApp: time.Hour}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func login(svc *identity.Service, address, password string) error {
	_, err := svc.LoginEmployer(context.Background(), identity.EmployerLogin{UnitCode: opUnit, OperatorID: opID,
		Password: password, Address: address})
	return err
}

// wantCode checks err's code and, for auth.locked, its Retry-After.
func wantCode(t *testing.T, step string, err error, code services.Code, retryAfter time.Duration) {
	t.Helper()
	if got := services.ErrorCode(err); err == nil && code != "" || err != nil && got != code {
		t.Fatalf("%s: %v, want %q", step, err, code)
	}
	if retryAfter > 0 && services.AsError(err).RetryAfter != retryAfter {
		t.Fatalf("%s: retry after %s, want %s", step, services.AsError(err).RetryAfter, retryAfter)
	}
}

// A stranger guessing from one address waits longer after each failure,
// then is locked out; the operator signing in from another address is not.
func TestStrangerCannotLockTheOperatorOut(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	cc := &operatorCore{}
	svc := lockoutService(t, clk, cc)
	const attacker, operator = "203.0.113.9", "198.51.100.4"

	wantCode(t, "first guess", login(svc, attacker, "guess1"), services.CodeBadCredentials, 0)
	wantCode(t, "at once again", login(svc, attacker, "guess2"), services.CodeLocked, time.Second)
	clk.Advance(time.Second)
	wantCode(t, "second guess", login(svc, attacker, "guess2"), services.CodeBadCredentials, 0)
	clk.Advance(time.Second)
	wantCode(t, "within the doubled delay", login(svc, attacker, "guess3"), services.CodeLocked, time.Second)
	clk.Advance(time.Second)
	wantCode(t, "third guess locks the pair", login(svc, attacker, "guess3"), services.CodeLocked, 15*time.Minute)
	calls := cc.calls
	wantCode(t, "locked pair, right password", login(svc, attacker, opPassword), services.CodeLocked, 0)
	if cc.calls != calls {
		t.Fatal("a locked attempt reached the core")
	}
	wantCode(t, "the operator elsewhere", login(svc, operator, opPassword), "", 0)
}

// Guessing spread over many addresses, each below the per-address
// threshold, still locks the operator, everywhere.
func TestDistributedGuessingLocksTheOperator(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	svc := lockoutService(t, clk, &operatorCore{})
	addresses := []string{"2001:db8:1::1", "2001:db8:2::1", "2001:db8:3::1", "2001:db8:4::1"}
	failures := 0
	for round := range 2 {
		for _, a := range addresses {
			if failures == 6 {
				break
			}
			wantCode(t, a, login(svc, a, "guess"), services.CodeBadCredentials, 0)
			failures++
		}
		clk.Advance(time.Duration(round+1) * 2 * time.Second)
	}
	// The seventh failure, from a fresh address, locks the operator.
	wantCode(t, "seventh", login(svc, "2001:db8:5::1", "guess"), services.CodeLocked, 15*time.Minute)
	wantCode(t, "the operator", login(svc, "198.51.100.4", opPassword), services.CodeLocked, 0)
	// Rotating within one /64 gains nothing: it is one address.
	clk.Advance(16 * time.Minute)
	for i, a := range []string{"2001:db8:9::1", "2001:db8:9::2", "2001:db8:9::3"} {
		clk.Advance(5 * time.Second)
		want := services.CodeBadCredentials
		if i == 2 {
			want = services.CodeLocked
		}
		wantCode(t, a, login(svc, a, "guess"), want, 0)
	}
	wantCode(t, "after the lock, elsewhere", login(svc, "198.51.100.4", opPassword), "", 0)
}
