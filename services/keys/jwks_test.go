package keys_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"handheld/services/keys"
)

// TestJWKS parses the published set back and checks it against the ring: the
// shape clients rely on, every key of every purpose, and no private material.
func TestJWKS(t *testing.T) {
	dir, _ := mustEnsure(t)
	added, err := keys.Add(dir, keys.PurposeTokens, t0)
	if err != nil {
		t.Fatal(err)
	}
	r := mustLoad(t, dir)

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
		fields := slices.Sorted(maps.Keys(k))
		if diff := cmp.Diff([]string{"alg", "crv", "key_ops", "kid", "kty", "use", "x"}, fields); diff != "" {
			t.Errorf("key %q fields (-want +got):\n%s", kid, diff)
		}
		want := map[string]any{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "key_ops": []any{"verify"}}
		for f, w := range want {
			if diff := cmp.Diff(w, k[f]); diff != "" {
				t.Errorf("key %q %s (-want +got):\n%s", kid, f, diff)
			}
		}
		pub, _, ok := r.Public(kid)
		if !ok {
			t.Errorf("JWKS lists %q, which the ring does not know", kid)
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(k["x"].(string))
		if err != nil {
			t.Errorf("key %q: x is not unpadded base64url: %v", kid, err)
		}
		if !ed25519.PublicKey(x).Equal(pub) {
			t.Errorf("key %q: x decodes to %x, want %x", kid, x, []byte(pub))
		}
	}
	if !slices.IsSorted(kids) {
		t.Errorf("JWKS order %v is not sorted by kid", kids)
	}
	if !slices.Contains(kids, added) {
		t.Errorf("JWKS %v lacks the added, not yet current, key %q", kids, added)
	}
	for _, p := range keys.Purposes() {
		if kid, _ := r.Signer(p); !slices.Contains(kids, kid) {
			t.Errorf("JWKS %v lacks the %s signer %q", kids, p, kid)
		}
	}
}

func TestJWKSIsStableAndCopied(t *testing.T) {
	dir, r := mustEnsure(t)
	first := r.JWKS()
	clear(first)
	if diff := cmp.Diff(string(mustLoad(t, dir).JWKS()), string(r.JWKS())); diff != "" {
		t.Errorf("JWKS changed after a caller scribbled on a copy, or differs between loads (-load +ring):\n%s", diff)
	}
}
