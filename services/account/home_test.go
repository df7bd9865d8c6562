package account

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/mask"
	"handheld/services/suite"
)

func TestHomeReadsPartsInParallel(t *testing.T) {
	w := newWorld(t, func(d *Deps) { d.HomeDeadline = 2 * time.Second })
	for _, m := range []string{"account", "loan", "person"} {
		w.reader.delay[m] = 150 * time.Millisecond
	}
	began := time.Now()
	v, err := w.svc.Home(ctxWithID(t), depositor(zhangSubject, services.ChannelMiniApp))
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 400*time.Millisecond {
		t.Errorf("home took %s: parts were not read in parallel", took)
	}
	if v.Account == nil || v.Account.AccountNumber != "3301****0101" || v.Account.BalanceFen != 12345600 {
		t.Errorf("account %+v", v.Account)
	}
	if v.Loan == nil || !v.Loan.HasLoan || v.Loan.NextDueOn != "2025-03-20" {
		t.Errorf("loan %+v", v.Loan)
	}
	if v.Holder == nil || v.Holder.Name != "张*" || v.Holder.IDNumber != "" {
		t.Errorf("holder %+v", v.Holder)
	}
	if v.ECard == nil || !v.ECard.Available {
		t.Errorf("ecard %+v", v.ECard)
	}
	if v.Applications == nil || len(v.Applications) != 0 || v.Degraded == nil || len(v.Degraded) != 0 {
		t.Errorf("applications %v, degraded %v: want two empty lists", v.Applications, v.Degraded)
	}
}

// A slow part is left out at the deadline and named; the rest answers.
func TestHomeDegradesASlowPart(t *testing.T) {
	w := newWorld(t, func(d *Deps) { d.HomeDeadline = 100 * time.Millisecond })
	w.reader.delay["loan"] = 2 * time.Second
	began := time.Now()
	v, err := w.svc.Home(ctxWithID(t), depositor(zhangSubject, services.ChannelMiniApp))
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("home waited %s for the slow part", took)
	}
	if diff := cmp.Diff([]string{PartLoan}, v.Degraded); diff != "" {
		t.Errorf("degraded -want +got:\n%s", diff)
	}
	if v.Loan != nil || v.Account == nil || v.Holder == nil || v.ECard == nil {
		t.Errorf("view %+v", v)
	}
	recs := w.audit.all()
	if len(recs) != 1 || recs[0].Action != ActionHome || recs[0].Result != "ok" {
		t.Errorf("audit %+v", recs)
	}
}

// A part whose reader ignores its context is left out all the same.
func TestHomeDoesNotWaitForAStuckReader(t *testing.T) {
	w := newWorld(t, func(d *Deps) { d.HomeDeadline = 50 * time.Millisecond })
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	w.reader.block["person"] = stuck
	v, err := w.svc.Home(ctxWithID(t), depositor(zhangSubject, services.ChannelMiniApp))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{PartPerson}, v.Degraded); diff != "" || v.Holder != nil {
		t.Errorf("degraded -want +got:\n%s (holder %+v)", diff, v.Holder)
	}
}

func TestHomeDegradesFailingParts(t *testing.T) {
	w := newWorld(t)
	w.reader.fail["account"] = services.E(services.CodeCoreMaintenance)
	w.reader.fail["person"] = services.E(services.CodeCoreUnavailable)
	v, err := w.svc.Home(ctxWithID(t), depositor(zhangSubject, services.ChannelMiniApp))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{PartAccount, PartPerson}, v.Degraded); diff != "" {
		t.Errorf("degraded -want +got:\n%s", diff)
	}
	// The e-card state follows the account: unknown when the account is.
	if v.Account != nil || v.ECard != nil || v.Holder != nil || v.Loan == nil {
		t.Errorf("view %+v", v)
	}
}

func TestHomeFailsWhenEveryPartFails(t *testing.T) {
	w := newWorld(t)
	for _, m := range []string{"account", "loan", "person"} {
		w.reader.fail[m] = services.E(services.CodeCoreUnavailable)
	}
	w.reader.fail["account"] = services.E(services.CodeCoreMaintenance)
	_, err := w.svc.Home(ctxWithID(t), depositor(zhangSubject, services.ChannelMiniApp))
	wantCode(t, err, services.CodeCoreMaintenance) // the account's error stands for the screen
	if recs := w.audit.all(); len(recs) != 1 || recs[0].Result != "error" {
		t.Errorf("audit %+v", recs)
	}
}

