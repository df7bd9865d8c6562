package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services/keys/jwkstest"
	"handheld/services/store"
	"handheld/services/suite"
)

// The second relying party of these tests: a rental platform that may ask
// two predicates only.
const (
	rentPartyID     = "demo-rent"
	rentPartySecret = "demo-rent-secret-0123456789"
)

func withRentParty(c *bff.Config) {
	sum := sha256.Sum256([]byte(rentPartySecret))
	c.Parties = append(c.Parties, bff.PartyCredential{ID: rentPartyID, Name: "示范安居租房平台",
		Predicates: []string{"continuous_months_at_least", "account_status_is"}, SecretSHA256: hex.EncodeToString(sum[:]), Enabled: true})
}

// loginParty signs a relying party in and returns its access token.
func (e *env) loginParty(id, secret string) string {
	e.t.Helper()
	r := e.do("POST", "/api/v1/auth/party", map[string]string{"client_id": id, "client_secret": secret}, nil)
	var tok tokens
	r.json(e.t, &tok)
	if r.StatusCode != 200 || tok.AccessToken == "" || tok.RefreshToken != "" {
		e.t.Fatalf("party sign-in: %d %s", r.StatusCode, r.body)
	}
	return tok.AccessToken
}

// keyed adds Idempotency-Key to a bearer header.
func keyed(h http.Header) http.Header {
	h = h.Clone()
	h.Set("Idempotency-Key", newNonce())
	return h
}

type shareAnswer struct {
	Name   string `json:"name"`
	Value  any    `json:"value"`
	Answer string `json:"answer"`
}

type redemption struct {
	ShareID  string        `json:"share_id"`
	Answers  []shareAnswer `json:"answers"`
	JWS      string        `json:"jws"`
	UsesLeft int           `json:"uses_left"`
}

