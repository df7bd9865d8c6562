package share

import (
	"context"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/keys"
	"handheld/services/kv"
	"handheld/services/store"
	"handheld/services/suite"
)

// t0 is 10:00 on 7 December 2026 in Shanghai.
var t0 = time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)

var (
	ana   = services.Principal{Subject: "sub-ana", Role: services.RoleDepositor, Channel: services.ChannelMiniApp}
	bo    = services.Principal{Subject: "sub-bo", Role: services.RoleDepositor, Channel: services.ChannelMiniApp}
	bank  = services.Principal{Subject: "party:demo-bank", Role: services.RoleParty, Channel: services.ChannelApp}
	rent  = services.Principal{Subject: "party:rent-co", Role: services.RoleParty, Channel: services.ChannelApp}
	idAna = withCheck("33010619850312413")
	idBo  = withCheck("33010519900721262")
	// unitMinghu is a valid unified social credit code.
	unitMinghu = withUnitCheck("91330106MA2GL3K70")
)

func withCheck(first17 string) string {
	c, _ := services.IDCheckDigit(first17)
	return first17 + string(c)
}

func withUnitCheck(first17 string) string {
	c, _ := services.UnitCheckChar(first17)
	return first17 + string(c)
}

// fakeCore is the core as this package reads it: each person's record,
// account and loan, an error to answer with, stale answers when set.
type fakeCore struct {
	mu       sync.Mutex
	persons  map[string]core.Person
	accounts map[string]core.Account
	loans    map[string]core.Loan
	fail     error
	stale    bool
}

func newCore() *fakeCore {
	return &fakeCore{
		persons: map[string]core.Person{
			"P1": {PersonID: "P1", Name: "张伟", IDNumber: idAna, HasAccount: true},
			"P2": {PersonID: "P2", Name: "李娜", IDNumber: idBo, HasAccount: true},
		},
		accounts: map[string]core.Account{
			"P1": {AccountNumber: "A1", Status: core.StatusNormal, BalanceFen: 12_000_000, MonthlyPersonal: 300_000, MonthlyUnit: 300_000,
				UnitCode: unitMinghu, LastDepositMonth: "2026-11", ContinuousMonths: 60},
			"P2": {AccountNumber: "A2", Status: core.StatusSealed, BalanceFen: 5_000_000, MonthlyPersonal: 100_000, MonthlyUnit: 100_000,
				UnitCode: unitMinghu, LastDepositMonth: "2026-03", ContinuousMonths: 50},
		},
		loans: map[string]core.Loan{"P1": {HasLoan: true, OutstandingFen: 70_000_000}},
	}
}

func (c *fakeCore) Person(_ context.Context, id string) (core.Person, core.Freshness, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return core.Person{}, core.Freshness{}, c.fail
	}
	p, ok := c.persons[id]
	if !ok {
		return core.Person{}, core.Freshness{}, services.E(services.CodePersonNotFound)
	}
	return p, core.Freshness{Stale: c.stale}, nil
}

func (c *fakeCore) Account(_ context.Context, id string) (core.Account, core.Freshness, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return core.Account{}, core.Freshness{}, c.fail
	}
	a, ok := c.accounts[id]
	if !ok {
		return core.Account{}, core.Freshness{}, services.E(services.CodeAccountNotFound)
	}
	return a, core.Freshness{Stale: c.stale}, nil
}

func (c *fakeCore) Loan(_ context.Context, id string) (core.Loan, core.Freshness, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return core.Loan{}, core.Freshness{}, c.fail
	}
	if _, ok := c.accounts[id]; !ok {
		return core.Loan{}, core.Freshness{}, services.E(services.CodeAccountNotFound)
	}
	return c.loans[id], core.Freshness{Stale: c.stale}, nil
}

// fakePeople maps subjects to person ids.
type fakePeople map[string]string

func (f fakePeople) PersonID(_ context.Context, subject string) (string, error) {
	if id, ok := f[subject]; ok {
		return id, nil
	}
	return "", services.E(services.CodePersonNotFound)
}

type fakeAudit struct {
	mu      sync.Mutex
	records []audit.Record
}

func (a *fakeAudit) Enqueue(_ context.Context, r audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := audit.Check(r); err != nil {
		return err
	}
	a.records = append(a.records, r)
	return nil
}

func (a *fakeAudit) count(action, result string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, r := range a.records {
		if r.Action == action && r.Result == result {
			n++
		}
	}
	return n
}

func (a *fakeAudit) last(action string) audit.Record {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := len(a.records) - 1; i >= 0; i-- {
		if a.records[i].Action == action {
			return a.records[i]
		}
	}
	return audit.Record{}
}

type rig struct {
	svc   *Service
	core  *fakeCore
	audit *fakeAudit
	store *store.Store
	ring  *keys.Ring
	mu    sync.Mutex
	now   time.Time
}

var secret = services.NewHashKey([]byte("0123456789abcdef0123456789abcdef-share-tests"), suite.Env())

func testParties() []Party {
	return []Party{
		{ID: "demo-bank", Name: "示范银行", Predicates: Names(), Enabled: true},
		{ID: "rent-co", Name: "安居租房", Predicates: []string{ContinuousMonthsAtLeast, AccountStatusIs}, Enabled: true},
		{ID: "gone-co", Name: "停用机构", Predicates: Names(), Enabled: false},
	}
}

func newRig(t *testing.T, s *store.Store) *rig {
	t.Helper()
	ring, err := keys.Ensure(t.TempDir(), t0, suite.Env(), keys.PurposeShares)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{core: newCore(), audit: &fakeAudit{}, store: s, ring: ring, now: t0}
	svc, err := New(Deps{Store: s, Reader: r.core, People: fakePeople{ana.Subject: "P1", bo.Subject: "P2", "sub-nobody": "P9"},
		Audit: r.audit, Counter: kv.NewMemory(r.clock, secret), Ring: ring, Parties: testParties(), Policy: DefaultPolicy(),
		Key: secret, Issuer: "330100", Now: r.clock})
	if err != nil {
		t.Fatal(err)
	}
	r.svc = svc
	return r
}

func (r *rig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *rig) advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(d)
}

func (r *rig) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := r.store.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantCode(t *testing.T, what string, err error, code services.Code) {
	t.Helper()
	if got := services.ErrorCode(err); err == nil || got != code {
		t.Errorf("%s: %v (%s), want %s", what, err, got, code)
	}
}

// share makes a share of ana's for party with preds, valid a day, for uses.
func (r *rig) share(t *testing.T, p services.Principal, party string, uses int, preds ...Predicate) Created {
	t.Helper()
	c, err := r.svc.Create(context.Background(), p, NewShare{Party: party, Predicates: preds, ValidUntil: r.clock().Add(24 * time.Hour),
		MaxUses: uses, IdempotencyKey: "k-" + KindShare.New(), RequestHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
