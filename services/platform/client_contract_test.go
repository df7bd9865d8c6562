package platform_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/platform"
	"handheld/services/platformsim"
)

const (
	keyID  = "handheld-test"
	secret = "0123456789abcdef0123456789abcdef-platform"
)

// Demo people of the simulator's seed (services/coresim personas).
const (
	wuMinID     = "330110199909302242"
	ouyangID    = "330108199311051571"
	zhouQiangID = "330106198710231951"
	chenJingID  = "330108199501191428"
)

// rig is the simulator behind a real HTTP server (with its /_sim
// switches) and a client to it.
func rig(t *testing.T, cc platform.ClientConfig) (*platformsim.Sim, *platform.Client, string) {
	t.Helper()
	sim := platformsim.New(platformsim.Config{Keys: map[string][]byte{keyID: []byte(secret)}})
	srv := httptest.NewServer(sim.AdminHandler())
	t.Cleanup(srv.Close)
	cc.BaseURL = srv.URL
	if cc.KeyID == "" {
		cc.KeyID, cc.Secret = keyID, []byte(secret)
	}
	c, err := platform.NewClient(cc)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c, srv.URL
}

func query(id, name string) platform.AccountQuery {
	return platform.AccountQuery{RequestingCentre: platformsim.LocalCentre, Purpose: platform.PurposeAccountsElsewhere,
		Subject: platform.Subject{IDNumber: id, Name: name}}
}

