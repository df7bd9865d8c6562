package keys_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services/keys"
	"handheld/services/keys/jwkstest"
	"handheld/services/suite"
)

// cst is the centre's zone; kids carry the UTC date, which differs here.
var cst = time.FixedZone("CST", 8*3600)

// t0 is 2025-03-15 02:00 in Beijing, still the 14th in UTC.
var t0 = time.Date(2025, 3, 15, 2, 0, 0, 0, cst)

// eachSuite runs test once under each cryptographic suite.
func eachSuite(t *testing.T, test func(t *testing.T, s suite.Suite)) {
	for _, s := range suite.All() {
		t.Run(s.String(), func(t *testing.T) { test(t, s) })
	}
}

// mustEnsure creates a key directory with every purpose, keys of suite s.
func mustEnsure(t *testing.T, s suite.Suite) (string, *keys.Ring) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	r, err := keys.Ensure(dir, t0, s)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return dir, r
}

func TestEnsureLoadRoundTrip(t *testing.T) {
	eachSuite(t, func(t *testing.T, s suite.Suite) {
		dir, ensured := mustEnsure(t, s)
		loaded, err := keys.Load(dir, s)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		for _, p := range keys.Purposes() {
			signer := ensured.Signer(p)
			kid := signer.KID
			if !strings.HasPrefix(kid, p+"-20250314-") || len(kid) != len(p)+18 {
				t.Errorf("Signer(%q) kid = %q, want %s-20250314-<8 hex>", p, kid, p)
			}
			if signer.Alg != s.Signature() {
				t.Errorf("Signer(%q) alg = %q, want %q", p, signer.Alg, s.Signature())
			}
			if lkid := loaded.Signer(p).KID; lkid != kid {
				t.Errorf("Load signer for %q = %q, Ensure made %q", p, lkid, kid)
			}
			msg := []byte("signed by " + kid)
			sig, err := loaded.Signer(p).Sign(msg)
			if err != nil || len(sig) != keys.SignatureSize {
				t.Fatalf("Sign: %d bytes, %v", len(sig), err)
			}
			pub, ok := loaded.Public(kid)
			if !ok || pub.Purpose != p || pub.Alg != s.Signature() || !pub.Verify(msg, sig) {
				t.Errorf("Public(%q) = %+v, %v; want the signer's public key for %q", kid, pub, ok, p)
			}
			if alg, err := jwkstest.Verify(loaded.JWKS(), kid, msg, sig); err != nil || alg != s.Signature() {
				t.Errorf("the JWKS alone does not verify %s's signature: %s %v", kid, alg, err)
			}
			if sig[0] ^= 1; pub.Verify(msg, sig) {
				t.Errorf("Public(%q) verifies an altered signature", kid)
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
		again, err := keys.Ensure(dir, t0.AddDate(0, 0, 3), s)
		if err != nil {
			t.Fatalf("second Ensure: %v", err)
		}
		for _, p := range keys.Purposes() {
			want := ensured.Signer(p).KID
			if got := again.Signer(p).KID; got != want {
				t.Errorf("second Ensure replaced the %q key %q with %q", p, want, got)
			}
		}
	})
}

func TestRotateKeepsOldKeysVerifying(t *testing.T) {
	eachSuite(t, func(t *testing.T, s suite.Suite) {
		dir, before := mustEnsure(t, s)
		oldKid := before.Signer(keys.PurposeTokens).KID
		msg := []byte("signed before the rotation")
		oldSig, err := before.Signer(keys.PurposeTokens).Sign(msg)
		if err != nil {
			t.Fatal(err)
		}

		newKid, err := keys.Rotate(dir, keys.PurposeTokens, t0.AddDate(0, 1, 0), s)
		if err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		if newKid == oldKid || !strings.HasPrefix(newKid, "tokens-20250414-") {
			t.Fatalf("Rotate kid = %q, want a new tokens-20250414-… (old %q)", newKid, oldKid)
		}
		after, err := keys.Load(dir, s)
		if err != nil {
			t.Fatalf("Load after Rotate: %v", err)
		}
		kid := after.Signer(keys.PurposeTokens).KID
		if kid != newKid {
			t.Errorf("signer after Rotate = %q, want %q", kid, newKid)
		}
		if pub, ok := after.Public(oldKid); !ok || !pub.Verify(msg, oldSig) {
			t.Errorf("old key %q no longer verifies what it signed (present: %v)", oldKid, ok)
		}
		newSig, _ := after.Signer(keys.PurposeTokens).Sign(msg)
		if pub, ok := after.Public(newKid); !ok || !pub.Verify(msg, newSig) {
			t.Errorf("new key %q does not verify its own signature (present: %v)", newKid, ok)
		}
		for _, p := range []string{keys.PurposeECard, keys.PurposeCertificates} {
			b := before.Signer(p).KID
			if a := after.Signer(p).KID; a != b {
				t.Errorf("rotating tokens changed the %q signer from %q to %q", p, b, a)
			}
		}

		// Retire the old key: it disappears, everything else still loads.
		if err := os.Remove(filepath.Join(dir, keys.PurposeTokens, oldKid+".pem")); err != nil {
			t.Fatal(err)
		}
		retired, err := keys.Load(dir, s)
		if err != nil {
			t.Fatalf("Load after retiring %s: %v", oldKid, err)
		}
		if _, ok := retired.Public(oldKid); ok {
			t.Errorf("retired key %q still verifies", oldKid)
		}
	})
}

func TestAddThenPromote(t *testing.T) {
	eachSuite(t, func(t *testing.T, s suite.Suite) {
		dir, before := mustEnsure(t, s)
		oldKid := before.Signer(keys.PurposeECard).KID
		kid, err := keys.Add(dir, keys.PurposeECard, t0, s)
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		added, err := keys.Load(dir, s)
		if err != nil {
			t.Fatal(err)
		}
		if got := added.Signer(keys.PurposeECard).KID; got != oldKid {
			t.Errorf("after Add the signer is %q, want still %q", got, oldKid)
		}
		if pub, ok := added.Public(kid); !ok || pub.Purpose != keys.PurposeECard {
			t.Errorf("added key %q: present %v purpose %q, want verifying for ecard", kid, ok, pub.Purpose)
		}

		if err := keys.Promote(dir, keys.PurposeECard, kid, s); err != nil {
			t.Fatalf("Promote: %v", err)
		}
		promoted, err := keys.Load(dir, s)
		if err != nil {
			t.Fatal(err)
		}
		if got := promoted.Signer(keys.PurposeECard).KID; got != kid {
			t.Errorf("after Promote the signer is %q, want %q", got, kid)
		}

		for _, bad := range []string{"ecard-20250314-00000000", oldKid[:len(oldKid)-1], strings.Replace(kid, "ecard", "tokens", 1)} {
			if err := keys.Promote(dir, keys.PurposeECard, bad, s); err == nil {
				t.Errorf("Promote(%q) succeeded, want an error", bad)
			}
		}
		if got := mustLoad(t, dir, s).Signer(keys.PurposeECard).KID; got != kid {
			t.Errorf("a failed Promote changed the signer to %q", got)
		}
	})
}

func TestLoadSubsetAndUnknownPurpose(t *testing.T) {
	eachSuite(t, func(t *testing.T, s suite.Suite) {
		dir, _ := mustEnsure(t, s)
		r, err := keys.Load(dir, s, keys.PurposeTokens)
		if err != nil {
			t.Fatal(err)
		}
		if signer := r.Signer(keys.PurposeECard); signer.KID != "" || signer.Alg != "" {
			t.Errorf("Signer(ecard) on a tokens-only ring = %+v; want the zero Signer", signer)
		}
		if _, err := r.Signer(keys.PurposeECard).Sign([]byte("x")); err == nil {
			t.Error("the zero Signer signed")
		}
		for _, p := range []string{"token", "../tokens", ""} {
			if _, err := keys.Load(dir, s, p); err == nil || !strings.Contains(err.Error(), "unknown purpose") {
				t.Errorf("Load(dir, %q) error = %v, want unknown purpose", p, err)
			}
		}
		if _, err := keys.Rotate(dir, "token", t0, s); err == nil {
			t.Error("Rotate with an unknown purpose succeeded")
		}
	})
}

func TestIgnoresInterruptedRotation(t *testing.T) {
	eachSuite(t, func(t *testing.T, s suite.Suite) {
		dir, _ := mustEnsure(t, s)
		tmp := filepath.Join(dir, keys.PurposeTokens, ".tokens-20250314-0badf00d.pem.123.tmp")
		if err := os.WriteFile(tmp, []byte("half a key"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := keys.Load(dir, s); err != nil {
			t.Errorf("Load with a leftover temp file: %v", err)
		}
	})
}

func mustLoad(t *testing.T, dir string, s suite.Suite) *keys.Ring {
	t.Helper()
	r, err := keys.Load(dir, s)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return r
}

// TestSwitchingSuites moves a key directory from intl to sm and back: the
// embedded profile's Ensure rotates every purpose to the suite in force,
// what the old keys signed still verifies, and Load and Promote refuse a
// current key of the other suite.
func TestSwitchingSuites(t *testing.T) {
	dir, intl := mustEnsure(t, suite.Intl)
	msg := []byte("signed under intl")
	oldKid := intl.Signer(keys.PurposeTokens).KID
	oldSig, err := intl.Signer(keys.PurposeTokens).Sign(msg)
	if err != nil {
		t.Fatal(err)
	}

	_, err = keys.Load(dir, suite.SM)
	if err == nil || !strings.Contains(err.Error(), "EdDSA but the suite is sm") || !strings.Contains(err.Error(), "keys rotate") {
		t.Fatalf("Load(sm) of an intl directory = %v, want the suite refused with the rotation named", err)
	}
	smKid, err := keys.Add(dir, keys.PurposeTokens, t0, suite.SM)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Promote(dir, keys.PurposeTokens, smKid, suite.Intl); err == nil {
		t.Error("Promote made an SM2 key current under intl")
	}

	sm, err := keys.Ensure(dir, t0.AddDate(0, 0, 1), suite.SM)
	if err != nil {
		t.Fatalf("Ensure(sm) over an intl directory: %v", err)
	}
	for _, p := range keys.Purposes() {
		if got := sm.Signer(p); got.Alg != keys.AlgSM2 || got.KID == intl.Signer(p).KID {
			t.Errorf("after Ensure(sm) the %s signer is %s (%s), want a new SM2 key", p, got.KID, got.Alg)
		}
	}
	if pub, ok := sm.Public(oldKid); !ok || pub.Alg != keys.AlgEdDSA || !pub.Verify(msg, oldSig) {
		t.Errorf("the intl key %s no longer verifies under sm (present %v)", oldKid, ok)
	}
	if pub, ok := sm.Public(smKid); !ok || pub.Alg != keys.AlgSM2 {
		t.Errorf("the added SM2 key %s is not in the ring", smKid)
	}
	if _, err := keys.Load(dir, suite.Intl); err == nil {
		t.Error("Load(intl) accepted SM2 current keys")
	}
	back, err := keys.Ensure(dir, t0.AddDate(0, 0, 2), suite.Intl)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Signer(keys.PurposeTokens).Alg; got != keys.AlgEdDSA {
		t.Errorf("back under intl the tokens signer is %s", got)
	}
}
