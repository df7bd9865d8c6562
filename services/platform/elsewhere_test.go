package platform_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/platform"
)

// fakePlatform answers fixed accounts and remembers the query.
type fakePlatform struct {
	answer  platform.AccountsAnswer
	err     error
	asked   []platform.AccountQuery
	centres int // calls of Centres
}

// Centres lists Beijing, Shanghai and the demo centre.
func (f *fakePlatform) Centres(context.Context) (platform.Centres, error) {
	f.centres++
	if f.err != nil {
		return platform.Centres{}, f.err
	}
	return platform.Centres{Items: []platform.Centre{{Code: "110100", Name: "北京住房公积金管理中心"},
		{Code: "310100", Name: "上海市住房公积金管理中心"}, {Code: "330100", Name: "杭州住房公积金管理中心"}}}, nil
}

func (f *fakePlatform) Accounts(_ context.Context, q platform.AccountQuery) (platform.AccountsAnswer, error) {
	f.asked = append(f.asked, q)
	return f.answer, f.err
}

// fakePeople binds one subject to one person.
type fakePeople map[string]string

func (f fakePeople) PersonID(_ context.Context, subject string) (string, error) {
	if id, ok := f[subject]; ok {
		return id, nil
	}
	return "", services.E(services.CodeTokenInvalid)
}

type fakePersons map[string]core.Person

func (f fakePersons) Person(_ context.Context, id string) (core.Person, core.Freshness, error) {
	return f[id], core.Freshness{}, nil
}

type fakeAudit struct {
	records []audit.Record
	err     error
}

func (f *fakeAudit) Enqueue(_ context.Context, r audit.Record) error {
	f.records = append(f.records, r)
	return f.err
}

func fen(n int64) *int64 { return &n }

func newService(t *testing.T, p *fakePlatform, a *fakeAudit) *platform.Service {
	t.Helper()
	s, err := platform.New(platform.Deps{Platform: p, Audit: a, CentreCode: "330100",
		People:  fakePeople{"s_wumin": "P1", "s_other": "P2"},
		Persons: fakePersons{"P1": {PersonID: "P1", Name: "吴敏", IDNumber: wuMinID}, "P2": {PersonID: "P2", Name: "李娜", IDNumber: "330105199007212626"}},
		Now:     func() time.Time { return time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var wumin = services.Principal{Subject: "s_wumin", Role: services.RoleDepositor, Channel: services.ChannelMiniApp}

func TestAccountsElsewhereAsksForThePersonOfTheToken(t *testing.T) {
	p := &fakePlatform{answer: platform.AccountsAnswer{Reference: "PQ-1", Unanswered: []string{"510100"}, Accounts: []platform.Account{
		{Centre: "310100", CentreName: "上海", AccountRef: "3101000187236541", Status: "normal"},
		{Centre: "110100", CentreName: "北京", AccountRef: "1101002019045213", Status: "sealed", BalanceShared: true, BalanceFen: fen(3862400), LastDepositMonth: "2026-07"},
		// Our own centre and a status the contract does not know are left out.
		{Centre: "330100", CentreName: "示范市", AccountRef: "3301000000000001", Status: "normal"},
		{Centre: "440300", CentreName: "深圳", AccountRef: "4403000000000001", Status: "closed"},
	}}}
	a := &fakeAudit{}
	v, err := newService(t, p, a).AccountsElsewhere(context.Background(), wumin)
	if err != nil {
		t.Fatal(err)
	}
	want := []platform.AccountElsewhere{
		{Centre: "110100", CentreName: "北京", AccountRefMasked: "1101********5213", Status: "sealed", BalanceShared: true, BalanceFen: fen(3862400), LastDepositMonth: "2026-07"},
		{Centre: "310100", CentreName: "上海", AccountRefMasked: "3101********6541", Status: "normal"},
	}
	if diff := cmp.Diff(want, v.Items); diff != "" {
		t.Fatalf("items (-want +got):\n%s", diff)
	}
	if len(v.Unanswered) != 1 || v.Reference != "PQ-1" {
		t.Fatalf("view %+v", v)
	}
	// The platform was asked about the core's person of the token, by
	// this centre.
	wantQ := platform.AccountQuery{RequestingCentre: "330100", Purpose: platform.PurposeAccountsElsewhere,
		Subject: platform.Subject{IDNumber: wuMinID, Name: "吴敏"}}
	if diff := cmp.Diff([]platform.AccountQuery{wantQ}, p.asked); diff != "" {
		t.Fatalf("asked (-want +got):\n%s", diff)
	}
	if len(a.records) != 1 || a.records[0].Action != platform.ActionAccountsElsewhere || a.records[0].Subject != "s_wumin" ||
		a.records[0].Target != "self accounts:2 unanswered:1" {
		t.Fatalf("audit %+v", a.records)
	}
}

func TestAccountsElsewhereRefusals(t *testing.T) {
	down := services.Errorf(services.CodePlatformUnavailable, "down")
	down.RetryAfter = time.Minute
	p := &fakePlatform{err: down}
	a := &fakeAudit{}
	s := newService(t, p, a)
	_, err := s.AccountsElsewhere(context.Background(), wumin)
	var e *services.Error
	if !errors.As(err, &e) || e.Code != services.CodePlatformUnavailable || e.RetryAfter != time.Minute {
		t.Fatalf("down: %v", err)
	}
	if len(a.records) != 1 || a.records[0].Target != "self" {
		t.Fatalf("a failed read is audited too: %+v", a.records)
	}
	// Not a depositor: nobody is asked.
	p.asked = nil
	if _, err := s.AccountsElsewhere(context.Background(), services.Principal{Subject: "op", Role: services.RoleEmployer}); err == nil || len(p.asked) != 0 {
		t.Fatalf("employer: %v, asked %d", err, len(p.asked))
	}
	// A read that cannot be audited is not answered.
	p.err = nil
	p.answer = platform.AccountsAnswer{Reference: "PQ-2", Accounts: []platform.Account{}}
	a.err = errors.New("audit down")
	if _, err := s.AccountsElsewhere(context.Background(), wumin); err == nil {
		t.Fatal("answered without an audit record")
	}
}

func TestNewRefusesABadCentreCode(t *testing.T) {
	if _, err := platform.New(platform.Deps{Platform: &fakePlatform{}, Audit: &fakeAudit{}, People: fakePeople{}, Persons: fakePersons{},
		CentreCode: "HZ"}); err == nil {
		t.Fatal("accepted a centre code that is not 6 digits")
	}
}
