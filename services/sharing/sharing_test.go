package sharing_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/sharing"
	"handheld/services/sharingsim"
	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/withdrawal"
)

// people binds test subjects to demo persons by name.
type people map[string]string

func (p people) PersonID(_ context.Context, subject string) (string, error) {
	if n, ok := p[subject]; ok {
		return n, nil
	}
	return "", services.E(services.CodePersonNotFound)
}

// persons answers the core's person record: the person id is the name.
type persons struct{}

func (persons) Person(_ context.Context, personID string) (core.Person, core.Freshness, error) {
	return core.Person{PersonID: personID, Name: personID, IDNumber: sharingsim.DemoID(personID)}, core.Freshness{}, nil
}

type trail struct {
	mu      sync.Mutex
	records []audit.Record
}

func (a *trail) Enqueue(_ context.Context, r audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.records = append(a.records, r)
	return nil
}

func service(t *testing.T, s *store.Store) (*sharing.Service, *sharingsim.Sim, *trail) {
	t.Helper()
	sim := sharingsim.New(sharingsim.Config{Keys: map[string][]byte{keyID: []byte(secret)}})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	c, err := sharing.NewClient(sharing.ClientConfig{BaseURL: srv.URL, KeyID: keyID, Secret: []byte(secret), BreakerFailures: 100})
	if err != nil {
		t.Fatal(err)
	}
	tr := &trail{}
	svc, err := sharing.New(sharing.Deps{Store: s, Exchange: c, Audit: tr, Persons: persons{},
		People:   people{"s-lina": "李娜", "s-wumin": "吴敏", "s-zhang": "张伟", "s-chen": "陈静"},
		Policies: withdrawal.DefaultPolicies()})
	if err != nil {
		t.Fatal(err)
	}
	return svc, sim, tr
}

func depositor(subject string) services.Principal {
	return services.Principal{Subject: subject, Role: services.RoleDepositor, Channel: services.ChannelMiniApp}
}

func TestLookupKeepsMinimalFactsSealed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc, _, tr := service(t, s)
		ctx := context.Background()
		res, err := svc.Lookup(ctx, depositor("s-lina"), withdrawal.KindPurchase, sharing.Consent{Given: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Missing) != 0 || !res.Facts[0].Satisfied || res.Facts[0].Answer.Number != "浙(2026)杭州市不动产权第0081562号" {
			t.Fatalf("lookup %+v", res)
		}
		// At rest the facts are sealed: no deed number, no name in the row.
		var raw string
		if err := s.QueryRow(ctx, `SELECT facts FROM consents WHERE id = $1`, res.ConsentID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw, "0081562") || strings.Contains(raw, "李娜") || raw == "" {
			t.Fatalf("facts at rest: %q", raw)
		}
		// The trail names sources, never facts or the person.
		last := tr.records[len(tr.records)-1]
		if last.Action != sharing.ActionLookup || !strings.Contains(last.Target, "real_estate.deed") ||
			strings.Contains(last.Target, "0081562") || strings.Contains(last.Target, "3301") {
			t.Fatalf("audit %+v", last)
		}
		// Eligibility's view, without asking.
		ev, err := svc.Evidence(ctx, depositor("s-lina"), withdrawal.KindPurchase)
		if err != nil || ev.ConsentID != res.ConsentID || len(ev.Missing) != 0 {
			t.Fatalf("evidence %+v, %v", ev, err)
		}
	})
}

func TestLookupMissingUploadNeeded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc, _, _ := service(t, s)
		res, err := svc.Lookup(context.Background(), depositor("s-wumin"), withdrawal.KindCriticalIllness, sharing.Consent{Given: true})
		if err != nil || len(res.Missing) != 1 || res.Missing[0] != "diagnosis" || res.Facts[0].Answer.Found {
			t.Fatalf("吴敏: %+v, %v", res, err)
		}
		// Unknown to every source: absent facts, not a failure.
		res, err = svc.Lookup(context.Background(), depositor("s-chen"), withdrawal.KindPurchase, sharing.Consent{Given: true})
		if err != nil || len(res.Missing) != 1 {
			t.Fatalf("陈静: %+v, %v", res, err)
		}
	})
}

func TestLookupRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc, sim, _ := service(t, s)
		ctx := context.Background()
		if _, err := svc.Lookup(ctx, depositor("s-lina"), "purchase", sharing.Consent{}); services.ErrorCode(err) != services.CodeSharingConsentRequired {
			t.Fatalf("no consent: %v", err)
		}
		if _, err := svc.Lookup(ctx, depositor("s-lina"), "holiday", sharing.Consent{Given: true}); services.ErrorCode(err) != services.CodeInvalid {
			t.Fatalf("unknown kind: %v", err)
		}
		emp := services.Principal{Subject: "op", Role: services.RoleEmployer, Channel: services.ChannelApp}
		if _, err := svc.Lookup(ctx, emp, "purchase", sharing.Consent{Given: true}); err == nil {
			t.Fatal("an employer looked up a person")
		}
		if sim.Asked() != 0 {
			t.Fatalf("refusals asked the sources %d times", sim.Asked())
		}
		sim.SetOutage(true)
		_, err := svc.Lookup(ctx, depositor("s-lina"), "purchase", sharing.Consent{Given: true})
		if services.ErrorCode(err) != services.CodeSharingUnavailable {
			t.Fatalf("outage: %v", err)
		}
		var n int
		if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM consents`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("an unfinished lookup kept %d consents (%v)", n, err)
		}
	})
}

func TestConsentIsForOneApplication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc, _, tr := service(t, s)
		ctx := context.Background()
		res, err := svc.Lookup(ctx, depositor("s-lina"), "purchase", sharing.Consent{Given: true})
		if err != nil {
			t.Fatal(err)
		}
		// Another person cannot use it (nor see that it exists).
		if _, err := svc.UseConsent(ctx, depositor("s-zhang"), res.ConsentID, "wd_1"); services.ErrorCode(err) != services.CodeSharingConsentNotFound {
			t.Fatalf("another person's consent: %v", err)
		}
		used, err := svc.UseConsent(ctx, depositor("s-lina"), res.ConsentID, "wd_1")
		if err != nil || used.UsedBy != "wd_1" || len(used.Facts) == 0 {
			t.Fatalf("use: %+v, %v", used, err)
		}
		// The same application again: fine (a retried submission).
		if _, err := svc.UseConsent(ctx, depositor("s-lina"), res.ConsentID, "wd_1"); err != nil {
			t.Fatalf("same application again: %v", err)
		}
		// Another application: refused.
		if _, err := svc.UseConsent(ctx, depositor("s-lina"), res.ConsentID, "wd_2"); services.ErrorCode(err) != services.CodeSharingConsentUsed {
			t.Fatalf("reused: %v", err)
		}
		// A used consent no longer shows in eligibility.
		ev, err := svc.Evidence(ctx, depositor("s-lina"), "purchase")
		if err != nil || ev.ConsentID != "" || len(ev.Missing) != 1 {
			t.Fatalf("evidence after use: %+v, %v", ev, err)
		}
		// One application, one consent.
		second, err := svc.Lookup(ctx, depositor("s-lina"), "purchase", sharing.Consent{Given: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.UseConsent(ctx, depositor("s-lina"), second.ConsentID, "wd_1"); services.ErrorCode(err) != services.CodeSharingConsentUsed {
			t.Fatalf("second consent for one application: %v", err)
		}
		// Twice at once for two applications: exactly one wins.
		third, _ := svc.Lookup(ctx, depositor("s-lina"), "purchase", sharing.Consent{Given: true})
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			wg.Go(func() {
				_, errs[i] = svc.UseConsent(ctx, depositor("s-lina"), third.ConsentID, []string{"wd_a", "wd_b"}[i])
			})
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("twice at once: %v / %v", errs[0], errs[1])
		}
		for _, r := range tr.records {
			if r.Subject != "s-lina" && r.Subject != "s-zhang" {
				t.Fatalf("audit subject %q", r.Subject)
			}
		}
	})
}

func TestConsentExpires(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc, _, _ := service(t, s)
		now := time.Now()
		svc.Now = func() time.Time { return now }
		res, err := svc.Lookup(context.Background(), depositor("s-lina"), "purchase", sharing.Consent{Given: true})
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(sharing.DefaultTTL + time.Minute)
		if _, err := svc.UseConsent(context.Background(), depositor("s-lina"), res.ConsentID, "wd_1"); services.ErrorCode(err) != services.CodeSharingConsentNotFound {
			t.Fatalf("expired: %v", err)
		}
	})
}

func TestNewRefusesUnknownSources(t *testing.T) {
	ps := withdrawal.DefaultPolicies()
	ps.Kinds[1].EvidenceSources = []withdrawal.EvidenceSource{{Evidence: "property_registration", Sources: []string{"real_estate.marriage"}}}
	_, err := sharing.New(sharing.Deps{Store: &store.Store{}, Exchange: &sharing.Client{}, Audit: &trail{}, Persons: persons{}, People: people{}, Policies: ps})
	if err == nil || !strings.Contains(err.Error(), "real_estate.marriage") {
		t.Fatalf("unknown source accepted: %v", err)
	}
}
