package e2e

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services"
	"handheld/services/identity"
	"handheld/services/sharingsim"
)

const (
	evidenceLookups = "/api/v1/me/evidence-lookups"
	sharingSecret   = "e2e-sharing-secret-0123456789abcdef0123"
)

type sharedFact struct {
	Evidence  string `json:"evidence"`
	Source    string `json:"source"`
	Fact      string `json:"fact"`
	Found     bool   `json:"found"`
	Summary   string `json:"summary"`
	Reference string `json:"reference"`
}

type evidenceLookup struct {
	ConsentID string       `json:"consent_id"`
	Kind      string       `json:"kind"`
	Facts     []sharedFact `json:"facts"`
	Missing   []string     `json:"missing"`
}

type eligibilityEvidence struct {
	Evidence *struct {
		ConsentID string       `json:"consent_id"`
		Found     []sharedFact `json:"found"`
		Missing   []string     `json:"missing"`
	} `json:"evidence"`
}

// withSharing serves a sharing simulator over real HTTP and points the
// app at it by URL and key, as production is configured.
func withSharing(t *testing.T, sim **sharingsim.Sim) option {
	*sim = sharingsim.New(sharingsim.Config{Keys: map[string][]byte{"handheld-e2e": []byte(sharingSecret)}})
	srv := httptest.NewServer((*sim).Handler())
	t.Cleanup(srv.Close)
	return func(c *bff.Config) {
		c.SharingURL, c.SharingKeyID, c.SharingSecret = srv.URL, "handheld-e2e", sharingSecret
	}
}

// lookup asks for evidence of kind as tok, with an Idempotency-Key.
func (e *env) lookup(tok, key string, body any) *response {
	e.t.Helper()
	h := bearer(tok)
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	return e.do("POST", evidenceLookups, body, h)
}

func TestEvidenceLookupFindsTheDeedWithoutUpload(t *testing.T) {
	var sim *sharingsim.Sim
	e := start(t, withSharing(t, &sim), fastWithdrawals)
	lina := e.persona("depositor", "李娜")
	tok := e.bindWeChat("o-share-lina", lina).AccessToken

	// Before any lookup, eligibility says what is missing.
	var before eligibilityEvidence
	r := e.meGet(withdrawals+"/eligibility?type=purchase", tok)
	r.json(t, &before)
	if before.Evidence == nil || len(before.Evidence.Found) != 0 || strings.Join(before.Evidence.Missing, ",") != "property_registration" {
		t.Fatalf("eligibility before: %s", r.body)
	}

	r = e.lookup(tok, "k-lina-1", map[string]any{"kind": "purchase", "consent": true})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("lookup %d %s", r.StatusCode, r.body)
	}
	var got evidenceLookup
	r.json(t, &got)
	if len(got.Missing) != 0 || len(got.Facts) < 2 || !got.Facts[0].Found ||
		!strings.Contains(got.Facts[0].Summary, "浙(2026)杭州市不动产权第0081562号") || got.Facts[0].Reference == "" {
		t.Fatalf("lookup answered %s", r.body)
	}
	asked := sim.Asked()

	// A retry with the same key replays the answer without asking again.
	r = e.lookup(tok, "k-lina-1", map[string]any{"kind": "purchase", "consent": true})
	var again evidenceLookup
	r.json(t, &again)
	if r.StatusCode != http.StatusCreated || again.ConsentID != got.ConsentID || sim.Asked() != asked {
		t.Fatalf("replay %d %s (asked %d -> %d)", r.StatusCode, r.body, asked, sim.Asked())
	}

	// Eligibility shows the deed from the stored facts, asking nobody.
	var after eligibilityEvidence
	r = e.meGet(withdrawals+"/eligibility?type=purchase", tok, http.Header{"Accept-Language": {"zh-CN"}})
	r.json(t, &after)
	if after.Evidence == nil || after.Evidence.ConsentID != got.ConsentID || len(after.Evidence.Missing) != 0 ||
		len(after.Evidence.Found) == 0 || !strings.Contains(after.Evidence.Found[0].Summary, "权利人一致") {
		t.Fatalf("eligibility after: %s", r.body)
	}
	if sim.Asked() != asked {
		t.Fatalf("eligibility asked the sources (%d -> %d)", asked, sim.Asked())
	}
}

