package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"handheld/bff"
	"handheld/bff/depositor"
	"handheld/services/core"
	"handheld/services/platform"
	"handheld/services/platformsim"
)

const transfersPath = "/api/v1/me/transfers"

// transferRig is a running handheld with a platform simulator over real
// HTTP whose callbacks reach the app (their URL names the configured
// public base; the simulator's client sends them to the port the app
// listens on).
type transferRig struct {
	*env
	sim    *platformsim.Sim
	simURL string
}

// redirect sends every request to the host in target, as the network
// between the platform and a centre's public base would.
type redirect struct{ target *atomic.Value }

func (r redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	u, _ := url.Parse(r.target.Load().(string))
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = u.Scheme, u.Host
	return http.DefaultTransport.RoundTrip(req)
}

// startTransfers boots the rig: the platform decides on its own (a
// ticker), handheld polls after a short quiet time.
func startTransfers(t *testing.T, opts ...option) *transferRig {
	t.Helper()
	var target atomic.Value
	target.Store("http://127.0.0.1:1")
	sim := platformsim.New(platformsim.Config{Keys: map[string][]byte{"handheld-e2e": []byte(platformSecret)},
		CallbackKeyID: "handheld-e2e", CallbackSecret: []byte(platformSecret),
		CallbackClient: &http.Client{Transport: redirect{&target}, Timeout: 5 * time.Second}})
	srv := httptest.NewServer(sim.AdminHandler())
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go sim.Run(ctx, 50*time.Millisecond)
	all := append([]option{func(c *bff.Config) {
		c.PlatformURL, c.PlatformKeyID, c.PlatformSecret = srv.URL, "handheld-e2e", platformSecret
		c.Transfers.PollInterval = 500 * time.Millisecond
		c.Transfers.QuietAfter = 600 * time.Millisecond
		// The tests ask, and poll (four times a second, for up to a
		// minute under load), more often than a person may, and bind
		// more people from one address than a person would.
		c.RateLimits = slices.Clone(c.RateLimits)
		for i, p := range c.RateLimits {
			if p.Name == "transfer_write_subject" || p.Name == "read_subject" || p.Name == "bind_ip" {
				c.RateLimits[i].Rate, c.RateLimits[i].Burst = 1000, 1000
			}
		}
	}}, opts...)
	e := start(t, all...)
	target.Store(e.base)
	t.Cleanup(sim.Flush)
	return &transferRig{env: e, sim: sim, simURL: srv.URL}
}

// ask posts a transfer with key (none when empty).
func (e *env) ask(tok, key, centre, ref string) *response {
	e.t.Helper()
	h := bearer(tok)
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	return e.do("POST", transfersPath, map[string]string{"from_centre": centre, "account_ref": ref}, h)
}

