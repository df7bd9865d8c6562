package token_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"handheld/services"
	"handheld/services/keys"
	"handheld/services/suite"
	"handheld/services/token"
)

// attacker holds what the attack tests forge with: the current tokens key,
// an e-card key, and a tokens key that has been retired from the ring.
type attacker struct {
	*fixture
	cached     *token.Tokens
	retiredKid string
	retired    keys.Signer
}

func newAttacker(t *testing.T) *attacker {
	f := newFixture(t, 0)
	a := &attacker{fixture: f}
	a.retired = f.ring.Signer(keys.PurposeTokens)
	a.retiredKid = a.retired.KID
	if _, err := keys.Rotate(f.dir, keys.PurposeTokens, f.clock.Now(), suite.Env()); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(f.dir, keys.PurposeTokens, a.retiredKid+".pem")); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.ring, err = keys.Load(f.dir, suite.Env()); err != nil {
		t.Fatal(err)
	}
	if f.tokens, err = token.New(config(f.clock, 0), f.ring); err != nil {
		t.Fatal(err)
	}
	if a.cached, err = token.New(config(f.clock, 1000), f.ring); err != nil {
		t.Fatal(err)
	}
	return a
}

// forge builds a token from a valid header and claim set after edit has had
// its way with them, signed by sign (the current tokens key when nil).
func (a *attacker) forge(edit func(h, c map[string]any), sign func(input []byte) []byte) string {
	now := a.clock.Now().Unix()
	signer := a.ring.Signer(keys.PurposeTokens)
	h := map[string]any{"alg": signer.Alg, "typ": "at+jwt", "kid": signer.KID}
	c := map[string]any{"iss": issuer, "aud": audience, "sub": "s_1", "chn": "miniapp", "role": "depositor",
		"sid": "sess_1", "iat": now, "nbf": now, "exp": now + 300, "jti": "j1", "acr": "phone", "auth_time": now - 60}
	if edit != nil {
		edit(h, c)
	}
	if sign == nil {
		sign = signWith(signer)
	}
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(h) + "." + enc(c)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
}

