package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"handheld/services/core"
)

type payoutAccountsBody struct {
	Items []struct {
		ID           string `json:"id"`
		Kind         string `json:"kind"`
		KindLabel    string `json:"kind_label"`
		NumberMasked string `json:"number_masked"`
		Institution  string `json:"institution"`
	} `json:"items"`
}

// TestPayoutAccountsAndEvidenceAreThePersonsOwn: a person sees their own
// cards and wallets, masked; money goes only to one of them; evidence
// must name their own records. Every refusal writes nothing here and
// sends nothing to the core.
func TestPayoutAccountsAndEvidenceAreThePersonsOwn(t *testing.T) {
	t.Parallel()
	e := start(t, fastWithdrawals)
	lina, zhang := e.persona("depositor", "李娜"), e.persona("depositor", "张伟")
	tok := e.bindWeChat("o-lina-payouts", lina).AccessToken

	r := e.meGet("/api/v1/me/payout-accounts", tok)
	if r.StatusCode != 200 {
		t.Fatalf("payout accounts %d %s", r.StatusCode, r.body)
	}
	var list payoutAccountsBody
	r.json(t, &list)
	if len(list.Items) != len(lina.PayoutAccounts) || len(list.Items) != 3 {
		t.Fatalf("listed %d accounts, the core holds %d: %s", len(list.Items), len(lina.PayoutAccounts), r.body)
	}
	for i, a := range list.Items {
		want := lina.PayoutAccounts[i]
		n := want.Number
		if a.ID != want.ID || a.Kind != want.Kind || a.Institution != want.Institution || a.KindLabel == "" ||
			a.NumberMasked != n[:4]+" **** **** "+n[len(n)-4:] {
			t.Errorf("account %d: %+v, want %s %s masked", i, a, want.ID, want.Kind)
		}
		if strings.Contains(string(r.body), n) || strings.Contains(string(r.body), n[4:len(n)-4]) {
			t.Errorf("the list shows the number of %s", want.ID)
		}
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	wantProblem(t, e.bad().do("GET", "/api/v1/me/payout-accounts", nil, nil), 401, "auth.token_missing")
	// A person the core holds none for sees none.
	sunli := e.bindWeChat("o-sunli-payouts", e.persona("depositor", "孙丽")).AccessToken
	var none payoutAccountsBody
	e.meGet("/api/v1/me/payout-accounts", sunli).json(t, &none)
	if none.Items == nil || len(none.Items) != 0 {
		t.Errorf("孙丽's accounts %+v, want an empty list", none.Items)
	}

	card, wallet := lina.PayoutAccounts[0], lina.PayoutAccounts[2]
	deed, diagnosis := lina.Record(core.EvidencePropertyRegistration), lina.Record(core.EvidenceDiagnosis)
	refused := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"another person's card", rent(100_000, map[string]any{"account_id": zhang.PayoutAccounts[0].ID}), 422, "withdrawal.payout_account_unknown"},
		{"another person's wallet", rent(100_000, map[string]any{"account_id": zhang.PayoutAccounts[1].ID}), 422, "withdrawal.payout_account_unknown"},
		{"an unknown id", rent(100_000, map[string]any{"account_id": "pa_0000000000000000"}), 422, "withdrawal.payout_account_unknown"},
		{"a malformed id", rent(100_000, map[string]any{"account_id": "../../" + card.ID}), 422, "withdrawal.payout_account_unknown"},
		{"an id in capitals", rent(100_000, map[string]any{"account_id": strings.ToUpper(card.ID)}), 422, "withdrawal.payout_account_unknown"},
		{"an overlong id", rent(100_000, map[string]any{"account_id": strings.Repeat("9", 70)}), 422, "withdrawal.payout_account_unknown"},
		{"an empty id", rent(100_000, map[string]any{"account_id": ""}), 400, "request.invalid"},
		{"an id that is a number", `{"type":"rent","amount_fen":100000,"payout":{"account_id":6222021202005128740}}`, 400, "request.invalid"},
		{"a card number instead of an id", rent(100_000, map[string]any{"account_id": card.Number}), 422, "withdrawal.payout_account_unknown"},
		{"the old wallet form", `{"type":"rent","amount_fen":100000,"payout":{"method":"ecny","wallet_id":"0012345678901234"}}`, 400, "request.unknown_field"},
		{"a made-up deed", purchase(100_000, card.ID, "deed:anything"), 422, "withdrawal.evidence_unknown"},
		{"another persona's real deed", purchase(100_000, card.ID, zhang.Record(core.EvidencePropertyRegistration)), 422, "withdrawal.evidence_unknown"},
		{"her diagnosis as a deed", purchase(100_000, card.ID, diagnosis), 422, "withdrawal.evidence_unknown"},
		{"her deed and a made-up one", purchase(100_000, card.ID, deed, "deed:x"), 422, "withdrawal.evidence_unknown"},
		{"evidence where none is needed", map[string]any{"type": "rent", "amount_fen": 100_000,
			"payout": map[string]any{"account_id": card.ID}, "evidence_refs": []string{lina.Record(core.EvidenceTenancy)}}, 422, "withdrawal.evidence_unknown"},
	}
	for i, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			wantProblem(t, e.bad().apply(tok, fmt.Sprintf("refused-%d", i), c.body), c.status, c.code)
		})
	}
	var mine struct {
		Items []application `json:"items"`
	}
	e.meGet(withdrawals, tok).json(t, &mine)
	if len(mine.Items) != 0 || e.sim.Withdrawals() != 0 {
		t.Fatalf("refused applications left %d here, %d at the core", len(mine.Items), e.sim.Withdrawals())
	}
	// A refused key was not spent: the same key with a good body goes.
	good := e.apply(tok, "refused-0", rent(100_000, map[string]any{"account_id": card.ID}))
	if good.StatusCode != 202 {
		t.Fatalf("rent to her card %d %s", good.StatusCode, good.body)
	}
	var toCard accepted
	good.json(t, &toCard)
	illness := map[string]any{"type": "critical_illness", "amount_fen": 100_000, "payout": map[string]any{"account_id": wallet.ID},
		"evidence_refs": []string{diagnosis}}
	r = e.apply(tok, "illness-wallet", illness)
	if r.StatusCode != 202 {
		t.Fatalf("critical illness to her wallet %d %s", r.StatusCode, r.body)
	}
	var toWallet accepted
	r.json(t, &toWallet)
	for _, c := range []struct {
		app     accepted
		account core.PayoutAccount
	}{{toCard, card}, {toWallet, wallet}} {
		paid := e.waitStatus(tok, c.app.ID, "paid")
		n := c.account.Number
		if paid.Payout.Method != c.account.Kind || paid.Payout.AccountID != c.account.ID || paid.Payout.Account != n[:4]+" **** **** "+n[len(n)-4:] {
			t.Errorf("%s paid to %+v, want %s masked", c.app.ID, paid.Payout, c.account.ID)
		}
		if !e.sim.PaidTo(c.app.ID, c.account.ID) {
			t.Errorf("the core did not pay %s to %s", c.app.ID, c.account.ID)
		}
	}
}

