package sharing_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/sharing"
	"handheld/services/sharingsim"
)

const (
	keyID = "handheld-test"

	secret = "0123456789abcdef0123456789abcdef-sharing"
)

// rig is the simulator behind a real HTTP server and a client to it.
func rig(t *testing.T, cfg sharingsim.Config, cc sharing.ClientConfig) (*sharingsim.Sim, *sharing.Client) {
	t.Helper()
	if cfg.Keys == nil {
		cfg.Keys = map[string][]byte{keyID: []byte(secret)}
	}
	sim := sharingsim.New(cfg)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cc.BaseURL = srv.URL
	if cc.KeyID == "" {
		cc.KeyID, cc.Secret = keyID, []byte(secret)
	}
	c, err := sharing.NewClient(cc)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func deedOf(id, name string) sharing.Query {
	return sharing.Query{Source: sharing.SourceRealEstate, Fact: sharing.FactDeed, Purpose: "purchase", ConsentRef: "cns_test",
		Subject: sharing.Subject{IDNumber: id, Name: name}}
}

func TestContractDeedFound(t *testing.T) {
	_, c := rig(t, sharingsim.Config{}, sharing.ClientConfig{})
	a, err := c.Ask(context.Background(), deedOf(sharingsim.DemoID("李娜"), "李娜"))
	if err != nil {
		t.Fatal(err)
	}
	if !a.Found || !a.Satisfies() || a.Number != "浙(2026)杭州市不动产权第0081562号" || a.RegisteredOn != "2026-03-18" || a.Reference == "" {
		t.Fatalf("answer %+v", a)
	}
}

func TestContractOwnerMismatch(t *testing.T) {
	_, c := rig(t, sharingsim.Config{}, sharing.ClientConfig{})
	// The right ID number with another name: the deed is there, the owner
	// does not match.
	a, err := c.Ask(context.Background(), deedOf(sharingsim.DemoID("李娜"), "张伟"))
	if err != nil {
		t.Fatal(err)
	}
	if !a.Found || a.OwnerMatches == nil || *a.OwnerMatches || a.Satisfies() {
		t.Fatalf("mismatch answered %+v", a)
	}
	// 欧阳晓峰's deed names another owner at the registry.
	a, err = c.Ask(context.Background(), deedOf(sharingsim.DemoID("欧阳晓峰"), "欧阳晓峰"))
	if err != nil || a.Satisfies() {
		t.Fatalf("registry mismatch: %+v, %v", a, err)
	}
}

func TestContractUnknownPersonIsNotFound(t *testing.T) {
	_, c := rig(t, sharingsim.Config{}, sharing.ClientConfig{})
	_, err := c.Ask(context.Background(), deedOf("110101199001010011", "某某"))
	if !errors.Is(err, sharing.ErrPersonUnknown) {
		t.Fatalf("unknown person: %v", err)
	}
	// 陈静 is known to the core, to no source.
	if _, err := c.Ask(context.Background(), deedOf(sharingsim.DemoID("陈静"), "陈静")); !errors.Is(err, sharing.ErrPersonUnknown) {
		t.Fatalf("陈静: %v", err)
	}
}

func TestContractNoRecordIsFoundFalse(t *testing.T) {
	_, c := rig(t, sharingsim.Config{}, sharing.ClientConfig{})
	q := sharing.Query{Source: sharing.SourceMedicalInsurance, Fact: sharing.FactIllnessSettlement, Purpose: "critical_illness",
		ConsentRef: "cns_x", Subject: sharing.Subject{IDNumber: sharingsim.DemoID("吴敏"), Name: "吴敏"}}
	a, err := c.Ask(context.Background(), q)
	if err != nil || a.Found || a.Reference == "" {
		t.Fatalf("吴敏 has no settlement: %+v, %v", a, err)
	}
	q.Subject = sharing.Subject{IDNumber: sharingsim.DemoID("王芳"), Name: "王芳"}
	if a, err = c.Ask(context.Background(), q); err != nil || !a.Satisfies() || a.AmountFen != 8650000 {
		t.Fatalf("王芳 has a settlement: %+v, %v", a, err)
	}
}

func TestContractBadSignatureIsInternal(t *testing.T) {
	_, c := rig(t, sharingsim.Config{}, sharing.ClientConfig{KeyID: keyID, Secret: []byte("another-secret-of-at-least-32-bytes!!")})
	_, err := c.Ask(context.Background(), deedOf(sharingsim.DemoID("李娜"), "李娜"))
	if services.ErrorCode(err) != services.CodeInternal {
		t.Fatalf("bad signature: %v", err)
	}
}

func TestContractConsentRequiredIsRefused(t *testing.T) {
	sim, c := rig(t, sharingsim.Config{}, sharing.ClientConfig{})
	q := deedOf(sharingsim.DemoID("李娜"), "李娜")
	q.ConsentRef = ""
	if _, err := c.Ask(context.Background(), q); services.ErrorCode(err) != services.CodeInternal {
		t.Fatalf("no consent: %v", err)
	}
	if sim.Asked() != 1 {
		t.Fatalf("asked %d", sim.Asked())
	}
}

func TestContractOutageIsUnavailableAndOpensTheBreaker(t *testing.T) {
	now := time.Now()
	sim, c := rig(t, sharingsim.Config{}, sharing.ClientConfig{BreakerFailures: 2, BreakerCooldown: time.Minute,
		Now: func() time.Time { return now }})
	sim.SetOutage(true)
	for i := range 2 {
		_, err := c.Ask(context.Background(), deedOf(sharingsim.DemoID("李娜"), "李娜"))
		e := services.AsError(err)
		if e == nil || e.Code != services.CodeSharingUnavailable || e.RetryAfter != 60*time.Second {
			t.Fatalf("call %d in the outage: %v", i, err)
		}
	}
	asked := sim.Asked()
	sim.SetOutage(false)
	_, err := c.Ask(context.Background(), deedOf(sharingsim.DemoID("李娜"), "李娜"))
	if services.ErrorCode(err) != services.CodeSharingUnavailable || sim.Asked() != asked {
		t.Fatalf("the open breaker should refuse without asking: %v (asked %d -> %d)", err, asked, sim.Asked())
	}
	now = now.Add(2 * time.Minute)
	if _, err := c.Ask(context.Background(), deedOf(sharingsim.DemoID("李娜"), "李娜")); err != nil {
		t.Fatalf("after the cooldown: %v", err)
	}
}

func TestContractDeadline(t *testing.T) {
	_, c := rig(t, sharingsim.Config{Latency: 2 * time.Second}, sharing.ClientConfig{Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := c.Ask(context.Background(), deedOf(sharingsim.DemoID("李娜"), "李娜"))
	if services.ErrorCode(err) != services.CodeSharingUnavailable || time.Since(start) > time.Second {
		t.Fatalf("slow source: %v after %s", err, time.Since(start))
	}
}

func TestSimulatorRefusesReplayedNonce(t *testing.T) {
	sim := sharingsim.New(sharingsim.Config{Keys: map[string][]byte{keyID: []byte(secret)}})
	var seen *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen == nil {
			seen = r.Clone(r.Context())
		}
		sim.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	c, _ := sharing.NewClient(sharing.ClientConfig{BaseURL: srv.URL, KeyID: keyID, Secret: []byte(secret)})
	if _, err := c.Ask(context.Background(), deedOf(sharingsim.DemoID("李娜"), "李娜")); err != nil {
		t.Fatal(err)
	}
	// The same headers again (a replay) are refused.
	body := `{"source":"real_estate","fact":"deed","subject":{"id_number":"` + sharingsim.DemoID("李娜") + `","name":"李娜"},"purpose":"purchase","consent_ref":"cns_test"}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+sharing.PathQuery, stringsReader(body))
	for _, h := range []string{sharing.HeaderKeyID, sharing.HeaderTimestamp, sharing.HeaderNonce, sharing.HeaderSignature} {
		req.Header.Set(h, seen.Header.Get(h))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replay answered %d", resp.StatusCode)
	}
}

func TestNewClientValidates(t *testing.T) {
	for _, cc := range []sharing.ClientConfig{
		{},
		{BaseURL: "ftp://x", KeyID: keyID, Secret: []byte(secret)},
		{BaseURL: "https://u:p@x", KeyID: keyID, Secret: []byte(secret)},
		{BaseURL: "https://x", KeyID: "", Secret: []byte(secret)},
		{BaseURL: "https://x", KeyID: keyID, Secret: []byte("short")},
		{BaseURL: "https://x", KeyID: keyID, Secret: []byte(secret), Timeout: -1},
	} {
		if _, err := sharing.NewClient(cc); err == nil {
			t.Errorf("accepted %+v", cc)
		}
	}
}

func TestObserveNamesSourceAndOutcomeOnly(t *testing.T) {
	var got []string
	sim, c := rig(t, sharingsim.Config{}, sharing.ClientConfig{BreakerFailures: 1,
		Observe: func(source, outcome string, _ time.Duration) { got = append(got, source+"/"+outcome) }})
	ctx := context.Background()
	_, _ = c.Ask(ctx, deedOf(sharingsim.DemoID("李娜"), "李娜"))
	_, _ = c.Ask(ctx, deedOf(sharingsim.DemoID("陈静"), "陈静"))
	sim.SetOutage(true)
	_, _ = c.Ask(ctx, deedOf(sharingsim.DemoID("李娜"), "李娜"))
	_, _ = c.Ask(ctx, deedOf(sharingsim.DemoID("李娜"), "李娜"))
	want := "real_estate/ok real_estate/not_found real_estate/unavailable real_estate/breaker_open"
	if s := strings.Join(got, " "); s != want {
		t.Fatalf("observed %q, want %q", s, want)
	}
}
