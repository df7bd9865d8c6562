package employer

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/coresim"
	"handheld/services/kv"
	"handheld/services/suite"
)

var now = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

// The production reader satisfies the interface this package declares.
var (
	_ reader  = (*core.Reader)(nil)
	_ auditor = (*audit.Log)(nil)
)

// fakeReader holds units by code and records which codes were asked for.
type fakeReader struct {
	mu     sync.Mutex
	units  map[string]core.Unit
	answer *core.Unit // when set, answered for every code
	fresh  core.Freshness
	err    error
	asked  []string
}

func (r *fakeReader) Unit(_ context.Context, code string) (core.Unit, core.Freshness, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, code)
	if r.err != nil {
		return core.Unit{}, core.Freshness{}, r.err
	}
	if r.answer != nil {
		return *r.answer, r.fresh, nil
	}
	u, ok := r.units[code]
	if !ok {
		return core.Unit{}, core.Freshness{}, services.E(services.CodeUnitNotFound)
	}
	return u, r.fresh, nil
}

type fakeAudit struct {
	mu      sync.Mutex
	records []audit.Record
	err     error
}

func (a *fakeAudit) Enqueue(_ context.Context, r audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	if err := audit.Check(r); err != nil {
		return err
	}
	a.records = append(a.records, r)
	return nil
}

const (
	unitA = "91330106MA2GL3K72J"
	unitB = "91330108MA27XW4K9P"
)

func operatorOf(unit string) services.Principal {
	return services.Principal{Subject: "op_a", Role: services.RoleEmployer, Channel: services.ChannelApp, Unit: unit}
}