func signWith(key keys.Signer) func([]byte) []byte {
	return func(in []byte) []byte {
		sig, err := key.Sign(in)
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func TestForgedControlVerifies(t *testing.T) {
	a := newAttacker(t)
	if _, err := a.tokens.Verify(a.forge(nil, nil)); err != nil {
		t.Fatalf("the unedited forgery must verify, or the attacks below prove nothing: %v", err)
	}
}

func TestAttacks(t *testing.T) {
	a := newAttacker(t)
	now := a.clock.Now().Unix()
	ecard := a.ring.Signer(keys.PurposeECard)
	ecardKid := ecard.KID
	// The HMAC secret an attacker would try: the public key as published.
	pub := a.ring.JWKS()
	otherAlg := keys.AlgSM2
	if suite.Env() == suite.SM {
		otherAlg = keys.AlgEdDSA
	}
	set := func(h, c map[string]any) func(map[string]any, map[string]any) {
		return func(hh, cc map[string]any) {
			for k, v := range h {
				hh[k] = v
			}
			for k, v := range c {
				cc[k] = v
			}
		}
	}
	drop := func(hk, ck string) func(h, c map[string]any) {
		return func(h, c map[string]any) { delete(h, hk); delete(c, ck) }
	}
	valid := a.forge(nil, nil)
	parts := strings.Split(valid, ".")
	other := strings.Split(a.forge(set(nil, map[string]any{"sub": "s_2"}), nil), ".")

	tests := []struct {
		name  string
		token string
		code  services.Code
		cause string // a substring of the cause, proving the token failed for this reason
	}{
		{"empty", "", services.CodeTokenMissing, ""},
		{"alg none", a.forge(set(map[string]any{"alg": "none"}, nil), func([]byte) []byte { return nil }),
			services.CodeTokenInvalid, "signing method none is invalid"},
		{"HS256 keyed with the public key", a.forge(set(map[string]any{"alg": "HS256"}, nil), func(in []byte) []byte {
			m := hmac.New(sha256.New, pub)
			m.Write(in)
			return m.Sum(nil)
		}), services.CodeTokenInvalid, "signing method HS256 is invalid"},
		{"RS256 header", a.forge(set(map[string]any{"alg": "RS256"}, nil), nil), services.CodeTokenInvalid, "signing method RS256 is invalid"},
		{"unknown alg", a.forge(set(map[string]any{"alg": "Ed448"}, nil), nil), services.CodeTokenInvalid, "unavailable"},
		{"alg of the other suite", a.forge(set(map[string]any{"alg": otherAlg}, nil), nil), services.CodeTokenInvalid, "the header says"},
		{"unknown kid", a.forge(set(map[string]any{"kid": "tokens-20990101-00000000"}, nil), nil), services.CodeTokenInvalid, "unknown kid"},
		{"missing kid", a.forge(drop("kid", ""), nil), services.CodeTokenInvalid, "no kid"},
		{"kid not a string", a.forge(set(map[string]any{"kid": 7}, nil), nil), services.CodeTokenInvalid, "no kid"},
		{"retired key", a.forge(set(map[string]any{"kid": a.retiredKid}, nil), signWith(a.retired)),
			services.CodeTokenInvalid, "unknown kid"},
		{"e-card key", a.forge(set(map[string]any{"kid": ecardKid}, nil), signWith(ecard)),
			services.CodeTokenInvalid, "belongs to purpose ecard"},
		{"tokens kid, e-card signature", a.forge(nil, signWith(ecard)), services.CodeTokenInvalid, "signature is invalid"},
		{"wrong aud", a.forge(set(nil, map[string]any{"aud": "kiosk-admin"}), nil), services.CodeTokenInvalid, "invalid audience"},
		{"missing aud", a.forge(drop("", "aud"), nil), services.CodeTokenInvalid, "aud claim is required"},
		{"wrong iss", a.forge(set(nil, map[string]any{"iss": "https://evil.example"}), nil), services.CodeTokenInvalid, "invalid issuer"},
		{"missing iss", a.forge(drop("", "iss"), nil), services.CodeTokenInvalid, "iss claim is required"},
		{"expired beyond leeway", a.forge(set(nil, map[string]any{"iat": now - 600, "nbf": now - 600, "exp": now - 6}), nil),
			services.CodeTokenExpired, "token is expired"},
		{"expired and for another audience", a.forge(set(nil, map[string]any{"exp": now - 60, "aud": "other"}), nil),
			services.CodeTokenInvalid, "invalid audience"},
		{"not yet valid", a.forge(set(nil, map[string]any{"nbf": now + 6}), nil), services.CodeTokenInvalid, "not valid yet"},
		{"issued in the future", a.forge(set(nil, map[string]any{"iat": now + 6}), nil), services.CodeTokenInvalid, "used before issued"},
		{"missing exp", a.forge(drop("", "exp"), nil), services.CodeTokenInvalid, "exp claim is required"},
		{"missing iat", a.forge(drop("", "iat"), nil), services.CodeTokenInvalid, "no iat"},
		{"exp of the wrong type", a.forge(set(nil, map[string]any{"exp": "soon"}), nil), services.CodeTokenInvalid, "could not JSON decode claim"},
		{"truncated", valid[:len(valid)-10], services.CodeTokenInvalid, "signature is invalid"},
		{"signature cut off", parts[0] + "." + parts[1], services.CodeTokenInvalid, "invalid number of segments"},
		{"empty signature", parts[0] + "." + parts[1] + ".", services.CodeTokenInvalid, "signature is invalid"},
		{"oversized (8 KiB)", a.forge(set(nil, map[string]any{"pad": strings.Repeat("A", 8<<10)}), nil),
			services.CodeTokenInvalid, "over the 4096 limit"},
		{"garbage", "not-a-token", services.CodeTokenInvalid, "invalid number of segments"},
		{"garbage segments", "a.b.c", services.CodeTokenInvalid, "malformed"},
		{"spliced signature", parts[0] + "." + parts[1] + "." + other[2], services.CodeTokenInvalid, "signature is invalid"},
		{"non-canonical base64 signature", parts[0] + "." + parts[1] + "." + flipUnusedBit(parts[2]),
			services.CodeTokenInvalid, "base64"},
		{"typ JWT", a.forge(set(map[string]any{"typ": "JWT"}, nil), nil), services.CodeTokenInvalid, "typ is not at+jwt"},
		{"typ missing", a.forge(drop("typ", ""), nil), services.CodeTokenInvalid, "typ is not at+jwt"},
		{"crit header", a.forge(set(map[string]any{"crit": []string{"exp"}}, nil), nil), services.CodeTokenInvalid, "crit"},
		{"unknown role", a.forge(set(nil, map[string]any{"role": "admin"}), nil), services.CodeTokenInvalid, "claims: role"},
		{"unit on a depositor", a.forge(set(nil, map[string]any{"unit": "91350100M000100Y43"}), nil), services.CodeTokenInvalid, "unit"},
		{"depositor without acr", a.forge(drop("", "acr"), nil), services.CodeTokenInvalid, "acr must be set"},
		{"made-up acr", a.forge(set(nil, map[string]any{"acr": "loa4"}), nil), services.CodeTokenInvalid, "not an assurance class"},
		{"acr without auth_time", a.forge(drop("", "auth_time"), nil), services.CodeTokenInvalid, "auth_time goes with acr"},
		{"auth_time after iat", a.forge(set(nil, map[string]any{"auth_time": now + 600}), nil), services.CodeTokenInvalid, "auth_time is after iat"},
		{"auth_time of the wrong type", a.forge(set(nil, map[string]any{"auth_time": "now"}), nil), services.CodeTokenInvalid, "could not JSON decode claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, verify := range map[string]func(string) (token.Claims, error){
				"Verify": a.cached.Verify, "VerifyNoCache": a.tokens.VerifyNoCache,
			} {
				got, err := verify(tt.token)
				var e *services.Error
				if !errors.As(err, &e) {
					t.Fatalf("%s = %+v, %v; want a *services.Error", name, got, err)
				}
				if e.Code != tt.code || !strings.Contains(err.Error(), tt.cause) {
					t.Errorf("%s error = %q, want code %s with a cause mentioning %q", name, err, tt.code, tt.cause)
				}
				if name == "Verify" {
					t.Log(err)
				}
				if echoes(err.Error(), tt.token) || strings.Contains(err.Error(), "soon") {
					t.Errorf("%s error %q quotes the token", name, err)
				}
			}
		})
	}
}

