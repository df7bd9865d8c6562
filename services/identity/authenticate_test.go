package identity_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/identity"
	"handheld/services/keys"
	"handheld/services/kv"
	"handheld/services/redistest"
	"handheld/services/store/storetest"
	"handheld/services/suite"
	"handheld/services/token"
	"handheld/services/wechat"
)

// countingKV counts kv round trips, to hold Authenticate to its budget.
type countingKV struct {
	kv.Store
	calls atomic.Int64
}

func (c *countingKV) Get(ctx context.Context, k string) ([]byte, bool, error) {
	c.calls.Add(1)
	return c.Store.Get(ctx, k)
}

func (c *countingKV) Touch(ctx context.Context, k string, ttl time.Duration) (bool, error) {
	c.calls.Add(1)
	return c.Store.Touch(ctx, k, ttl)
}

// notCalled stands in for the core and WeChat, which Authenticate never uses.
type notCalled struct{}

func (notCalled) VerifyRealName(context.Context, string, string) (core.Person, error) { panic("core") }
func (notCalled) VerifyFace(context.Context, core.FaceCheck) (core.FaceResult, error) { panic("core") }
func (notCalled) AuthenticateOperator(context.Context, core.OperatorLogin) (core.Operator, error) {
	return core.Operator{UnitCode: "91330106MA2GL3K72J", OperatorID: "op", Role: core.OperatorClerk}, nil
}
func (notCalled) Operators(context.Context, string) (core.OperatorList, error) { panic("core") }
func (notCalled) ChangeOperatorPassword(context.Context, core.PasswordChange) (core.Operator, error) {
	panic("core")
}
func (notCalled) Code2Session(context.Context, string) (wechat.Session, error) { panic("wechat") }
func (notCalled) PhoneNumber(context.Context, string) (string, error)          { panic("wechat") }
func (notCalled) Person(context.Context, string) (core.Person, error)          { panic("core") }
func (notCalled) StartFaceCheck(context.Context, wechat.FaceCheck) (string, time.Duration, error) {
	panic("wechat")
}
func (notCalled) FaceResult(context.Context, string, wechat.FaceCheck) (int64, error) {
	panic("wechat")
}
func (notCalled) Sandbox() bool { return false }

type fixture struct {
	svc *identity.Service
	kv  *countingKV
	tok *token.Tokens
}

func newFixture(tb testing.TB, store kv.Store, cacheSize int, revocationCache time.Duration) *fixture {
	tb.Helper()
	ring, err := keys.Ensure(filepath.Join(tb.TempDir(), "keys"), time.Now(), suite.Env())
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := token.New(token.Config{Issuer: "handheld", Audience: "handheld", TTL: 15 * time.Minute, Leeway: 5 * time.Second, CacheSize: cacheSize}, ring)
	if err != nil {
		tb.Fatal(err)
	}
	s := storetest.Migrated(tb, storetest.SQLiteDSN(tb))
	log := audit.New(s, audit.Options{})
	tb.Cleanup(func() { _ = log.Close(context.Background()) })
	counted := &countingKV{Store: store}
	svc, err := identity.New(identity.Deps{
		Store: s, Core: notCalled{}, WeChat: notCalled{}, Tokens: tok, KV: counted, Audit: log,
		HashKey: services.NewHashKey([]byte("0123456789abcdef0123456789abcdef"), suite.Env()), Assurance: identity.DefaultAssurance(),
		Policy: identity.Policy{AccessTTL: 15 * time.Minute, KioskIdle: 3 * time.Minute, KioskAbsolute: 15 * time.Minute,
			LockoutFailures: 5, LockoutWindow: 15 * time.Minute, LockoutDuration: 15 * time.Minute, LockoutOperatorFailures: 20,
			RefreshTTL:      map[string]time.Duration{services.ChannelApp: time.Hour},
			RevocationCache: revocationCache},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{svc: svc, kv: counted, tok: tok}
}

func (f *fixture) employerToken(tb testing.TB) string {
	tb.Helper()
	t, err := f.svc.LoginEmployer(context.Background(), identity.EmployerLogin{UnitCode: "91330106MA2GL3K72J", OperatorID: "op", Password: "pw"})
	if err != nil {
		tb.Fatal(err)
	}
	return t.AccessToken
}

// Authenticate costs at most one kv round trip, none while the local cache
// remembers the session, and sees a logout at once on the same replica.
func TestAuthenticateRoundTrips(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, kv.NewRedis(redistest.Client(t), redistest.Prefix(t), services.NewHashKey([]byte("0123456789abcdef0123456789abcdef"), suite.Env()), time.Second), 1000, time.Minute)
	tok := f.employerToken(t)
	f.kv.calls.Store(0)
	p, err := f.svc.Authenticate(ctx, tok)
	if err != nil || p.Role != services.RoleEmployer {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	if n := f.kv.calls.Load(); n != 1 {
		t.Fatalf("first check: %d kv round trips, want 1", n)
	}
	for range 10 {
		if _, err := f.svc.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.kv.calls.Load(); n != 1 {
		t.Fatalf("warm cache: %d kv round trips, want still 1", n)
	}
	if err := f.svc.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, tok); err == nil {
		t.Fatal("token still accepted after logout")
	}
}

// BenchmarkAuthenticate is the auth middleware's cost per request: token
// verification plus the revocation check against real Redis.
//
//	cached:   verified-token cache and local revocation cache warm (no Redis)
//	redis:    verified-token cache warm, revocation checked in Redis each time
//	uncached: EdDSA verify and a Redis round trip each time
func BenchmarkAuthenticate(b *testing.B) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	for _, bc := range []struct {
		name     string
		cache    int
		revCache time.Duration
	}{
		{"cached", 1000, time.Hour},
		{"redis", 1000, 0},
		{"uncached", 0, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFixture(b, kv.NewRedis(redistest.Client(b), redistest.Prefix(b), services.NewHashKey(secret, suite.Env()), time.Second), bc.cache, bc.revCache)
			tok := f.employerToken(b)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.svc.Authenticate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