func purchase(amount int64, account string, refs ...string) map[string]any {
	return map[string]any{"type": "purchase", "amount_fen": amount, "payout": map[string]any{"account_id": account}, "evidence_refs": refs}
}

// TestRacingKindsOverHTTPNeverOverCommit: purchase, critical illness and
// rent, each for the most it allows alone (together about twice the
// balance), sent at the same moment: what is accepted fits the balance,
// and eligibility then offers only what is left.
func TestRacingKindsOverHTTPNeverOverCommit(t *testing.T) {
	t.Parallel()
	e := start(t, fastWithdrawals)
	lina := e.persona("depositor", "李娜")
	tok := e.bindWeChat("o-lina-race", lina).AccessToken
	var acc struct {
		BalanceFen int64 `json:"balance_fen"`
	}
	e.meGet("/api/v1/me/account", tok).json(t, &acc)
	card := map[string]any{"account_id": lina.PayoutAccounts[0].ID}
	bodies := map[string]map[string]any{
		"purchase":         {"type": "purchase", "payout": card, "evidence_refs": []string{lina.Record(core.EvidencePropertyRegistration)}},
		"critical_illness": {"type": "critical_illness", "payout": card, "evidence_refs": []string{lina.Record(core.EvidenceDiagnosis)}},
		"rent":             {"type": "rent", "payout": card},
	}
	var asked int64
	for kind, b := range bodies {
		el := e.eligibility(tok, kind)
		if !el.Eligible {
			t.Fatalf("%s alone: %+v", kind, el)
		}
		b["amount_fen"] = el.MaxAmountFen
		asked += el.MaxAmountFen
	}
	if asked <= acc.BalanceFen {
		t.Fatalf("asking %d of %d: no race to lose", asked, acc.BalanceFen)
	}
	type sent struct {
		kind string
		req  *http.Request
		resp *http.Response
		body []byte
		err  error
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results []sent
		go1     = make(chan struct{})
	)
	for kind, b := range bodies {
		raw, _ := json.Marshal(b)
		wg.Go(func() {
			req, _ := http.NewRequest("POST", e.base+withdrawals, bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Idempotency-Key", "race-"+kind)
			<-go1
			resp, err := http.DefaultClient.Do(req)
			s := sent{kind: kind, req: req, resp: resp, err: err}
			if err == nil {
				s.body, s.err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			mu.Lock()
			results = append(results, s)
			mu.Unlock()
		})
	}
	close(go1)
	wg.Wait()
	var accepted int64
	for _, s := range results {
		if s.err != nil {
			t.Fatalf("%s: %v", s.kind, s.err)
		}
		e.validate(s.req, s.resp, s.body)
		switch s.resp.StatusCode {
		case 202:
			accepted += bodies[s.kind]["amount_fen"].(int64)
		case 422:
			if code := (&response{Response: s.resp, body: s.body}).problem(t).Code; code != "withdrawal.amount_over_limit" && code != "withdrawal.not_eligible" {
				t.Errorf("%s refused with %s", s.kind, code)
			}
		default:
			t.Errorf("%s: %d %s", s.kind, s.resp.StatusCode, s.body)
		}
	}
	if accepted == 0 || accepted > acc.BalanceFen {
		t.Fatalf("accepted %d of a balance of %d (asked %d)", accepted, acc.BalanceFen, asked)
	}
	for _, kind := range []string{"purchase", "critical_illness"} {
		if el := e.eligibility(tok, kind); el.Eligible && el.MaxAmountFen > acc.BalanceFen-accepted {
			t.Errorf("after the race %s offers %d of the %d left", kind, el.MaxAmountFen, acc.BalanceFen-accepted)
		}
	}
}
