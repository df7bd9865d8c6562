package e2e

import (
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"handheld/services/keys"
)

// Forged and stale tokens are refused over HTTP with stable codes; the
// token package's own tests cover the full list of attacks.
func TestForgedTokensAreRefused(t *testing.T) {
	t.Parallel()
	e := start(t)
	good := e.bindWeChat("oForge000000001", e.persona("depositor", "张伟")).AccessToken
	ring, err := keys.Load(filepath.Join(e.cfg.DataDir, "keys"), e.cfg.Suite(), keys.Purposes()...)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])

	sign := func(purpose string, edit func(jwt.MapClaims)) string {
		signer := ring.Signer(purpose)
		c := jwt.MapClaims{"iss": "handheld", "aud": "handheld", "sub": "s_someone", "chn": "miniapp", "role": "depositor",
			"sid": "ses_x", "iat": time.Now().Unix(), "nbf": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(), "jti": "j",
			"acr": "face", "auth_time": time.Now().Unix()}
		edit(c)
		method, key := signer.JWT()
		tok := jwt.NewWithClaims(method, c)
		tok.Header["kid"] = signer.KID
		tok.Header["typ"] = "at+jwt"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + "."
	cases := map[string]struct {
		token, code string
	}{
		"alg none":               {none, "auth.token_invalid"},
		"signature from another": {parts[0] + "." + base64.RawURLEncoding.EncodeToString(append(claims, ' ')) + "." + parts[2], "auth.token_invalid"},
		"e-card key":             {sign(keys.PurposeECard, func(jwt.MapClaims) {}), "auth.token_invalid"},
		"wrong audience":         {sign(keys.PurposeTokens, func(c jwt.MapClaims) { c["aud"] = "elsewhere" }), "auth.token_invalid"},
		"expired":                {sign(keys.PurposeTokens, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), "auth.token_expired"},
		"truncated":              {good[:len(good)-10], "auth.token_invalid"},
		"depositor without acr":  {sign(keys.PurposeTokens, func(c jwt.MapClaims) { delete(c, "acr") }), "auth.token_invalid"},
		"made-up acr":            {sign(keys.PurposeTokens, func(c jwt.MapClaims) { c["acr"] = "loa9" }), "auth.token_invalid"},
		"oversized":              {good + strings.Repeat("A", 5000), "auth.token_invalid"},
		"garbage":                {"not-a-token", "auth.token_invalid"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			wantProblem(t, e.do("GET", "/api/v1/me/session", nil, bearer(tc.token)), 401, tc.code)
		})
	}
	// The control: the same forging code with nothing changed is accepted,
	// so each refusal above is for the reason it names.
	if r := e.do("GET", "/api/v1/me/session", nil, bearer(sign(keys.PurposeTokens, func(jwt.MapClaims) {}))); r.StatusCode != 200 {
		t.Fatalf("control token refused: %d %s", r.StatusCode, r.body)
	}
}