// waitTransfer polls the transfer until it reaches status.
func (r *transferRig) waitTransfer(tok, id, status string) depositor.TransferBody {
	r.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var b depositor.TransferBody
		r.meGet(transfersPath+"/"+id, tok).json(r.t, &b)
		if b.Status == status {
			return b
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("transfer %s is %s, still not %s", id, b.Status, status)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// balance is the person's balance at the core (the screens may show a
// cached one for a while).
func (r *transferRig) balance(name string) int64 {
	r.t.Helper()
	return r.env.sim.BalanceOf(r.persona("depositor", name).IDNumber)
}

func statusesOf(b depositor.TransferBody) []string {
	var out []string
	for _, e := range b.Events {
		out = append(out, e.Status)
	}
	return out
}

var mainLine = []string{"accepted", "sent", "accepted_by_old_centre", "funds_moved", "merged"}

// TestTransferIn is the story: 吴敏 sees her sealed Beijing
// account, transfers it in, watches it reach merged by the platform's
// callbacks, and her balance here grows by exactly the amount; the case
// appears with its time limit and is rated.
func TestTransferIn(t *testing.T) {
	r := startTransfers(t)
	wumin := r.bindWeChat("o-transfer-wumin", r.persona("depositor", "吴敏")).AccessToken
	// She lets the mini-program tell her each status (one grant a message).
	r.grantWeChat(wumin, "hpf-withdrawal-status", 8)

	var elsewhere depositor.ElsewhereBody
	r.meGet(accountsElsewhere, wumin).json(t, &elsewhere)
	if len(elsewhere.Items) != 1 || elsewhere.Items[0].Status != "sealed" || elsewhere.Items[0].BalanceFen == nil {
		t.Fatalf("accounts elsewhere: %+v", elsewhere)
	}
	bj := elsewhere.Items[0]
	before := r.balance("吴敏")

	// She names the account as the screen showed it, masked.
	resp := r.ask(wumin, "k-wumin-1", bj.Centre, bj.AccountRef)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("ask: %d %s", resp.StatusCode, resp.body)
	}
	var accepted depositor.TransferBody
	resp.json(t, &accepted)
	if accepted.Status != "accepted" || accepted.FromCentre != platformsim.CentreBeijing || accepted.AccountRef != bj.AccountRef ||
		accepted.AmountFen != *bj.BalanceFen || accepted.DueOn == "" || resp.Header.Get("Location") != transfersPath+"/"+accepted.ID {
		t.Fatalf("accepted: %s", resp.body)
	}
	if strings.Contains(string(resp.body), "1101002019045213") {
		t.Fatalf("the whole account reference left: %s", resp.body)
	}

	merged := r.waitTransfer(wumin, accepted.ID, "merged")
	if got := statusesOf(merged); !slices.Equal(got, mainLine) {
		t.Fatalf("statuses %v, want %v", got, mainLine)
	}
	if merged.AmountFen != *bj.BalanceFen {
		t.Fatalf("amount %d, want %d", merged.AmountFen, *bj.BalanceFen)
	}
	if after := r.balance("吴敏"); after != before+*bj.BalanceFen || r.env.sim.TransferInCredits(accepted.ID) != 1 {
		t.Fatalf("balance %d → %d, want +%d", before, after, *bj.BalanceFen)
	}
	r.sim.Flush()
	if r.sim.Calls(platformsim.CallCallbacks) < 3 {
		t.Fatalf("callbacks delivered: %d", r.sim.Calls(platformsim.CallCallbacks))
	}
	// The account is gone from Beijing; the list and the case show it.
	r.meGet(accountsElsewhere, wumin).json(t, &elsewhere)
	if len(elsewhere.Items) != 0 {
		t.Fatalf("still elsewhere: %+v", elsewhere.Items)
	}
	var list depositor.TransferListBody
	r.meGet(transfersPath, wumin).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != accepted.ID || list.Items[0].Status != "merged" {
		t.Fatalf("list: %+v", list)
	}
	var cases struct {
		Items []struct {
			ID, Kind, Status, DueOn string
			Finished, Rateable      bool
		} `json:"items"`
	}
	raw := r.meGet("/api/v1/me/applications", wumin)
	if err := json.Unmarshal(raw.body, &cases); err != nil || len(cases.Items) == 0 || cases.Items[0].ID != accepted.ID ||
		cases.Items[0].Kind != "transfer" || !cases.Items[0].Finished || !strings.Contains(string(raw.body), `"due_on":"`+accepted.DueOn+`"`) {
		t.Fatalf("cases: %s", raw.body)
	}
	rated := r.do("POST", "/api/v1/me/applications/"+accepted.ID+"/rating", map[string]any{"level": 5}, bearer(wumin))
	if rated.StatusCode != http.StatusCreated {
		t.Fatalf("rating: %d %s", rated.StatusCode, rated.body)
	}
	// Each status was told once.
	waitFor(t, func() bool { return len(sentFor(r.env, accepted.ID)) == len(mainLine) })
	// The same key and body again: the first answer, replayed, nothing new.
	again := r.ask(wumin, "k-wumin-1", bj.Centre, bj.AccountRef)
	if again.StatusCode != http.StatusAccepted || again.Header.Get("Idempotent-Replayed") != "true" || !strings.Contains(string(again.body), accepted.ID) {
		t.Fatalf("replay: %d %s", again.StatusCode, again.body)
	}
}

// TestTransferBadInput is every bad input of the issue: refused with its
// own code, nothing written.
func TestTransferBadInput(t *testing.T) {
	r := startTransfers(t)
	wumin := r.bindWeChat("o-tbad-wumin", r.persona("depositor", "吴敏")).AccessToken
	ouyang := r.bindWeChat("o-tbad-ouyang", r.persona("depositor", "欧阳晓峰")).AccessToken
	zhou := r.bindWeChat("o-tbad-zhou", r.persona("depositor", "周强")).AccessToken
	wang := r.bindWeChat("o-tbad-wang", r.persona("depositor", "王芳")).AccessToken
	lina := r.bindWeChat("o-tbad-lina", r.persona("depositor", "李娜")).AccessToken
	wangP, linaP := r.persona("depositor", "王芳"), r.persona("depositor", "李娜")
	for _, p := range []struct{ id, name, ref string }{{wangP.IDNumber, wangP.Name, "1101002020000001"}, {linaP.IDNumber, linaP.Name, "1101002020000002"}} {
		if err := r.sim.SetHolder(p.id, p.name, []platformsim.Holding{{Centre: platformsim.CentreBeijing, AccountRef: p.ref,
			Status: platform.StatusSealed, BalanceFen: 100000, UnitName: "北京某公司", OpenedOn: "2020-01-01"}}); err != nil {
			t.Fatal(err)
		}
	}
	const wuminRef = "1101002019045213"
	refused := []struct {
		name, tok, centre, ref string
		status                 int
		code                   string
	}{
		{"from the local centre to itself", wumin, "330100", wuminRef, 422, "transfer.own_centre"},
		{"from a centre that is unknown", wumin, "440100", wuminRef, 422, "transfer.unknown_centre"},
		{"from an account that is not hers", wumin, platformsim.CentreShanghai, "3101000187236541", 422, "transfer.account_unknown"},
		{"from another person's account at her centre", wumin, platformsim.CentreBeijing, "1101002020000002", 422, "transfer.account_unknown"},
		{"a normal account elsewhere", ouyang, platformsim.CentreShanghai, "3101000187236541", 422, "transfer.not_transferable"},
		{"a frozen account elsewhere", zhou, platformsim.CentreChengdu, "5101000093318277", 422, "transfer.not_transferable"},
		{"into a local account that is not normal", wang, platformsim.CentreBeijing, "1101002020000001", 422, "transfer.local_account_not_normal"},
		{"a malformed centre", wumin, "11010", wuminRef, 400, "request.invalid"},
	}
	for _, c := range refused {
		var resp *response
		if c.status == 400 {
			resp = r.bad().ask(c.tok, "k-"+c.name, c.centre, c.ref)
		} else {
			resp = r.ask(c.tok, "k-"+c.name, c.centre, c.ref)
		}
		if resp.StatusCode != c.status || resp.problem(t).Code != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, resp.StatusCode, resp.body, c.status, c.code)
		}
	}
	h := bearer(wumin)
	h.Set("Idempotency-Key", "k-shape")
	wantProblem(t, r.bad().do("POST", transfersPath, `{"from_centre":`, h), 400, "request.malformed_json")
	wantProblem(t, r.bad().do("POST", transfersPath, `{"from_centre":"110100","account_ref":"1101002019045213","x":1}`, h), 400, "request.unknown_field")
	if resp := r.bad().do("POST", transfersPath, `{"from_centre":110100,"account_ref":"1101002019045213"}`, h); resp.StatusCode != 400 ||
		!strings.HasPrefix(resp.problem(t).Code, "request.") {
		t.Errorf("a number for a string: %d %s", resp.StatusCode, resp.body)
	}
	noKey := r.bad().do("POST", transfersPath, map[string]string{"from_centre": "110100", "account_ref": wuminRef}, bearer(wumin))
	if noKey.StatusCode != 400 {
		t.Errorf("no Idempotency-Key: %d %s", noKey.StatusCode, noKey.body)
	}
	for _, tok := range []string{wumin, ouyang, zhou, wang} {
		var list depositor.TransferListBody
		r.meGet(transfersPath, tok).json(t, &list)
		if len(list.Items) != 0 {
			t.Fatalf("a refusal wrote a transfer: %+v", list.Items)
		}
	}
	if r.sim.Calls(platformsim.CallTransfers) != 0 {
		t.Fatalf("a refused request reached the platform's transfers: %d", r.sim.Calls(platformsim.CallTransfers))
	}

	// Beijing takes its time: transfers stay in flight.
	putSim(t, r.simURL, "/_sim/behaviour", `{"centres":{"110100":{"accept_after":"72h"}}}`)
	// Twice at once with one Idempotency-Key: one transfer, the same answer.
	ids := make([]string, 4)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := r.ask(wumin, "k-once", platformsim.CentreBeijing, wuminRef)
			var b depositor.TransferBody
			if resp.StatusCode == http.StatusAccepted {
				_ = json.Unmarshal(resp.body, &b)
			}
			ids[i] = strconv.Itoa(resp.StatusCode) + " " + b.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || !strings.HasPrefix(id, "202 tr_") {
			t.Fatalf("one key at once: %v", ids)
		}
	}
	wuminID := strings.TrimPrefix(ids[0], "202 ")
	// Twice at once with two keys: one transfer, the other in flight.
	codes := make([]int, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = r.ask(lina, "k-two-"+strconv.Itoa(i), platformsim.CentreBeijing, "1101002020000002").StatusCode
		}()
	}
	wg.Wait()
	slices.Sort(codes)
	if !slices.Equal(codes, []int{202, 409}) {
		t.Fatalf("two keys at once: %v", codes)
	}
	// While one is in flight, another is refused.
	resp := r.ask(wumin, "k-second", platformsim.CentreBeijing, wuminRef)
	if resp.StatusCode != 409 || resp.problem(t).Code != "transfer.in_flight" {
		t.Fatalf("in flight: %d %s", resp.StatusCode, resp.body)
	}
	// The same key with another body.
	wantProblem(t, r.ask(wumin, "k-once", platformsim.CentreShanghai, "3101000187236541"), 422, "idempotency.key_reused")

	// Another person's id is not found, as is a malformed one.
	wantProblem(t, r.meGet(transfersPath+"/"+wuminID, lina), 404, "not_found")
	wantProblem(t, r.do("POST", transfersPath+"/"+wuminID+"/cancel", nil, bearer(lina)), 404, "not_found")
	wantProblem(t, r.bad().meGet(transfersPath+"/wd_nope", wumin), 404, "not_found")

	// She cancels before Beijing decides; twice answers the same.
	r.waitTransfer(wumin, wuminID, "sent")
	for range 2 {
		c := r.do("POST", transfersPath+"/"+wuminID+"/cancel", nil, bearer(wumin))
		var b depositor.TransferBody
		c.json(t, &b)
		if c.StatusCode != 200 || b.Status != "cancelled" || !slices.Equal(statusesOf(b), []string{"accepted", "sent", "cancelled"}) {
			t.Fatalf("cancel: %d %s", c.StatusCode, c.body)
		}
	}
	// After the old centre accepted: not cancellable.
	putSim(t, r.simURL, "/_sim/behaviour", `{}`)
	done := r.ask(wumin, "k-third", platformsim.CentreBeijing, wuminRef)
	var b depositor.TransferBody
	done.json(t, &b)
	r.waitTransfer(wumin, b.ID, "merged")
	wantProblem(t, r.do("POST", transfersPath+"/"+b.ID+"/cancel", nil, bearer(wumin)), 409, "transfer.not_cancellable")
}