func TestEvidenceLookupCriticalIllnessNeedsUpload(t *testing.T) {
	var sim *sharingsim.Sim
	e := start(t, withSharing(t, &sim), fastWithdrawals)
	tok := e.bindWeChat("o-share-wumin", e.persona("depositor", "吴敏")).AccessToken
	r := e.lookup(tok, "k-wumin", map[string]any{"kind": "critical_illness", "consent": true})
	var got evidenceLookup
	r.json(t, &got)
	if r.StatusCode != http.StatusCreated || strings.Join(got.Missing, ",") != "diagnosis" || got.Facts[0].Found {
		t.Fatalf("吴敏 %d %s", r.StatusCode, r.body)
	}
}

// The person asked about is the token's: a lookup by 张伟 can never
// return 李娜's deed, whatever the body says, and a body naming a person is
// refused outright.
func TestEvidenceLookupNeverAnotherPersonsFacts(t *testing.T) {
	var sim *sharingsim.Sim
	e := start(t, withSharing(t, &sim), fastWithdrawals)
	lina := e.persona("depositor", "李娜")
	linaTok := e.bindWeChat("o-share-lina2", lina).AccessToken
	zhangTok := e.bindWeChat("o-share-zhang", e.persona("depositor", "张伟")).AccessToken
	if r := e.lookup(linaTok, "k-l", map[string]any{"kind": "purchase", "consent": true}); r.StatusCode != http.StatusCreated {
		t.Fatalf("lina %d %s", r.StatusCode, r.body)
	}
	// Naming 李娜 in the body: unknown fields, refused, nothing asked.
	asked := sim.Asked()
	for _, body := range []string{
		`{"kind":"purchase","consent":true,"id_number":"` + lina.IDNumber + `","name":"李娜"}`,
		`{"kind":"purchase","consent":true,"subject":"` + lina.IDNumber + `"}`,
	} {
		r := e.bad().lookup(zhangTok, "k-z-"+strconv.Itoa(len(body)), body)
		if r.StatusCode != http.StatusBadRequest || r.problem(t).Code != "request.unknown_field" {
			t.Fatalf("body naming another person: %d %s", r.StatusCode, r.body)
		}
	}
	if sim.Asked() != asked {
		t.Fatal("a refused body asked the sources")
	}
	r := e.lookup(zhangTok, "k-z", map[string]any{"kind": "purchase", "consent": true})
	if r.StatusCode != http.StatusCreated || strings.Contains(string(r.body), "0081562") || !strings.Contains(string(r.body), "0123456") {
		t.Fatalf("张伟's lookup %d %s", r.StatusCode, r.body)
	}
	// 张伟's eligibility shows his own consent only, never 李娜's.
	r = e.meGet(withdrawals+"/eligibility?type=purchase", zhangTok)
	if strings.Contains(string(r.body), "0081562") {
		t.Fatalf("another person's deed in eligibility: %s", r.body)
	}
	// The same Idempotency-Key by another person is their own key, not a
	// replay of 李娜's answer.
	r = e.lookup(zhangTok, "k-l", map[string]any{"kind": "purchase", "consent": true})
	if strings.Contains(string(r.body), "0081562") {
		t.Fatalf("another person's replay: %s", r.body)
	}
}