// No account is an answer about the person, not a degraded screen.
func TestHomeWithoutAccount(t *testing.T) {
	w := newWorld(t)
	_, err := w.svc.Home(ctxWithID(t), depositor(chenSubject, services.ChannelKiosk))
	wantCode(t, err, services.CodeAccountNotFound)
}

func TestHomeECardAndFreshness(t *testing.T) {
	w := newWorld(t)
	w.reader.fresh = core.Freshness{AsOf: now.Add(-time.Hour), Stale: true}
	v, err := w.svc.Home(ctxWithID(t), depositor(ouyangSubject, services.ChannelMiniApp))
	if err != nil {
		t.Fatal(err)
	}
	if v.ECard == nil || v.ECard.Available {
		t.Errorf("closed account (04): ecard %+v, want unavailable", v.ECard)
	}
	if v.Loan == nil || v.Loan.HasLoan {
		t.Errorf("loan %+v", v.Loan)
	}
	if !v.Stale || !v.AsOf.Equal(now.Add(-time.Hour)) {
		t.Errorf("stale %v as of %v", v.Stale, v.AsOf)
	}
}

// fakeApplications stands in for the withdrawal store.
type fakeApplications []Application

func (f fakeApplications) InFlight(context.Context, string) ([]Application, error) { return f, nil }

func TestHomeListsApplications(t *testing.T) {
	apps := fakeApplications{{ID: "wd_1", Kind: "withdrawal", Status: "submitted", SubmittedAt: now}}
	w := newWorld(t, func(d *Deps) { d.Applications = apps })
	v, err := w.svc.Home(ctxWithID(t), depositor(zhangSubject, services.ChannelMiniApp))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Application(apps), v.Applications); diff != "" {
		t.Errorf("applications -want +got:\n%s", diff)
	}
}

func TestNewChecksDeps(t *testing.T) {
	good := Deps{Reader: &fakeReader{}, People: fakePeople{}, Audit: &fakeAudit{}, Secret: services.NewHashKey(make([]byte, 32), suite.Env())}
	s, err := New(good)
	if err != nil {
		t.Fatal(err)
	}
	if s.HomeDeadline != DefaultHomeDeadline || s.Mask == nil || s.Now == nil || s.Logger == nil {
		t.Errorf("defaults not filled: %+v", s.Deps)
	}
	for name, adjust := range map[string]func(*Deps){
		"no reader":     func(d *Deps) { d.Reader = nil },
		"no people":     func(d *Deps) { d.People = nil },
		"no audit":      func(d *Deps) { d.Audit = nil },
		"short secret":  func(d *Deps) { d.Secret = services.NewHashKey(make([]byte, 16), suite.Env()) },
		"bad policy":    func(d *Deps) { d.Mask = mask.Policy{"passport": {}} },
		"negative time": func(d *Deps) { d.HomeDeadline = -time.Second },
	} {
		d := good
		adjust(&d)
		if _, err := New(d); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

// During the core's maintenance window the home screen says when live
// figures return: from a part the core refused (its Retry-After) or a
// remembered part that stood in for the window, the later of the two.
func TestHomeSaysWhenTheWindowEnds(t *testing.T) {
	w := newWorld(t)
	until := now.Add(2 * time.Hour)
	w.reader.fresh = core.Freshness{AsOf: now.Add(-time.Hour), Stale: true, MaintenanceUntil: until}
	w.reader.fail["person"] = &services.Error{Code: services.CodeCoreMaintenance, RetryAfter: 90 * time.Minute}
	v, err := w.svc.Home(ctxWithID(t), depositor(zhangSubject, services.ChannelMiniApp))
	if err != nil {
		t.Fatal(err)
	}
	if !v.MaintenanceUntil.Equal(until) || !v.Stale || v.Account == nil {
		t.Fatalf("until %v stale %v account %v", v.MaintenanceUntil, v.Stale, v.Account)
	}
	w.reader.fresh = core.Freshness{AsOf: now}
	if v, _ = w.svc.Home(ctxWithID(t), depositor(zhangSubject, services.ChannelMiniApp)); !v.MaintenanceUntil.Equal(now.Add(90 * time.Minute)) {
		t.Fatalf("until from the refused part: %v", v.MaintenanceUntil)
	}
	delete(w.reader.fail, "person")
	if v, _ = w.svc.Home(ctxWithID(t), depositor(zhangSubject, services.ChannelMiniApp)); !v.MaintenanceUntil.IsZero() {
		t.Fatalf("outside the window: %v", v.MaintenanceUntil)
	}
}
