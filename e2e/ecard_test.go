package e2e

import (
	"bytes"
	"strings"
	"testing"
)

type ecardBody struct {
	Payload       string `json:"payload"`
	ExpiresAt     string `json:"expires_at"`
	RefreshAfter  string `json:"refresh_after"`
	AccountStatus string `json:"account_status"`
}

type ecardVerdict struct {
	Valid  bool `json:"valid"`
	Holder struct {
		Name     string `json:"name"`
		IDNumber string `json:"id_number"`
	} `json:"holder"`
	AccountStatus string `json:"account_status"`
	Centre        string `json:"centre"`
}

// verifierToken signs the demo counter in with its client credentials.
func (e *env) verifierToken() string {
	e.t.Helper()
	r := e.do("POST", "/api/v1/auth/verifier",
		map[string]string{"client_id": "demo-counter", "client_secret": "demo-counter-secret-0001"}, nil)
	if r.StatusCode != 200 {
		e.t.Fatalf("verifier login %d %s", r.StatusCode, r.body)
	}
	var tok tokens
	r.json(e.t, &tok)
	return tok.AccessToken
}

// ecard fetches the holder's current e-card.
func (e *env) ecard(tok string) ecardBody {
	e.t.Helper()
	r := e.meGet("/api/v1/me/ecard", tok)
	if r.StatusCode != 200 {
		e.t.Fatalf("GET ecard %d %s", r.StatusCode, r.body)
	}
	var c ecardBody
	r.json(e.t, &c)
	return c
}

func TestECardVerifyOnceAndUsage(t *testing.T) {
	t.Parallel()
	e := start(t)
	zhang := e.persona("depositor", "张伟")
	tok := e.bindWeChat("openid-ecard-zhang", zhang).AccessToken

	card := e.ecard(tok)
	if !strings.HasPrefix(card.Payload, "EC1:") || len(card.Payload) > 180 || card.AccountStatus != "01" || card.RefreshAfter >= card.ExpiresAt {
		t.Fatalf("card %+v", card)
	}
	png := e.meGet("/api/v1/me/ecard/qr.png?size=256", tok)
	if png.StatusCode != 200 || png.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(png.body, []byte("\x89PNG")) {
		t.Fatalf("qr %d %q", png.StatusCode, png.Header.Get("Content-Type"))
	}
	wantProblem(t, e.bad().meGet("/api/v1/me/ecard/qr.png?size=64", tok), 400, "request.invalid")

	// A depositor may not verify.
	wantProblem(t, e.do("POST", "/api/v1/ecard/verify", map[string]string{"payload": card.Payload}, bearer(tok)), 403, "auth.forbidden")

	counter := e.verifierToken()
	r := e.do("POST", "/api/v1/ecard/verify", map[string]string{"payload": card.Payload}, bearer(counter))
	if r.StatusCode != 200 {
		t.Fatalf("verify %d %s", r.StatusCode, r.body)
	}
	var v ecardVerdict
	r.json(t, &v)
	if !v.Valid || v.AccountStatus != "01" || v.Holder.Name == zhang.Name || !strings.Contains(v.Holder.Name, "*") ||
		v.Holder.IDNumber == zhang.IDNumber || !strings.Contains(v.Holder.IDNumber, "*") || v.Centre == "" {
		t.Fatalf("verdict %s", r.body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("verify Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	wantProblem(t, e.do("POST", "/api/v1/ecard/verify", map[string]string{"payload": card.Payload}, bearer(counter)), 409, "ecard.replayed")

	u := e.meGet("/api/v1/me/ecard/usage", tok)
	if u.StatusCode != 200 {
		t.Fatalf("usage %d %s", u.StatusCode, u.body)
	}
	var usage struct {
		Items []struct {
			Verifier string `json:"verifier"`
			Result   string `json:"result"`
		} `json:"items"`
	}
	u.json(t, &usage)
	ok := 0
	for _, it := range usage.Items {
		if it.Result == "ok" {
			ok++
			if !strings.Contains(it.Verifier, "demo-counter") {
				t.Errorf("verifier %q", it.Verifier)
			}
		}
	}
	if ok != 1 {
		t.Fatalf("usage %s: want exactly one successful use", u.body)
	}
}

func TestECardKioskDeviceVerifiesAndRejectsGarbage(t *testing.T) {
	t.Parallel()
	e := start(t)
	tok := e.bindWeChat("openid-ecard-zhang-kiosk", e.persona("depositor", "张伟")).AccessToken
	device := e.deviceToken()
	card := e.ecard(tok)

	wantProblem(t, e.do("POST", "/api/v1/ecard/verify", map[string]string{"payload": "not-a-card"}, bearer(device)), 400, "ecard.malformed")
	for _, bad := range []string{"EC1:", "EC1:ZZZ", card.Payload[:len(card.Payload)-1], strings.ToLower(card.Payload)} {
		wantProblem(t, e.do("POST", "/api/v1/ecard/verify", map[string]string{"payload": bad}, bearer(device)), 400, "ecard.malformed")
	}
	forged := card.Payload[:len(card.Payload)-4] + "AAAA"
	if forged == card.Payload {
		forged = card.Payload[:len(card.Payload)-4] + "BBBB"
	}
	wantProblem(t, e.do("POST", "/api/v1/ecard/verify", map[string]string{"payload": forged}, bearer(device)), 422, "ecard.bad_signature")
	wantProblem(t, e.bad().do("POST", "/api/v1/ecard/verify", `{"payload":"x","extra":1}`, bearer(device)), 400, "request.unknown_field")

	r := e.do("POST", "/api/v1/ecard/verify", map[string]string{"payload": card.Payload}, bearer(device))
	if r.StatusCode != 200 {
		t.Fatalf("kiosk verify %d %s", r.StatusCode, r.body)
	}
}