func TestEvidenceLookupSourcesDown(t *testing.T) {
	var sim *sharingsim.Sim
	e := start(t, withSharing(t, &sim), fastWithdrawals)
	tok := e.bindWeChat("o-share-down", e.persona("depositor", "李娜")).AccessToken
	sim.SetOutage(true)
	r := e.lookup(tok, "k-down", map[string]any{"kind": "purchase", "consent": true})
	if r.StatusCode != http.StatusServiceUnavailable || r.problem(t).Code != "sharing.unavailable" {
		t.Fatalf("outage %d %s", r.StatusCode, r.body)
	}
	if ra, _ := strconv.Atoi(r.Header.Get("Retry-After")); ra < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	// Nothing kept: eligibility still lists the deed as missing.
	var el eligibilityEvidence
	e.meGet(withdrawals+"/eligibility?type=purchase", tok).json(t, &el)
	if el.Evidence == nil || el.Evidence.ConsentID != "" || len(el.Evidence.Missing) != 1 {
		t.Fatalf("after the outage: %+v", el.Evidence)
	}
	// Back up: the same key works now (a 503 is not replayed).
	sim.SetOutage(false)
	if r := e.lookup(tok, "k-down", map[string]any{"kind": "purchase", "consent": true}); r.StatusCode != http.StatusCreated {
		t.Fatalf("after the outage %d %s", r.StatusCode, r.body)
	}
}

func TestEvidenceLookupBadInput(t *testing.T) {
	var sim *sharingsim.Sim
	e := start(t, withSharing(t, &sim), fastWithdrawals)
	tok := e.bindWeChat("o-share-bad", e.persona("depositor", "李娜")).AccessToken
	b := e.bad()
	for i, c := range []struct {
		body any
		key  string
		want int
		code string
	}{
		{map[string]any{"kind": "purchase", "consent": false}, "k1", 400, "sharing.consent_required"},
		{map[string]any{"kind": "purchase"}, "k2", 400, "sharing.consent_required"},
		{map[string]any{"kind": "holiday", "consent": true}, "k3", 400, "request.invalid"},
		{map[string]any{"kind": "<script>alert(1)</script>", "consent": true}, "k4", 400, "request.invalid"},
		{map[string]any{"consent": true}, "k5", 400, "request.invalid"},
		{map[string]any{"kind": "purchase", "consent": "yes"}, "k6", 400, ""},
		{`{"kind":"purchase","consent":true,"kind":"rent"}`, "k7", 400, "request.duplicate_field"},
		{map[string]any{"kind": strings.Repeat("a", 5000), "consent": true}, "k8", 400, "request.invalid"},
		{map[string]any{"kind": "purchase", "consent": true}, "", 400, "idempotency.key_missing"},
	} {
		r := b.lookup(tok, c.key, c.body)
		if r.StatusCode != c.want || (c.code != "" && r.problem(t).Code != c.code) {
			t.Errorf("case %d: %d %s", i, r.StatusCode, r.body)
		}
		if strings.Contains(string(r.body), "<script>") {
			t.Errorf("case %d reflects the script: %s", i, r.body)
		}
	}
	if sim.Asked() != 0 {
		t.Fatalf("bad input asked the sources %d times", sim.Asked())
	}
	// Without a token, or as a kiosk device: no lookup.
	if r := b.do("POST", evidenceLookups, map[string]any{"kind": "purchase", "consent": true}, http.Header{"Idempotency-Key": {"k9"}}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous %d", r.StatusCode)
	}
}

// The consent is given with the withdrawal's recent face check: a session
// whose face check is older gets step_up_required and nothing is asked.
func TestEvidenceLookupNeedsARecentFaceCheck(t *testing.T) {
	var sim *sharingsim.Sim
	e := start(t, withSharing(t, &sim), fastWithdrawals, withAssurance(func(a *identity.Assurance) {
		a.Services[identity.ServiceWithdrawal] = identity.Requirement{ACR: services.ACRFace, MaxAge: 2 * time.Second}
	}))
	tok := e.bindWeChat("o-share-stepup", e.persona("depositor", "李娜")).AccessToken
	time.Sleep(2100 * time.Millisecond)
	wantProblem(t, e.lookup(tok, "k-step", map[string]any{"kind": "purchase", "consent": true}), 403, "auth.step_up_required")
	if sim.Asked() != 0 {
		t.Fatal("a refused consent asked the sources")
	}
}
