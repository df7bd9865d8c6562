package ecard

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/identity"
	"handheld/services/keys"
	"handheld/services/kv"
	"handheld/services/mask"
	"handheld/services/store"
	"handheld/services/suite"
)

// The production collaborators satisfy the interfaces this package
// declares; a change of signature on either side fails here.
var (
	_ reader    = (*core.Reader)(nil)
	_ people    = (*identity.Service)(nil)
	_ auditor   = (*audit.Log)(nil)
	_ onceStore = (*kv.Memory)(nil)
)

var start = time.Date(2026, 3, 14, 17, 0, 0, 0, time.UTC)

// clock is a settable clock safe for concurrent reads.
type clock struct{ micros atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.micros.Store(start.UnixMicro())
	return c
}

func (c *clock) Now() time.Time          { return time.UnixMicro(c.micros.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.micros.Add(d.Microseconds()) }

// fakeReader is the core: p_zhang normal, p_wang sealed, p_chen no account.
type fakeReader struct {
	people   map[string]core.Person
	accounts map[string]core.Account
	err      error
	// staleAsOf, when set, makes the account a remembered answer of then
	// (the core's maintenance window).
	staleAsOf time.Time
}

func newFakeReader() *fakeReader {
	return &fakeReader{
		people: map[string]core.Person{
			"p_zhang": {PersonID: "p_zhang", Name: "张伟", IDNumber: "33010619850312413X", HasAccount: true},
			"p_wang":  {PersonID: "p_wang", Name: "王芳", IDNumber: "330102198802140860", HasAccount: true},
			"p_chen":  {PersonID: "p_chen", Name: "陈静", IDNumber: "330102199001011234"},
		},
		accounts: map[string]core.Account{
			"p_zhang": {AccountNumber: "330100200001", Status: core.StatusNormal},
			"p_wang":  {AccountNumber: "330100200002", Status: core.StatusSealed},
		},
	}
}

func (f *fakeReader) Person(_ context.Context, id string) (core.Person, core.Freshness, error) {
	p, ok := f.people[id]
	if !ok {
		return p, core.Freshness{}, services.E(services.CodePersonNotFound)
	}
	return p, core.Freshness{AsOf: start}, nil
}

func (f *fakeReader) Account(_ context.Context, id string) (core.Account, core.Freshness, error) {
	if f.err != nil {
		return core.Account{}, core.Freshness{}, f.err
	}
	a, ok := f.accounts[id]
	if !ok {
		return a, core.Freshness{}, services.E(services.CodeAccountNotFound)
	}
	if !f.staleAsOf.IsZero() {
		return a, core.Freshness{AsOf: f.staleAsOf, Stale: true}, nil
	}
	return a, core.Freshness{AsOf: start}, nil
}

// fakePeople maps subject s_<x> to person p_<x>.
type fakePeople struct{}

func (fakePeople) PersonID(_ context.Context, subject string) (string, error) {
	if len(subject) < 3 || subject[:2] != "s_" {
		return "", services.E(services.CodeSessionRevoked)
	}
	return "p_" + subject[2:], nil
}

// fakeAudit keeps what it was given.
type fakeAudit struct {
	mu      sync.Mutex
	records []audit.Record
	fail    bool
}

func (a *fakeAudit) Enqueue(_ context.Context, r audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail {
		return errors.New("audit down")
	}
	a.records = append(a.records, r)
	return nil
}

func (a *fakeAudit) actions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, r := range a.records {
		out = append(out, r.Action+" "+r.Result)
	}
	return out
}

// rig is a Service on a real store with fakes around it.
type rig struct {
	*Service
	reader *fakeReader
	audit  *fakeAudit
	clock  *clock
	ring   *keys.Ring
}

// newRig builds a rig; opts adjust its Deps (e.g. the format it mints).
func newRig(tb testing.TB, s *store.Store, opts ...func(*Deps)) *rig {
	tb.Helper()
	ring, err := keys.Ensure(tb.TempDir(), start, suite.Env(), keys.PurposeECard, keys.PurposeTokens)
	if err != nil {
		tb.Fatal(err)
	}
	r := &rig{reader: newFakeReader(), audit: &fakeAudit{}, clock: newClock(), ring: ring}
	d := Deps{
		Ring: ring, KV: kv.NewMemory(r.clock.Now, services.NewHashKey([]byte("0123456789abcdef0123456789abcdef"), suite.Env())), Reader: r.reader,
		People: fakePeople{}, Audit: r.audit, Store: s, Mask: mask.DefaultPolicy(),
		CentreCode: "330100", CentreName: "示范市住房公积金管理中心", Now: r.clock.Now,
	}
	for _, o := range opts {
		o(&d)
	}
	r.Service, err = New(d)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// jws makes a rig mint the older JWS format.
func jws(d *Deps) { d.Format = FormatJWS }

func depositor(subject string) services.Principal {
	return services.Principal{Subject: subject, Role: services.RoleDepositor, Channel: services.ChannelMiniApp, Session: "sess"}
}

func counter() services.Principal {
	return services.Principal{Subject: "verifier:demo-counter", Role: RoleVerifier, Channel: services.ChannelApp}
}

func kiosk() services.Principal {
	return services.Principal{Subject: "device:k1", Role: services.RoleKiosk, Channel: services.ChannelKiosk, Device: "k1"}
}

// wantCode fails unless err carries code.
func wantCode(t *testing.T, err error, code services.Code) {
	t.Helper()
	if got := services.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}