func TestContractAccountsOfTheSeededPersonas(t *testing.T) {
	_, c, _ := rig(t, platform.ClientConfig{})
	ctx := context.Background()
	a, err := c.Accounts(ctx, query(wuMinID, "吴敏"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Accounts) != 1 || a.Reference == "" {
		t.Fatalf("吴敏: %+v", a)
	}
	bj := a.Accounts[0]
	if bj.Centre != platformsim.CentreBeijing || bj.Status != platform.StatusSealed || bj.AccountRef != "1101002019045213" ||
		!bj.BalanceShared || bj.BalanceFen == nil || *bj.BalanceFen != 3862400 || len(bj.LastDepositMonth) != 7 || bj.CentreName == "" {
		t.Fatalf("吴敏's Beijing account: %+v", bj)
	}
	// Chengdu does not share balances.
	a, err = c.Accounts(ctx, query(zhouQiangID, "周强"))
	if err != nil || len(a.Accounts) != 1 || a.Accounts[0].Status != platform.StatusFrozen || a.Accounts[0].BalanceShared || a.Accounts[0].BalanceFen != nil {
		t.Fatalf("周强: %+v %v", a, err)
	}
	a, err = c.Accounts(ctx, query(ouyangID, "欧阳晓峰"))
	if err != nil || len(a.Accounts) != 1 || a.Accounts[0].Centre != platformsim.CentreShanghai || a.Accounts[0].Status != platform.StatusNormal {
		t.Fatalf("欧阳晓峰: %+v %v", a, err)
	}
	// Most people have none: an empty list, not an error.
	a, err = c.Accounts(ctx, query(chenJingID, "陈静"))
	if err != nil || a.Accounts == nil || len(a.Accounts) != 0 {
		t.Fatalf("陈静: %+v %v", a, err)
	}
	// The right ID number with another name is no one the platform knows.
	a, err = c.Accounts(ctx, query(wuMinID, "吴明"))
	if err != nil || len(a.Accounts) != 0 {
		t.Fatalf("another name: %+v %v", a, err)
	}
	// The requesting centre's own accounts are never in the answer.
	q := query(wuMinID, "吴敏")
	q.RequestingCentre = platformsim.CentreBeijing
	if a, err = c.Accounts(ctx, q); err != nil || len(a.Accounts) != 0 {
		t.Fatalf("Beijing asking: %+v %v", a, err)
	}
	centres, err := c.Centres(ctx)
	if err != nil || len(centres.Items) < 4 {
		t.Fatalf("centres %+v %v", centres, err)
	}
}

func TestContractWrongKeyIsOurFault(t *testing.T) {
	sim, _, url := rig(t, platform.ClientConfig{})
	c, err := platform.NewClient(platform.ClientConfig{BaseURL: url, KeyID: keyID, Secret: []byte(strings.Repeat("x", 40))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Accounts(context.Background(), query(wuMinID, "吴敏"))
	if services.ErrorCode(err) != services.CodeInternal {
		t.Fatalf("wrong secret: %v", err)
	}
	if sim.Calls(platformsim.CallRefused) != 1 || sim.Calls(platformsim.CallAccounts) != 0 {
		t.Fatalf("calls: refused %d accounts %d", sim.Calls(platformsim.CallRefused), sim.Calls(platformsim.CallAccounts))
	}
	// An unknown requesting centre is our configuration's fault too.
	_, c2, _ := rig(t, platform.ClientConfig{})
	q := query(wuMinID, "吴敏")
	q.RequestingCentre = "999900"
	if _, err := c2.Accounts(context.Background(), q); services.ErrorCode(err) != services.CodeInternal {
		t.Fatalf("unknown centre: %v", err)
	}
}

// signedRequest builds a request to the account queries as the client
// would, with a chosen nonce and timestamp.
func signedRequest(t *testing.T, url, nonce string, ts time.Time, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+platform.PathAccounts, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(platform.HeaderKeyID, keyID)
	req.Header.Set(platform.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(platform.HeaderNonce, nonce)
	req.Header.Set(platform.HeaderSignature, core.Sign([]byte(secret), http.MethodPost, platform.PathAccounts, ts.Unix(), nonce, body))
	return req
}

func TestContractReplayAndStaleSignaturesRefused(t *testing.T) {
	_, _, url := rig(t, platform.ClientConfig{})
	body := []byte(`{"requesting_centre":"330100","subject":{"id_number":"` + wuMinID + `","name":"吴敏"},"purpose":"accounts_elsewhere"}`)
	send := func(req *http.Request) int {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	nonce := "0123456789abcdef0123456789abcdef"
	if got := send(signedRequest(t, url, nonce, time.Now(), body)); got != http.StatusOK {
		t.Fatalf("first: %d", got)
	}
	// The same request again: its nonce is spent.
	if got := send(signedRequest(t, url, nonce, time.Now(), body)); got != http.StatusUnauthorized {
		t.Fatalf("replay: %d", got)
	}
	// A timestamp outside the window, and a body changed after signing.
	if got := send(signedRequest(t, url, "fedcba9876543210fedcba9876543210", time.Now().Add(-10*time.Minute), body)); got != http.StatusUnauthorized {
		t.Fatalf("stale: %d", got)
	}
	req := signedRequest(t, url, "aaaabbbbccccddddaaaabbbbccccdddd", time.Now(), body)
	req.Body = http.NoBody
	req.ContentLength = 0
	if got := send(req); got != http.StatusUnauthorized {
		t.Fatalf("body changed: %d", got)
	}
}

func TestContractOutageOpensTheBreaker(t *testing.T) {
	var outcomes []string
	sim, c, _ := rig(t, platform.ClientConfig{BreakerFailures: 2, BreakerCooldown: time.Minute,
		Observe: func(op, outcome string, _ time.Duration) { outcomes = append(outcomes, op+":"+outcome) }})
	sim.SetOutage(true)
	ctx := context.Background()
	for range 2 {
		_, err := c.Accounts(ctx, query(wuMinID, "吴敏"))
		var e *services.Error
		if !errors.As(err, &e) || e.Code != services.CodePlatformUnavailable || e.RetryAfter != 60*time.Second {
			t.Fatalf("outage: %v", err)
		}
	}
	asked := sim.Calls(platformsim.CallAccounts)
	// The breaker is open: refused at once, the platform not asked.
	_, err := c.Accounts(ctx, query(wuMinID, "吴敏"))
	if services.ErrorCode(err) != services.CodePlatformUnavailable || sim.Calls(platformsim.CallAccounts) != asked {
		t.Fatalf("breaker: %v (calls %d -> %d)", err, asked, sim.Calls(platformsim.CallAccounts))
	}
	if got := strings.Join(outcomes, ","); got != "accounts:unavailable,accounts:unavailable,accounts:breaker_open" {
		t.Fatalf("observed %s", got)
	}
	if err := c.Health(ctx); err == nil {
		t.Fatal("health during the outage")
	}
}

func TestContractSlowPlatformTimesOut(t *testing.T) {
	sim, c, _ := rig(t, platform.ClientConfig{Timeout: 50 * time.Millisecond})
	if err := sim.SetBehaviour(platformsim.Behaviour{Latency: platformsim.Duration(5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Accounts(context.Background(), query(wuMinID, "吴敏"))
	if services.ErrorCode(err) != services.CodePlatformUnavailable {
		t.Fatalf("slow: %v", err)
	}
}

// The switches are driven over HTTP, as an e2e run or a standalone
// simulator is: a centre down is listed as unanswered, its accounts left out.
func TestContractSwitchesOverHTTP(t *testing.T) {
	_, c, url := rig(t, platform.ClientConfig{})
	put := func(path, body string) int {
		req, _ := http.NewRequest(http.MethodPut, url+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := put("/_sim/behaviour", `{"centres":{"110100":{"down":true}}}`); got != http.StatusNoContent {
		t.Fatalf("behaviour: %d", got)
	}
	a, err := c.Accounts(context.Background(), query(wuMinID, "吴敏"))
	if err != nil || len(a.Accounts) != 0 || strings.Join(a.Unanswered, ",") != platformsim.CentreBeijing {
		t.Fatalf("Beijing down: %+v %v", a, err)
	}
	for _, bad := range []string{`{"centres":{"999999":{"down":true}}}`, `{"centres":{"110100":{"refuse":"bored"}}}`,
		`{"latency":"-1s"}`, `{"outage":true,"extra":1}`} {
		if got := put("/_sim/behaviour", bad); got != http.StatusBadRequest {
			t.Fatalf("%s: %d", bad, got)
		}
	}
	if got := put("/_sim/behaviour", `{}`); got != http.StatusNoContent {
		t.Fatalf("reset: %d", got)
	}
	// A holder given over HTTP.
	if got := put("/_sim/holders", `{"id_number":"`+chenJingID+`","name":"陈静","accounts":[{"centre":"310100",`+
		`"account_ref":"3101000000000017","status":"sealed","balance_fen":100,"months_since_last":2}]}`); got != http.StatusNoContent {
		t.Fatalf("holders: %d", got)
	}
	a, err = c.Accounts(context.Background(), query(chenJingID, "陈静"))
	if err != nil || len(a.Accounts) != 1 || a.Accounts[0].AccountRef != "3101000000000017" {
		t.Fatalf("陈静 after: %+v %v", a, err)
	}
}

func TestNewClientRefusesBadSettings(t *testing.T) {
	good := platform.ClientConfig{BaseURL: "https://platform.example", KeyID: "k", Secret: []byte(secret)}
	for name, mut := range map[string]func(*platform.ClientConfig){
		"no url":       func(c *platform.ClientConfig) { c.BaseURL = "" },
		"ftp":          func(c *platform.ClientConfig) { c.BaseURL = "ftp://x" },
		"credentials":  func(c *platform.ClientConfig) { c.BaseURL = "https://u:p@x" },
		"no key":       func(c *platform.ClientConfig) { c.KeyID = "" },
		"short secret": func(c *platform.ClientConfig) { c.Secret = []byte("short") },
		"negative":     func(c *platform.ClientConfig) { c.Timeout = -1 },
	} {
		cfg := good
		mut(&cfg)
		if _, err := platform.NewClient(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := platform.NewClient(good); err != nil {
		t.Fatal(err)
	}
}

// An answer that is not the contract's is the platform unwell, not an
// empty list: a person must never be told they have nothing elsewhere
// because a proxy answered 200 with something else.
func TestContractMalformedAnswerIsUnavailable(t *testing.T) {
	for _, body := range []string{`{"reference":"PQ-1"}`, `<html>ok</html>`,
		`{"reference":"PQ-1","accounts":[{"centre":"110100","account_ref":"1","status":"sealed","balance_fen":5}],"unanswered":[]}`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		}))
		var outcome string
		c, err := platform.NewClient(platform.ClientConfig{BaseURL: srv.URL, KeyID: keyID, Secret: []byte(secret),
			Observe: func(_, o string, _ time.Duration) { outcome = o }})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Accounts(context.Background(), query(wuMinID, "吴敏"))
		srv.Close()
		if services.ErrorCode(err) != services.CodePlatformUnavailable || outcome != "unavailable" {
			t.Fatalf("%s: %v (%s)", body, err, outcome)
		}
	}
}
