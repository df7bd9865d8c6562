package certificate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/identity"
	"handheld/services/keys"
	"handheld/services/mask"
	"handheld/services/store"
	"handheld/services/suite"
)

// The production collaborators satisfy the interfaces this package
// declares; a change of signature on either side fails here.
var (
	_ factsReader = (*core.Reader)(nil)
	_ unitFacts   = (*core.Reader)(nil)
	_ people      = (*identity.Service)(nil)
	_ auditor     = (*audit.Log)(nil)
)

// start is the fake clock's first reading: 01:00 on 15 March 2026 in
// Shanghai, still the 14th in UTC.
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

// fakeFacts is the core: facts by person id, optionally stale or failing.
type fakeFacts struct {
	facts map[string]core.CertificateFacts
	stale bool
	err   error
}

func (f *fakeFacts) CertificateFacts(_ context.Context, personID string) (core.CertificateFacts, core.Freshness, error) {
	if f.err != nil {
		return core.CertificateFacts{}, core.Freshness{}, f.err
	}
	cf, ok := f.facts[personID]
	if !ok {
		return cf, core.Freshness{}, services.E(services.CodePersonNotFound)
	}
	if !cf.Person.HasAccount {
		return core.CertificateFacts{}, core.Freshness{}, services.E(services.CodeAccountNotFound)
	}
	return cf, core.Freshness{AsOf: start, Stale: f.stale}, nil
}

// fakeUnits is the core's unit certificate facts by unit code, optionally
// stale or answering for another unit.
type fakeUnits struct {
	facts map[string]core.UnitCertificateFacts
	stale bool
}

func (f *fakeUnits) UnitCertificateFacts(_ context.Context, code string) (core.UnitCertificateFacts, core.Freshness, error) {
	uf, ok := f.facts[code]
	if !ok {
		return uf, core.Freshness{}, services.E(services.CodeUnitNotFound)
	}
	return uf, core.Freshness{AsOf: start, Stale: f.stale}, nil
}

// fakePeople maps subject s_<x> to person p_<x>.
type fakePeople struct{}

func (fakePeople) PersonID(_ context.Context, subject string) (string, error) {
	if len(subject) < 3 || subject[:2] != "s_" {
		return "", services.E(services.CodeSessionRevoked)
	}
	return "p_" + subject[2:], nil
}

// fakeRenderer makes deterministic "PDFs" that spell out what they were
// given, and counts its calls.
type fakeRenderer struct {
	calls atomic.Int32
	fail  error
}

func (r *fakeRenderer) Render(d Document, lang, variant string) ([]byte, error) {
	r.calls.Add(1)
	if r.fail != nil {
		return nil, r.fail
	}
	doc, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, "%%PDF-1.7\n%% %s %s\n%s\n%%%%EOF\n", lang, variant, doc), nil
}

// Unprintable stands for the fonts: they draw everything but emoji.
func (r *fakeRenderer) Unprintable(s string) []rune {
	var out []rune
	for _, c := range s {
		if c >= 0x1F300 && c <= 0x1FAFF {
			out = append(out, c)
		}
	}
	return out
}

// fakeAudit keeps what it was given, or refuses while fail is set.
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
	// As the trail does: a record it would refuse is a bug of the caller.
	if err := audit.Check(r); err != nil {
		return err
	}
	a.records = append(a.records, r)
	return nil
}

func (a *fakeAudit) actions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, r := range a.records {
		out = append(out, r.Action+" "+r.Target+" "+r.Result)
	}
	return out
}

func (a *fakeAudit) setFail(v bool) {
	a.mu.Lock()
	a.fail = v
	a.mu.Unlock()
}

// rig is a Service on a real store with fakes around it.
type rig struct {
	*Service
	facts    *fakeFacts
	units    *fakeUnits
	renderer *fakeRenderer
	audit    *fakeAudit
	clock    *clock
	ring     *keys.Ring
}

func newRig(t *testing.T, s *store.Store) *rig {
	t.Helper()
	ring, err := keys.Ensure(t.TempDir(), start, suite.Env(), keys.PurposeCertificates, keys.PurposeTokens)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{facts: &fakeFacts{facts: demoFacts()}, units: &fakeUnits{facts: demoUnits()}, renderer: &fakeRenderer{}, audit: &fakeAudit{}, clock: newClock(), ring: ring}
	r.Service, err = New(Deps{
		Store: s, Facts: r.facts, Units: r.units, People: fakePeople{}, Renderer: r.renderer, Ring: ring, Audit: r.audit,
		PublicBaseURL: "https://hpf.example.cn/", CentreName: "示范市住房公积金管理中心", CentreCode: "330100",
		Secret: services.NewHashKey([]byte("0123456789abcdef0123456789abcdef"), suite.Env()), Mask: mask.DefaultPolicy(), Now: r.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func depositor(subject string) services.Principal {
	return services.Principal{Subject: subject, Role: services.RoleDepositor, Channel: services.ChannelMiniApp, Session: "sess"}
}

// demoFacts: p_zhang has a normal account and a loan, p_wang a sealed
// account without deposits for 7 months, p_chen no account.
func demoFacts() map[string]core.CertificateFacts {
	remit := func(last string, n int, amount int64) []core.Deposit {
		m, _ := parseMonth(last)
		var out []core.Deposit
		for i := range n {
			out = append(out, core.Deposit{ID: fmt.Sprint(i), Month: (m - month(i)).String(), Kind: core.KindRemittance, AmountFen: amount})
		}
		return out
	}
	return map[string]core.CertificateFacts{
		"p_zhang": {
			Person: core.Person{PersonID: "p_zhang", Name: "张伟", IDNumber: "33010619850312413x", HasAccount: true},
			Account: core.Account{AccountNumber: "330100200001", Status: core.StatusNormal, BalanceFen: 12_345_600,
				DepositBaseFen: 2_500_000, MonthlyPersonal: 300_000, MonthlyUnit: 300_000, UnitName: "杭州明湖软件科技有限公司",
				OpenedOn: "2021-02-01", ContinuousMonths: 60},
			Deposits: remit("2026-02", 24, 600_000),
			Loan:     core.Loan{HasLoan: true, PrincipalFen: 80_000_000, OutstandingFen: 76_000_000},
		},
		"p_wang": {
			Person: core.Person{PersonID: "p_wang", Name: "王芳", IDNumber: "330102198802140860", HasAccount: true},
			Account: core.Account{AccountNumber: "330100200002", Status: core.StatusSealed, BalanceFen: 5_000_000,
				OpenedOn: "2021-06-01", ContinuousMonths: 50},
			Deposits: remit("2025-07", 17, 288_000),
		},
		"p_chen": {Person: core.Person{PersonID: "p_chen", Name: "陈静"}},
	}
}