type shareView struct {
	ID     string `json:"id"`
	Code   string `json:"code"`
	QR     string `json:"qr"`
	Status string `json:"status"`
	Used   int    `json:"used"`
	Party  struct {
		ID, Name string
	} `json:"party"`
	Usage []struct {
		Party struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"party"`
		At      string        `json:"at"`
		Answers []shareAnswer `json:"answers"`
	} `json:"usage"`
}

// verifyAnswers checks a redemption's JWS with the published JWKS alone
// and returns its header and claims.
func (e *env) verifyAnswers(jws string) (map[string]any, map[string]any) {
	e.t.Helper()
	r := e.do("GET", "/.well-known/jwks.json", nil, nil)
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		e.t.Fatalf("not a compact JWS: %q", jws)
	}
	var header, claims map[string]any
	for i, v := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, v) != nil {
			e.t.Fatalf("JWS part %d: %v", i, err)
		}
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	kid, _ := header["kid"].(string)
	alg, err := jwkstest.Verify(r.body, kid, []byte(parts[0]+"."+parts[1]), sig)
	if err != nil {
		e.t.Fatal(err)
	}
	if alg != header["alg"] || alg != suite.Env().Signature() || header["typ"] != "hpf-share+jwt" || !strings.HasPrefix(kid, "shares-") {
		e.t.Errorf("JWS header %v (key alg %s, suite %s)", header, alg, suite.Env())
	}
	return header, claims
}

// The done-when on the embedded default: the demo bank signs in,
// a persona shares yes/no answers with it, the bank redeems them signed
// and they verify with the JWKS alone; the persona sees the use and
// revokes, and the next redemption fails. Then the attacks.
func TestSharesDoneWhen(t *testing.T) {
	t.Parallel()
	e := start(t, withRentParty)
	zhang := e.persona("depositor", "张伟")
	li := e.persona("depositor", "李娜")
	person := bearer(e.bindWeChat("o-share-zhang", zhang).AccessToken)
	other := bearer(e.bindWeChat("o-share-li", li).AccessToken)
	bank := bearer(e.loginParty(bff.DemoPartyID, bff.DemoPartySecret))
	rent := bearer(e.loginParty(rentPartyID, rentPartySecret))

	var parties struct {
		Items []struct {
			ID         string   `json:"id"`
			Predicates []string `json:"predicates"`
		} `json:"items"`
	}
	e.do("GET", "/api/v1/me/share-parties", nil, person).json(t, &parties)
	if len(parties.Items) != 2 || parties.Items[0].ID != rentPartyID || parties.Items[1].ID != bff.DemoPartyID || len(parties.Items[1].Predicates) != 6 {
		t.Fatalf("parties %+v", parties)
	}

	until := time.Now().Add(48 * time.Hour).Format(time.RFC3339)
	body := map[string]any{"party": bff.DemoPartyID, "valid_until": until, "max_uses": 2, "predicates": []map[string]any{
		{"name": "balance_at_least", "value": 1_000_000},
		{"name": "continuous_months_at_least", "value": 12},
		{"name": "account_status_is", "value": "normal"},
		{"name": "has_no_outstanding_hpf_loan"},
		{"name": "employed_by", "value": zhang.UnitCode},
	}}
	r := e.do("POST", "/api/v1/me/shares", body, keyed(person))
	var created shareView
	r.json(t, &created)
	if r.StatusCode != 201 || len(created.Code) != 19 || !strings.HasPrefix(created.QR, "data:image/png;base64,") || created.Status != "active" {
		t.Fatalf("create: %d %s", r.StatusCode, r.body)
	}

	r = e.do("POST", "/api/v1/shares/redeem", map[string]string{"code": created.Code}, bank)
	var got redemption
	r.json(t, &got)
	if r.StatusCode != 200 || got.ShareID != created.ID || got.UsesLeft != 1 {
		t.Fatalf("redeem: %d %s", r.StatusCode, r.body)
	}
	want := []string{"yes", "yes", "yes", "no", "yes"} // 张伟 repays a loan
	for i, a := range got.Answers {
		if a.Answer != want[i] {
			t.Errorf("answer %d (%s) = %s, want %s", i, a.Name, a.Answer, want[i])
		}
	}
	if strings.Contains(string(r.body), "balance_fen") || strings.Contains(string(r.body), zhang.IDNumber) {
		t.Errorf("a redemption discloses figures: %s", r.body)
	}
	_, claims := e.verifyAnswers(got.JWS)
	if claims["party"] != bff.DemoPartyID || claims["share"] != created.ID || claims["iss"] != e.cfg.CentreCode ||
		!strings.HasPrefix(claims["sub"].(string), "psn_") || claims["iat"] == nil {
		t.Errorf("claims %v", claims)
	}
	answers, _ := claims["answers"].([]any)
	if len(answers) != 5 || answers[3].(map[string]any)["answer"] != "no" || answers[0].(map[string]any)["value"] != float64(1_000_000) {
		t.Errorf("signed answers %v", claims["answers"])
	}

	// The persona sees the use: the bank, when, what it asked.
	var seen shareView
	e.do("GET", "/api/v1/me/shares/"+created.ID, nil, person).json(t, &seen)
	if len(seen.Usage) != 1 || seen.Usage[0].Party.Name != bff.DemoPartyName || seen.Used != 1 || len(seen.Usage[0].Answers) != 5 {
		t.Fatalf("the person's view %+v", seen)
	}
	var list struct {
		Items []shareView `json:"items"`
	}
	e.do("GET", "/api/v1/me/shares", nil, person).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != created.ID || len(list.Items[0].Usage) != 1 {
		t.Fatalf("the person's list %+v", list)
	}
	// Nobody else reaches it.
	wantProblem(t, e.do("GET", "/api/v1/me/shares/"+created.ID, nil, other), 404, "share.not_found")
	wantProblem(t, e.do("POST", "/api/v1/me/shares/"+created.ID+"/revoke", nil, other), 404, "share.not_found")
	wantProblem(t, e.do("POST", "/api/v1/shares/redeem", map[string]string{"code": created.Code}, rent), 404, "share.code_invalid")

	// Revoked: the next redemption fails.
	r = e.do("POST", "/api/v1/me/shares/"+created.ID+"/revoke", nil, person)
	if r.json(t, &seen); r.StatusCode != 200 || seen.Status != "revoked" {
		t.Fatalf("revoke: %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.do("POST", "/api/v1/shares/redeem", map[string]string{"code": created.Code}, bank), 410, "share.revoked")

	// Roles: a party on depositor routes, a depositor (or a verifier) on
	// party routes.
	wantProblem(t, e.do("GET", "/api/v1/me/shares", nil, bank), 403, "auth.forbidden")
	wantProblem(t, e.do("POST", "/api/v1/me/shares", body, keyed(bank)), 403, "auth.forbidden")
	wantProblem(t, e.do("POST", "/api/v1/shares/redeem", map[string]string{"code": created.Code}, person), 403, "auth.forbidden")
	verifier := e.do("POST", "/api/v1/auth/verifier", map[string]string{"client_id": bff.DemoVerifierID, "client_secret": bff.DemoVerifierSecret}, nil)
	var vt tokens
	verifier.json(t, &vt)
	wantProblem(t, e.do("POST", "/api/v1/shares/redeem", map[string]string{"code": created.Code}, bearer(vt.AccessToken)), 403, "auth.forbidden")
	wantProblem(t, e.do("POST", "/api/v1/auth/party", map[string]string{"client_id": bff.DemoPartyID, "client_secret": "wrong"}, nil), 401, "auth.bad_credentials")

	// Bad shares: each a 4xx with its code, nothing stored.
	bad := func(mut func(map[string]any)) map[string]any {
		b := map[string]any{"party": bff.DemoPartyID, "valid_until": until, "max_uses": 1,
			"predicates": []map[string]any{{"name": "balance_at_least", "value": 100}}}
		mut(b)
		return b
	}
	for name, tt := range map[string]struct {
		body   map[string]any
		status int
		code   string
	}{
		"not allowed to the party": {bad(func(b map[string]any) { b["party"] = rentPartyID }), 422, "share.predicate_not_allowed"},
		"unknown party":            {bad(func(b map[string]any) { b["party"] = "nobody" }), 422, "share.party_unknown"},
		"unknown predicate":        {bad(func(b map[string]any) { b["predicates"] = []map[string]any{{"name": "salary_is", "value": 1}} }), 400, "request.invalid"},
		"a fraction":               {bad(func(b map[string]any) { b["predicates"] = []map[string]any{{"name": "balance_at_least", "value": 1.5}} }), 400, "request.invalid"},
		"a made-up status": {bad(func(b map[string]any) {
			b["predicates"] = []map[string]any{{"name": "account_status_is", "value": "rich"}}
		}), 400, "request.invalid"},
		"a bad unit code": {bad(func(b map[string]any) {
			b["predicates"] = []map[string]any{{"name": "employed_by", "value": zhang.UnitCode[:17] + "0"}}
		}), 400, "request.invalid"},
		"valid_until past":      {bad(func(b map[string]any) { b["valid_until"] = time.Now().Add(-time.Hour).Format(time.RFC3339) }), 400, "request.invalid"},
		"valid_until too far":   {bad(func(b map[string]any) { b["valid_until"] = time.Now().Add(91 * 24 * time.Hour).Format(time.RFC3339) }), 400, "request.invalid"},
		"max_uses out of range": {bad(func(b map[string]any) { b["max_uses"] = 11 }), 400, "request.invalid"},
	} {
		r := e.bad().do("POST", "/api/v1/me/shares", tt.body, keyed(person))
		if p := r.problem(t); r.StatusCode != tt.status || p.Code != tt.code {
			t.Errorf("%s: %d %s, want %d %s", name, r.StatusCode, p.Code, tt.status, tt.code)
		}
	}
	wantProblem(t, e.bad().do("POST", "/api/v1/me/shares", `{"party":`, keyed(person)), 400, "request.malformed_json")
	wantProblem(t, e.bad().do("POST", "/api/v1/me/shares", body, person), 400, "idempotency.key_missing")
	wantProblem(t, e.bad().do("POST", "/api/v1/shares/redeem", map[string]string{"code": created.Code, "request_id": "sr_x"}, bank), 400, "request.invalid")
	wantProblem(t, e.do("POST", "/api/v1/shares/redeem", map[string]string{"code": "0000-0000-0000-0000"}, bank), 404, "share.code_invalid")
	wantProblem(t, e.bad().do("GET", "/api/v1/me/shares/not-an-id", nil, person), 404, "share.not_found")
	e.do("GET", "/api/v1/me/shares", nil, person).json(t, &list)
	if len(list.Items) != 1 {
		t.Errorf("%d shares after refused requests, want 1", len(list.Items))
	}

	// Two redemptions at once of a max_uses=1 share: exactly one wins.
	body["max_uses"] = 1
	var once shareView
	e.do("POST", "/api/v1/me/shares", body, keyed(person)).json(t, &once)
	statuses := make([]int, 2)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.do("POST", "/api/v1/shares/redeem", map[string]string{"code": once.Code}, bank).StatusCode
		}()
	}
	wg.Wait()
	if !(statuses[0] == 200 && statuses[1] == 410 || statuses[0] == 410 && statuses[1] == 200) {
		t.Errorf("two redemptions of the last use: %v, want one 200 and one 410", statuses)
	}

	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(t.Context(), e.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	count := func(action, result string) int {
		var n int
		if err := s.QueryRow(t.Context(), `SELECT count(*) FROM audit_log WHERE action = $1 AND result = $2 AND actor LIKE $3`,
			action, result, "%").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("share.redeem", "ok"); n != 2 {
		t.Errorf("%d share.redeem ok, want 2", n)
	}
	if n := count("share.redeem", "denied"); n < 5 {
		t.Errorf("%d share.redeem denied, want at least 5", n)
	}
	if count("share.create", "ok") != 2 || count("share.revoke", "ok") != 1 {
		t.Error("share.create or share.revoke not audited")
	}
	var target, actor, subject string
	if err := s.QueryRow(t.Context(), `SELECT target, actor, subject FROM audit_log WHERE action = 'share.redeem' AND result = 'ok' ORDER BY seq LIMIT 1`).
		Scan(&target, &actor, &subject); err != nil || target != "share:"+created.ID || actor != "party:"+bff.DemoPartyID || subject == "" {
		t.Errorf("share.redeem record: %s %s %q %v", target, actor, subject, err)
	}
	var codes int
	if err := s.QueryRow(t.Context(), `SELECT count(*) FROM shares WHERE code_hash = $1`, strings.ReplaceAll(created.Code, "-", "")).Scan(&codes); err != nil || codes != 0 {
		t.Errorf("a code stored as it is: %d %v", codes, err)
	}
}

// A party's request: the same answer whether or not the person is a
// depositor; the person approves, the party redeems by the request's id;
// a declined one cannot be redeemed; another party cannot follow it.
func TestShareRequests(t *testing.T) {
	t.Parallel()
	e := start(t, withRentParty)
	zhang := e.persona("depositor", "张伟")
	person := bearer(e.bindWeChat("o-request-zhang", zhang).AccessToken)
	bank := bearer(e.loginParty(bff.DemoPartyID, bff.DemoPartySecret))
	rent := bearer(e.loginParty(rentPartyID, rentPartySecret))
	ask := func(idNumber, name string) (int, map[string]any) {
		r := e.do("POST", "/api/v1/share-requests", map[string]any{"id_number": idNumber, "name": name, "purpose": "住房贷款审批",
			"valid_until": time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339), "max_uses": 1,
			"predicates": []map[string]any{{"name": "continuous_months_at_least", "value": 24}, {"name": "balance_at_least", "value": 5_000_000}}}, keyed(bank))
		var out map[string]any
		r.json(t, &out)
		return r.StatusCode, out
	}
	status, real := ask(zhang.IDNumber, zhang.Name)
	nobody := e.persona("person", "") // a person the core knows without an account
	status2, fake := ask(nobody.IDNumber, nobody.Name)
	status3, ghost := ask("11010519491231002X", "某某")
	for _, m := range []map[string]any{real, fake, ghost} {
		delete(m, "id")
		delete(m, "created_at")
		delete(m, "expires_at")
	}
	if status != 201 || status2 != 201 || status3 != 201 || len(real) != len(ghost) || real["status"] != "pending" ||
		real["status"] != fake["status"] || real["status"] != ghost["status"] {
		t.Fatalf("requests answered differently: %d %v / %d %v / %d %v", status, real, status2, fake, status3, ghost)
	}
	var mine struct {
		Items []struct {
			ID      string `json:"id"`
			Status  string `json:"status"`
			Purpose string `json:"purpose"`
			Party   struct {
				Name string `json:"name"`
			} `json:"party"`
		} `json:"items"`
	}
	e.do("GET", "/api/v1/me/share-requests", nil, person).json(t, &mine)
	if len(mine.Items) != 1 || mine.Items[0].Purpose != "住房贷款审批" || mine.Items[0].Party.Name != bff.DemoPartyName {
		t.Fatalf("the person's requests %+v", mine)
	}
	id := mine.Items[0].ID
	wantProblem(t, e.do("GET", "/api/v1/share-requests/"+id, nil, rent), 404, "share_request.not_found")
	wantProblem(t, e.do("POST", "/api/v1/shares/redeem", map[string]string{"request_id": id}, bank), 409, "share_request.pending")
	wantProblem(t, e.do("POST", "/api/v1/share-requests", map[string]any{"id_number": zhang.IDNumber, "name": zhang.Name,
		"valid_until": time.Now().Add(time.Hour).Format(time.RFC3339), "max_uses": 1,
		"predicates": []map[string]any{{"name": "balance_at_least", "value": 1}}}, keyed(rent)), 422, "share.predicate_not_allowed")
	wantProblem(t, e.do("POST", "/api/v1/share-requests", map[string]any{"id_number": zhang.IDNumber, "name": zhang.Name,
		"valid_until": time.Now().Add(time.Hour).Format(time.RFC3339), "max_uses": 1,
		"predicates": []map[string]any{{"name": "balance_at_least", "value": 1}}}, keyed(person)), 403, "auth.forbidden")

	r := e.do("POST", "/api/v1/me/share-requests/"+id+"/approve", nil, person)
	if r.StatusCode != 200 {
		t.Fatalf("approve: %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.do("POST", "/api/v1/me/share-requests/"+id+"/decline", nil, person), 409, "share_request.closed")
	var followed map[string]any
	e.do("GET", "/api/v1/share-requests/"+id, nil, bank).json(t, &followed)
	if followed["status"] != "approved" || followed["share_id"] == nil {
		t.Fatalf("the party's view %v", followed)
	}
	wantProblem(t, e.do("POST", "/api/v1/shares/redeem", map[string]string{"request_id": id}, rent), 404, "share_request.not_found")
	r = e.do("POST", "/api/v1/shares/redeem", map[string]string{"request_id": id}, bank)
	var got redemption
	r.json(t, &got)
	if r.StatusCode != 200 || len(got.Answers) != 2 || got.Answers[0].Answer != "yes" || got.Answers[1].Answer != "yes" {
		t.Fatalf("redeem by request: %d %s", r.StatusCode, r.body)
	}
	e.verifyAnswers(got.JWS)
	wantProblem(t, e.do("POST", "/api/v1/shares/redeem", map[string]string{"request_id": id}, bank), 410, "share.used_up")

	// A second request, declined: the party sees it, and cannot redeem it.
	ask(zhang.IDNumber, zhang.Name)
	e.do("GET", "/api/v1/me/share-requests", nil, person).json(t, &mine)
	second := mine.Items[0].ID
	if r := e.do("POST", "/api/v1/me/share-requests/"+second+"/decline", nil, person); r.StatusCode != 200 {
		t.Fatalf("decline: %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.do("POST", "/api/v1/shares/redeem", map[string]string{"request_id": second}, bank), 409, "share_request.closed")
}
