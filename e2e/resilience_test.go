package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services/core"
)

// everyReadToTheCore turns the fresh cache off, so each screen asks the core
// and only its faults decide what the person sees.
func everyReadToTheCore(c *bff.Config) {
	rc := core.DefaultReaderConfig()
	for _, p := range []*core.ReadPolicy{&rc.Person, &rc.Account, &rc.Deposits, &rc.Loan, &rc.Certificate, &rc.Employer} {
		p.FreshFor = 0
		p.BreakerOpenFor = 300 * time.Millisecond
	}
	c.CoreReads = &rc
}

func (e *env) setMaintenance(window string) {
	e.t.Helper()
	req, _ := http.NewRequest("PUT", e.simURL+"/_sim/maintenance", strings.NewReader(window))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		e.t.Fatalf("PUT /_sim/maintenance %q: %d", window, resp.StatusCode)
	}
}

type accountFigures struct {
	BalanceFen int64     `json:"balance_fen"`
	Stale      bool      `json:"stale"`
	AsOf       time.Time `json:"as_of"`
}

// Outages, open breakers and the nightly batch window: a person who has
// seen their account gets the last known figures marked stale; one who has
// not gets a localized 503.
func TestCoreOutageServesStaleReads(t *testing.T) {
	e := start(t, everyReadToTheCore, policies())
	zhang := e.bindWeChat("oStale000000001", e.persona("depositor", "张伟")).AccessToken
	li := e.bindWeChat("oStale000000002", e.persona("depositor", "李娜")).AccessToken

	var fresh accountFigures
	e.do("GET", "/api/v1/me/account", nil, bearer(zhang)).json(t, &fresh)
	if fresh.Stale || fresh.BalanceFen <= 0 {
		t.Fatalf("fresh read %+v", fresh)
	}

	e.setFaults("all=down")
	var stale accountFigures
	r := e.do("GET", "/api/v1/me/account", nil, bearer(zhang))
	r.json(t, &stale)
	if r.StatusCode != 200 || !stale.Stale || stale.BalanceFen != fresh.BalanceFen || !stale.AsOf.Equal(fresh.AsOf) {
		t.Fatalf("during the outage: %d %+v (fresh %+v)", r.StatusCode, stale, fresh)
	}
	r = e.do("GET", "/api/v1/me/account", nil, http.Header{"Authorization": {"Bearer " + li}, "Accept-Language": {"en"}})
	wantProblem(t, r, 503, "core.unavailable")
	if r := e.do("GET", "/readyz", nil, nil); r.StatusCode != 200 {
		t.Fatalf("readyz during the core outage: %d %s; the replica still serves", r.StatusCode, r.body)
	}

	// Repeated failures open the breaker: the core is not even asked.
	for range 6 {
		e.do("GET", "/api/v1/me/account", nil, bearer(li))
	}
	calls := e.sim.Calls("account")
	e.do("GET", "/api/v1/me/account", nil, bearer(li))
	if e.sim.Calls("account") != calls {
		t.Fatal("an open breaker still sent the call to the core")
	}
	m := e.do("GET", "/metrics", nil, nil)
	if !strings.Contains(string(m.body), `handheld_core_breaker_open{group="account"} 1`) {
		t.Fatalf("breaker state not in metrics:\n%s", grep(string(m.body), "breaker"))
	}
	// A dropped connection is worth another try, until the breaker opens.
	if n, _ := sample(string(m.body), `handheld_core_retries_total{group="account"}`); n < 1 {
		t.Errorf("no account read retried during the outage:\n%s", grep(string(m.body), "retries"))
	}

	// The core comes back: after the open period the breaker lets calls through again.
	e.setFaults("")
	deadline := time.Now().Add(5 * time.Second)
	for {
		var back accountFigures
		r := e.do("GET", "/api/v1/me/account", nil, bearer(zhang))
		r.json(t, &back)
		if r.StatusCode == 200 && !back.Stale {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never recovered: %d %s", r.StatusCode, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The nightly batch window: stale for who has a value, 503 + Retry-After for who has not.
	wu := e.bindWeChat("oStale000000003", e.persona("depositor", "欧阳晓峰")).AccessToken
	e.setMaintenance("00:00-24:00")
	defer e.setMaintenance("")
	r = e.do("GET", "/api/v1/me/account", nil, bearer(zhang))
	r.json(t, &stale)
	if r.StatusCode != 200 || !stale.Stale {
		t.Fatalf("maintenance with a known value: %d %s", r.StatusCode, r.body)
	}
	r = e.do("GET", "/api/v1/me/account", nil, bearer(wu))
	wantProblem(t, r, 503, "core.maintenance")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("maintenance without Retry-After")
	}
	if p := r.problem(t); !regexp.MustCompile(`于\d\d:\d\d后`).MatchString(p.Detail) {
		t.Fatalf("maintenance detail does not say when to come back: %q", p.Detail)
	}
}
