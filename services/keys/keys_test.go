package keys_test

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services/keys"
)

// cst is the centre's zone; kids carry the UTC date, which differs here.
var cst = time.FixedZone("CST", 8*3600)

// t0 is 2025-03-15 02:00 in Beijing, still the 14th in UTC.
var t0 = time.Date(2025, 3, 15, 2, 0, 0, 0, cst)

// mustEnsure creates a key directory with every purpose.
func mustEnsure(t *testing.T) (string, *keys.Ring) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	r, err := keys.Ensure(dir, t0)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return dir, r
}

func TestEnsureLoadRoundTrip(t *testing.T) {
	dir, ensured := mustEnsure(t)
	loaded, err := keys.Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, p := range keys.Purposes() {
		kid, priv := ensured.Signer(p)
		if !strings.HasPrefix(kid, p+"-20250314-") || len(kid) != len(p)+18 {
			t.Errorf("Signer(%q) kid = %q, want %s-20250314-<8 hex>", p, kid, p)
		}
		lkid, lpriv := loaded.Signer(p)
		if lkid != kid || !lpriv.Equal(priv) {
			t.Errorf("Load signer for %q = %q, Ensure made %q (or keys differ)", p, lkid, kid)
		}
		pub, purpose, ok := loaded.Public(kid)
		if !ok || purpose != p || !pub.Equal(priv.Public()) {
			t.Errorf("Public(%q) = _, %q, %v; want the signer's public key for %q", kid, purpose, ok, p)
		}
		info, err := os.Stat(filepath.Join(dir, p, kid+".pem"))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != 0o600 {
			t.Errorf("%s.pem mode = %#o, want 0600", kid, got)
		}
	}
	if diff := cmp.Diff(string(ensured.JWKS()), string(loaded.JWKS())); diff != "" {
		t.Errorf("JWKS differs between Ensure and Load (-ensure +load):\n%s", diff)
	}

	// A second Ensure, days later, keeps the existing keys.
	again, err := keys.Ensure(dir, t0.AddDate(0, 0, 3))
	if err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	for _, p := range keys.Purposes() {
		want, _ := ensured.Signer(p)
		if got, _ := again.Signer(p); got != want {
			t.Errorf("second Ensure replaced the %q key %q with %q", p, want, got)
		}
	}
}

func TestRotateKeepsOldKeysVerifying(t *testing.T) {
	dir, before := mustEnsure(t)
	oldKid, oldKey := before.Signer(keys.PurposeTokens)
	msg := []byte("signed before the rotation")
	oldSig := ed25519.Sign(oldKey, msg)

	newKid, err := keys.Rotate(dir, keys.PurposeTokens, t0.AddDate(0, 1, 0))
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if newKid == oldKid || !strings.HasPrefix(newKid, "tokens-20250414-") {
		t.Fatalf("Rotate kid = %q, want a new tokens-20250414-… (old %q)", newKid, oldKid)
	}
	after, err := keys.Load(dir)
	if err != nil {
		t.Fatalf("Load after Rotate: %v", err)
	}
	kid, key := after.Signer(keys.PurposeTokens)
	if kid != newKid {
		t.Errorf("signer after Rotate = %q, want %q", kid, newKid)
	}
	if pub, _, ok := after.Public(oldKid); !ok || !ed25519.Verify(pub, msg, oldSig) {
		t.Errorf("old key %q no longer verifies what it signed (present: %v)", oldKid, ok)
	}
	newSig := ed25519.Sign(key, msg)
	if pub, _, ok := after.Public(newKid); !ok || !ed25519.Verify(pub, msg, newSig) {
		t.Errorf("new key %q does not verify its own signature (present: %v)", newKid, ok)
	}
	for _, p := range []string{keys.PurposeECard, keys.PurposeCertificates} {
		b, _ := before.Signer(p)
		if a, _ := after.Signer(p); a != b {
			t.Errorf("rotating tokens changed the %q signer from %q to %q", p, b, a)
		}
	}

	// Retire the old key: it disappears, everything else still loads.
	if err := os.Remove(filepath.Join(dir, keys.PurposeTokens, oldKid+".pem")); err != nil {
		t.Fatal(err)
	}
	retired, err := keys.Load(dir)
	if err != nil {
		t.Fatalf("Load after retiring %s: %v", oldKid, err)
	}
	if _, _, ok := retired.Public(oldKid); ok {
		t.Errorf("retired key %q still verifies", oldKid)
	}
}

func TestAddThenPromote(t *testing.T) {
	dir, before := mustEnsure(t)
	oldKid, _ := before.Signer(keys.PurposeECard)
	kid, err := keys.Add(dir, keys.PurposeECard, t0)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	added, err := keys.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := added.Signer(keys.PurposeECard); got != oldKid {
		t.Errorf("after Add the signer is %q, want still %q", got, oldKid)
	}
	if _, purpose, ok := added.Public(kid); !ok || purpose != keys.PurposeECard {
		t.Errorf("added key %q: present %v purpose %q, want verifying for ecard", kid, ok, purpose)
	}

	if err := keys.Promote(dir, keys.PurposeECard, kid); err != nil {
		t.Fatalf("Promote: %v", err)
	}
	promoted, err := keys.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := promoted.Signer(keys.PurposeECard); got != kid {
		t.Errorf("after Promote the signer is %q, want %q", got, kid)
	}

	for _, bad := range []string{"ecard-20250314-00000000", oldKid[:len(oldKid)-1], strings.Replace(kid, "ecard", "tokens", 1)} {
		if err := keys.Promote(dir, keys.PurposeECard, bad); err == nil {
			t.Errorf("Promote(%q) succeeded, want an error", bad)
		}
	}
	if got, _ := mustLoad(t, dir).Signer(keys.PurposeECard); got != kid {
		t.Errorf("a failed Promote changed the signer to %q", got)
	}
}

func TestLoadSubsetAndUnknownPurpose(t *testing.T) {
	dir, _ := mustEnsure(t)
	r, err := keys.Load(dir, keys.PurposeTokens)
	if err != nil {
		t.Fatal(err)
	}
	if kid, key := r.Signer(keys.PurposeECard); kid != "" || key != nil {
		t.Errorf("Signer(ecard) on a tokens-only ring = %q, %v; want zero values", kid, key)
	}
	for _, p := range []string{"token", "../tokens", ""} {
		if _, err := keys.Load(dir, p); err == nil || !strings.Contains(err.Error(), "unknown purpose") {
			t.Errorf("Load(dir, %q) error = %v, want unknown purpose", p, err)
		}
	}
	if _, err := keys.Rotate(dir, "token", t0); err == nil {
		t.Error("Rotate with an unknown purpose succeeded")
	}
}

func TestIgnoresInterruptedRotation(t *testing.T) {
	dir, _ := mustEnsure(t)
	tmp := filepath.Join(dir, keys.PurposeTokens, ".tokens-20250314-0badf00d.pem.123.tmp")
	if err := os.WriteFile(tmp, []byte("half a key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Load(dir); err != nil {
		t.Errorf("Load with a leftover temp file: %v", err)
	}
}

func mustLoad(t *testing.T, dir string) *keys.Ring {
	t.Helper()
	r, err := keys.Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return r
}