// TestLeewayAndAlternatives are tokens that look odd but are valid, so the
// attacks above cannot pass by rejecting everything unusual.
func TestLeewayAndAlternatives(t *testing.T) {
	a := newAttacker(t)
	now := a.clock.Now().Unix()
	for name, edit := range map[string]func(h, c map[string]any){
		"expired within leeway":     func(h, c map[string]any) { c["exp"] = now - 3 },
		"nbf within leeway":         func(h, c map[string]any) { c["nbf"] = now + 3 },
		"iat within leeway":         func(h, c map[string]any) { c["iat"] = now + 3 },
		"aud as an array":           func(h, c map[string]any) { c["aud"] = []string{"other", audience} },
		"typ as a media type":       func(h, c map[string]any) { h["typ"] = "application/at+jwt" },
		"kiosk citizen with device": func(h, c map[string]any) { c["chn"], c["dev"] = "kiosk", "k1" },
		"employer with a unit scope": func(h, c map[string]any) {
			c["chn"], c["role"], c["unit"] = "app", "employer", "U1"
			delete(c, "acr")
			delete(c, "auth_time")
		},
	} {
		if _, err := a.tokens.Verify(a.forge(edit, nil)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// flipUnusedBit changes the last character of a base64url segment in bits
// the decoder ignores unless strict, giving a second spelling of one value.
func flipUnusedBit(seg string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[last^1])
}

// echoes reports whether msg contains the token or any long part of it.
func echoes(msg, tok string) bool {
	for _, p := range append(strings.Split(tok, "."), tok) {
		if len(p) >= 16 && strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
