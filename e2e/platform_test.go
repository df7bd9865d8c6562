package e2e

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"handheld/bff"
	"handheld/bff/depositor"
	"handheld/services/platformsim"
)

const (
	accountsElsewhere = "/api/v1/me/accounts-elsewhere"
	platformSecret    = "e2e-platform-secret-0123456789abcdef0123"
)

// withPlatform serves a platform simulator, with its /_sim switches, over
// real HTTP and points the app at it by URL and key, as production is
// configured. The switches' URL is returned through simURL.
func withPlatform(t *testing.T, sim **platformsim.Sim, simURL *string) option {
	*sim = platformsim.New(platformsim.Config{Keys: map[string][]byte{"handheld-e2e": []byte(platformSecret)}})
	srv := httptest.NewServer((*sim).AdminHandler())
	t.Cleanup(srv.Close)
	*simURL = srv.URL
	return func(c *bff.Config) {
		c.PlatformURL, c.PlatformKeyID, c.PlatformSecret = srv.URL, "handheld-e2e", platformSecret
	}
}

// putSim sets a simulator switch over HTTP, as an operator's script would.
func putSim(t *testing.T, url, path, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT %s %s: %d", path, body, resp.StatusCode)
	}
}

func TestAccountsElsewhere(t *testing.T) {
	var sim *platformsim.Sim
	var simURL string
	e := start(t, withPlatform(t, &sim, &simURL))
	wumin := e.bindWeChat("o-elsewhere-wumin", e.persona("depositor", "吴敏")).AccessToken
	lina := e.bindWeChat("o-elsewhere-lina", e.persona("depositor", "李娜")).AccessToken
	zhou := e.bindWeChat("o-elsewhere-zhou", e.persona("depositor", "周强")).AccessToken

	// 吴敏's sealed Beijing account: masked, with its balance.
	var got depositor.ElsewhereBody
	r := e.meGet(accountsElsewhere, wumin, http.Header{"Accept-Language": {"zh-CN"}})
	r.json(t, &got)
	if r.StatusCode != http.StatusOK || len(got.Items) != 1 || !got.Complete || got.Reference == "" {
		t.Fatalf("吴敏 %d %s", r.StatusCode, r.body)
	}
	bj := got.Items[0]
	if bj.Centre != platformsim.CentreBeijing || bj.Status != "sealed" || bj.StatusLabel != "封存" || bj.AccountRef != "1101********5213" ||
		bj.BalanceFen == nil || *bj.BalanceFen != 3862400 || !bj.BalanceShared || bj.CentreName == "" {
		t.Fatalf("吴敏's Beijing account: %s", r.body)
	}
	if strings.Contains(string(r.body), "1101002019045213") {
		t.Fatalf("the whole account reference left: %s", r.body)
	}
	// Chengdu shares no balance; 李娜 has nothing elsewhere.
	r = e.meGet(accountsElsewhere, zhou)
	if r.StatusCode != http.StatusOK || !strings.Contains(string(r.body), `"status":"frozen"`) || strings.Contains(string(r.body), "balance_fen") {
		t.Fatalf("周强 %d %s", r.StatusCode, r.body)
	}
	r = e.meGet(accountsElsewhere, lina)
	if r.StatusCode != http.StatusOK || !strings.Contains(string(r.body), `"items":[]`) {
		t.Fatalf("李娜 %d %s", r.StatusCode, r.body)
	}

	// Another person is never reached: parameters naming 吴敏 do nothing
	// for 李娜's token.
	for _, q := range []string{"?id_number=" + e.persona("depositor", "吴敏").IDNumber, "?person_id=P1000000005&subject=吴敏"} {
		r = e.bad().meGet(accountsElsewhere+q, lina)
		if r.StatusCode != http.StatusOK || strings.Contains(string(r.body), "110100") {
			t.Fatalf("李娜 with %s: %d %s", q, r.StatusCode, r.body)
		}
	}

	// Bad tokens: none, garbage, an employer's.
	asked := sim.Calls(platformsim.CallAccounts)
	if r := e.bad().do("GET", accountsElsewhere, nil, nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %d %s", r.StatusCode, r.body)
	}
	if r := e.bad().do("GET", accountsElsewhere, nil, bearer("not-a-token")); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("garbage token: %d %s", r.StatusCode, r.body)
	}
	emp := e.loginEmployer(e.persona("employer", "黄磊")).AccessToken
	if r := e.bad().do("GET", accountsElsewhere, nil, bearer(emp)); r.StatusCode != http.StatusForbidden {
		t.Fatalf("employer token: %d %s", r.StatusCode, r.body)
	}
	if sim.Calls(platformsim.CallAccounts) != asked {
		t.Fatal("a refused request reached the platform")
	}

	// A centre not answering: the list says it may be incomplete.
	putSim(t, simURL, "/_sim/behaviour", `{"centres":{"110100":{"down":true}}}`)
	r = e.meGet(accountsElsewhere, wumin)
	r.json(t, &got)
	if r.StatusCode != http.StatusOK || got.Complete || len(got.Items) != 0 || strings.Join(got.Unanswered, ",") != platformsim.CentreBeijing {
		t.Fatalf("Beijing down: %d %s", r.StatusCode, r.body)
	}

	// The platform down: 503 platform.unavailable with Retry-After.
	putSim(t, simURL, "/_sim/behaviour", `{"outage":true}`)
	r = e.meGet(accountsElsewhere, wumin)
	if r.StatusCode != http.StatusServiceUnavailable || r.problem(t).Code != "platform.unavailable" {
		t.Fatalf("outage %d %s", r.StatusCode, r.body)
	}
	if ra, _ := strconv.Atoi(r.Header.Get("Retry-After")); ra < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	putSim(t, simURL, "/_sim/behaviour", `{}`)
	if r := e.meGet(accountsElsewhere, wumin); r.StatusCode != http.StatusOK {
		t.Fatalf("back up: %d %s", r.StatusCode, r.body)
	}
}

// On the embedded default the platform simulator runs in-process: a
// persona with an old account in another city sees it with no setting.
func TestAccountsElsewhereEmbeddedDefault(t *testing.T) {
	e := start(t)
	tok := e.bindWeChat("o-elsewhere-embedded", e.persona("depositor", "吴敏")).AccessToken
	r := e.meGet(accountsElsewhere, tok)
	if r.StatusCode != http.StatusOK || !strings.Contains(string(r.body), `"centre":"110100"`) {
		t.Fatalf("embedded %d %s", r.StatusCode, r.body)
	}
}