// callback signs and posts a body to the callback route as the platform
// (or someone pretending to be it) would.
func (r *transferRig) callback(secret string, at time.Time, nonce string, body []byte) *response {
	r.t.Helper()
	if nonce == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		nonce = hex.EncodeToString(b[:])
	}
	ts := at.Unix()
	h := http.Header{
		platform.HeaderKeyID: {"handheld-e2e"}, platform.HeaderTimestamp: {strconv.FormatInt(ts, 10)}, platform.HeaderNonce: {nonce},
		platform.HeaderSignature: {core.Sign([]byte(secret), http.MethodPost, "/platform/v1/callbacks/transfers", ts, nonce, body)},
	}
	return r.bad().do("POST", "/platform/v1/callbacks/transfers", body, h)
}

// TestTransferCallbacksRefused: forged, stale, replayed and malformed
// callbacks are 401 or 400 and change nothing; an unknown transfer is 404;
// a sequence already recorded is 200 and recorded once.
func TestTransferCallbacksRefused(t *testing.T) {
	r := startTransfers(t)
	wumin := r.bindWeChat("o-tcb-wumin", r.persona("depositor", "吴敏")).AccessToken
	putSim(t, r.simURL, "/_sim/behaviour", `{"centres":{"110100":{"accept_after":"72h"}}}`)
	resp := r.ask(wumin, "k-cb", platformsim.CentreBeijing, "1101002019045213")
	var b depositor.TransferBody
	resp.json(t, &b)
	sent := r.waitTransfer(wumin, b.ID, "sent")
	pt, ok := r.sim.TransferOf(r.cfg.CentreCode, b.ID)
	if !ok {
		t.Fatal("the platform has no such transfer")
	}
	platformRef := pt.PlatformRef
	moved := func(seq int) []byte {
		raw, _ := json.Marshal(platform.Transfer{PlatformRef: platformRef, TransferRef: b.ID, Status: platform.TransferFundsMoved,
			AmountFen: 1, UpdatedAt: time.Now().Format(time.RFC3339), Sequence: seq})
		return raw
	}
	now := time.Now()
	for name, c := range map[string]*response{
		"forged":          r.callback("not-the-platform-secret-0123456789abcdef", now, "", moved(3)),
		"stale":           r.callback(platformSecret, now.Add(-10*time.Minute), "", moved(3)),
		"from the future": r.callback(platformSecret, now.Add(10*time.Minute), "", moved(3)),
	} {
		if c.StatusCode != 401 || c.problem(t).Code != "callback.bad_signature" {
			t.Errorf("%s: %d %s", name, c.StatusCode, c.body)
		}
	}
	wantProblem(t, r.callback(platformSecret, now, "", []byte(`{"platform_ref":`)), 400, "request.invalid")
	wantProblem(t, r.callback(platformSecret, now, "", []byte(`{"status":"funds_moved","sequence":0}`)), 400, "request.invalid")
	unknown, _ := json.Marshal(platform.Transfer{PlatformRef: platformRef, TransferRef: "tr_00000000000000000000000000000000",
		Status: platform.TransferRefused, Reason: "account_frozen", UpdatedAt: now.Format(time.RFC3339), Sequence: 2})
	wantProblem(t, r.callback(platformSecret, now, "", unknown), 404, "not_found")
	// Old news (sequence 1, recorded) is taken, changes nothing; its nonce
	// replayed is refused.
	old, _ := json.Marshal(platform.Transfer{PlatformRef: platformRef, TransferRef: b.ID, Status: platform.TransferSent,
		UpdatedAt: now.Format(time.RFC3339), Sequence: 1})
	nonce := "replayed-nonce-0123456789"
	if c := r.callback(platformSecret, now, nonce, old); c.StatusCode != 200 {
		t.Fatalf("duplicate: %d %s", c.StatusCode, c.body)
	}
	wantProblem(t, r.callback(platformSecret, now, nonce, old), 401, "callback.bad_signature")
	got := r.waitTransfer(wumin, b.ID, "sent")
	if !slices.Equal(statusesOf(got), statusesOf(sent)) {
		t.Fatalf("refused callbacks changed the transfer: %v → %v", statusesOf(sent), statusesOf(got))
	}
}

// TestTransferInEmbeddedDefault: on the embedded default (the platform
// simulated in-process) 吴敏's Beijing account comes in and her balance
// grows by it.
func TestTransferInEmbeddedDefault(t *testing.T) {
	e := start(t)
	tok := e.bindWeChat("o-transfer-embedded", e.persona("depositor", "吴敏")).AccessToken
	id := e.persona("depositor", "吴敏").IDNumber
	before := e.sim.BalanceOf(id)
	resp := e.ask(tok, "k-embedded", platformsim.CentreBeijing, "1101********5213")
	var b depositor.TransferBody
	resp.json(t, &b)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("ask: %d %s", resp.StatusCode, resp.body)
	}
	waitFor(t, func() bool {
		var got depositor.TransferBody
		e.meGet(transfersPath+"/"+b.ID, tok).json(t, &got)
		return got.Status == "merged"
	})
	if after := e.sim.BalanceOf(id); after != before+3_862_400 {
		t.Fatalf("balance %d → %d", before, after)
	}
}