func newService(t *testing.T, r *fakeReader, a *fakeAudit) *Service {
	t.Helper()
	s, err := New(Deps{Reader: r, Audit: a, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestUnitIsTheTokensOwnAndAudited(t *testing.T) {
	r := &fakeReader{units: map[string]core.Unit{
		unitA: {UnitCode: unitA, Name: "A"},
		unitB: {UnitCode: unitB, Name: "B"},
	}, fresh: core.Freshness{AsOf: now.Add(-time.Minute), Stale: true}}
	a := &fakeAudit{}
	s := newService(t, r, a)
	ctx := services.WithRequestID(context.Background(), "req-1")

	got, err := s.Unit(ctx, operatorOf(unitA))
	if err != nil {
		t.Fatal(err)
	}
	want := UnitView{Unit: core.Unit{UnitCode: unitA, Name: "A"}, Freshness: core.Freshness{AsOf: now.Add(-time.Minute), Stale: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unit -want +got:\n%s", diff)
	}
	if diff := cmp.Diff([]string{unitA}, r.asked); diff != "" {
		t.Errorf("units asked of the core -want +got:\n%s", diff)
	}
	wantRecords := []audit.Record{{At: now, Subject: "op_a", Actor: "op_a", Channel: "app", Action: ActionUnit,
		Target: "unit:self", RequestID: "req-1", Result: "ok"}}
	if diff := cmp.Diff(wantRecords, a.records); diff != "" {
		t.Errorf("audit -want +got:\n%s", diff)
	}
}

func TestAnotherUnitCannotBeReached(t *testing.T) {
	// The use case takes no unit code: the only way to name a unit is the
	// token. An operator of A reaches A and nothing else, and a core that
	// answers with B's record shows nothing.
	r := &fakeReader{answer: &core.Unit{UnitCode: unitB, Name: "B"}}
	a := &fakeAudit{}
	s := newService(t, r, a)
	_, err := s.Unit(context.Background(), operatorOf(unitA))
	if services.ErrorCode(err) != services.CodeInternal {
		t.Fatalf("core answering for another unit: err = %v, want %s", err, services.CodeInternal)
	}
	if diff := cmp.Diff([]string{unitA}, r.asked); diff != "" {
		t.Errorf("units asked of the core -want +got:\n%s", diff)
	}
	if len(a.records) != 1 || a.records[0].Result != "error" {
		t.Errorf("audit: %+v", a.records)
	}
}

func TestUnitRefusesWhoIsNotAnOperator(t *testing.T) {
	tests := []struct {
		name string
		p    services.Principal
	}{
		{"depositor", services.Principal{Subject: "s_1", Role: services.RoleDepositor, Channel: services.ChannelMiniApp, Unit: unitA}},
		{"kiosk", services.Principal{Subject: "device:k1", Role: services.RoleKiosk, Channel: services.ChannelKiosk, Unit: unitA}},
		{"operator without a unit", services.Principal{Subject: "op_a", Role: services.RoleEmployer, Channel: services.ChannelApp}},
		{"operator without a subject", services.Principal{Role: services.RoleEmployer, Channel: services.ChannelApp, Unit: unitA}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &fakeReader{units: map[string]core.Unit{unitA: {UnitCode: unitA}}}
			_, err := newService(t, r, &fakeAudit{}).Unit(context.Background(), tt.p)
			if services.ErrorCode(err) != services.CodeForbidden {
				t.Errorf("err = %v, want %s", err, services.CodeForbidden)
			}
			if len(r.asked) != 0 {
				t.Errorf("the core was asked for %v", r.asked)
			}
		})
	}
}

func TestUnitThatCannotBeAuditedIsNotShown(t *testing.T) {
	r := &fakeReader{units: map[string]core.Unit{unitA: {UnitCode: unitA}}}
	_, err := newService(t, r, &fakeAudit{err: errors.New("audit down")}).Unit(context.Background(), operatorOf(unitA))
	if services.ErrorCode(err) != services.CodeInternal {
		t.Errorf("err = %v, want %s", err, services.CodeInternal)
	}
}

func TestUnitErrorsPassThroughAndAreAudited(t *testing.T) {
	r := &fakeReader{err: services.E(services.CodeCoreUnavailable)}
	a := &fakeAudit{}
	_, err := newService(t, r, a).Unit(context.Background(), operatorOf(unitA))
	if services.ErrorCode(err) != services.CodeCoreUnavailable {
		t.Errorf("err = %v, want %s", err, services.CodeCoreUnavailable)
	}
	if len(a.records) != 1 || a.records[0].Result != "error" || a.records[0].Action != ActionUnit {
		t.Errorf("audit: %+v", a.records)
	}
}

// TestUnitThroughTheReader reads the simulator's units through a real
// core.Reader: each operator sees their own unit, and while the core is
// down the last answer stands in, marked stale.
func TestUnitThroughTheReader(t *testing.T) {
	ctx := context.Background()
	const secret = "core-shared-secret-core-shared-secret"
	var clock atomic.Int64
	clock.Store(now.UnixMicro())
	nowFn := func() time.Time { return time.UnixMicro(clock.Load()).UTC() }
	sim, err := coresim.Open(ctx, coresim.Config{Keys: map[string][]byte{"handheld": []byte(secret)},
		BcryptCost: bcrypt.MinCost, Now: nowFn})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); _ = sim.Close() })
	client, err := core.NewClient(core.ClientConfig{BaseURL: srv.URL, KeyID: "handheld", Secret: []byte(secret), Now: nowFn})
	if err != nil {
		t.Fatal(err)
	}
	rc := core.DefaultReaderConfig()
	rc.Employer.FreshFor, rc.Employer.Retries = 0, 0
	rc.Secret = []byte("reader-cache-key-reader-cache-k!")
	rc.Now = nowFn
	reader, err := core.NewReader(client, rc, kv.NewMemory(time.Now, services.NewHashKey([]byte("kv-key-hashing-secret"), suite.Env())))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Deps{Reader: reader, Audit: &fakeAudit{}, Now: nowFn})
	if err != nil {
		t.Fatal(err)
	}

	var units []string
	for _, p := range sim.Personas() {
		if p.Role == "employer" {
			units = append(units, p.UnitCode)
		}
	}
	if len(units) < 2 {
		t.Fatalf("the simulator seeds %d units, want at least 2", len(units))
	}
	for _, code := range units {
		v, err := s.Unit(ctx, operatorOf(code))
		if err != nil {
			t.Fatalf("unit %s: %v", code, err)
		}
		if v.UnitCode != code || v.Name == "" || v.Stale || !v.AsOf.Equal(now) {
			t.Errorf("operator of %s sees %+v", code, v)
		}
	}
	if got := reader.BreakerStates()["core.employer"]; got != "closed" {
		t.Errorf("core.employer breaker = %q, want closed", got)
	}

	if err := sim.SetFaults("employer=down"); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute.Microseconds())
	v, err := s.Unit(ctx, operatorOf(units[0]))
	if err != nil {
		t.Fatalf("unit while the core is down: %v", err)
	}
	if v.UnitCode != units[0] || !v.Stale || !v.AsOf.Equal(now) {
		t.Errorf("unit while the core is down: %+v, want a stale answer as of %s", v, now)
	}
}
