package keys_test

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"handheld/services/keys"
	"handheld/services/suite"
)

// TestJWKS parses the published set back and checks it against the ring: the
// shape clients rely on, every key of every purpose, and no private material.
// A directory moving from intl to sm publishes both kinds of key.
func TestJWKS(t *testing.T) {
	eachSuite(t, testJWKS)
}

func testJWKS(t *testing.T, s suite.Suite) {
	dir, _ := mustEnsure(t, s)
	other := suite.SM
	if s == suite.SM {
		other = suite.Intl
	}
	added, err := keys.Add(dir, keys.PurposeTokens, t0, other)
	if err != nil {
		t.Fatal(err)
	}
	r := mustLoad(t, dir, s)

	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(r.JWKS(), &set); err != nil {
		t.Fatalf("JWKS is not JSON: %v", err)
	}
	if got, want := len(set.Keys), len(keys.Purposes())+1; got != want {
		t.Fatalf("JWKS has %d keys, want %d (one per purpose plus the added one)", got, want)
	}

	var kids []string
	for _, k := range set.Keys {
		kid, _ := k["kid"].(string)
		kids = append(kids, kid)
		pub, ok := r.Public(kid)
		if !ok {
			t.Errorf("JWKS lists %q, which the ring does not know", kid)
			continue
		}
		fields := []string{"alg", "crv", "key_ops", "kid", "kty", "use", "x"}
		want := map[string]any{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "key_ops": []any{"verify"}}
		if pub.Alg == keys.AlgSM2 {
			fields = append(fields, "y")
			want = map[string]any{"kty": "EC", "crv": "SM2", "alg": "SM2SM3", "use": "sig", "key_ops": []any{"verify"}}
		}
		if diff := cmp.Diff(fields, slices.Sorted(maps.Keys(k))); diff != "" {
			t.Errorf("key %q fields (-want +got):\n%s", kid, diff)
		}
		for f, w := range want {
			if diff := cmp.Diff(w, k[f]); diff != "" {
				t.Errorf("key %q %s (-want +got):\n%s", kid, f, diff)
			}
		}
		for _, f := range []string{"x", "y"} {
			if v, ok := k[f].(string); ok {
				if b, err := base64.RawURLEncoding.DecodeString(v); err != nil || len(b) != 32 {
					t.Errorf("key %q: %s is not 32 bytes of unpadded base64url: %v", kid, f, err)
				}
			}
		}
	}
	if !slices.IsSorted(kids) {
		t.Errorf("JWKS order %v is not sorted by kid", kids)
	}
	if !slices.Contains(kids, added) {
		t.Errorf("JWKS %v lacks the added, not yet current, key %q", kids, added)
	}
	for _, p := range keys.Purposes() {
		if kid := r.Signer(p).KID; !slices.Contains(kids, kid) {
			t.Errorf("JWKS %v lacks the %s signer %q", kids, p, kid)
		}
	}
}

func TestJWKSIsStableAndCopied(t *testing.T) {
	dir, r := mustEnsure(t, suite.SM)
	first := r.JWKS()
	clear(first)
	if diff := cmp.Diff(string(mustLoad(t, dir, suite.SM).JWKS()), string(r.JWKS())); diff != "" {
		t.Errorf("JWKS changed after a caller scribbled on a copy, or differs between loads (-load +ring):\n%s", diff)
	}
}
