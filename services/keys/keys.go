// Package keys holds the signing keys of handheld, one set per
// purpose, so that access tokens, e-card payloads and certificates can be
// signed by keys that rotate independently and can never stand in for each
// other.
//
// On disk a purpose is a directory of PKCS#8 PEM private keys named by key id,
// plus a file "current" naming the one that signs:
//
//	<dir>/tokens/tokens-20250101-1a2b3c4d.pem   (0600)
//	<dir>/tokens/current                        "tokens-20250101-1a2b3c4d"
//
// Every key present verifies; only current signs. That is what makes rotation
// free of forced logouts: add a key, make it current, and delete the old file
// once the longest lifetime of anything it signed has passed.
//
// A key is Ed25519 or SM2, as the cryptographic suite (services/suite) in
// force generates it; the current key of every purpose must be of that
// suite, while any key present verifies whatever its algorithm, so moving
// from one suite to the other is a rotation.
package keys

import (
	"fmt"
	"regexp"
	"slices"
)

// The purposes a key can serve. A key id starts with its purpose, so a verifier
// can tell at a glance (and the ring can enforce) what a key is for.
const (
	PurposeTokens       = "tokens"
	PurposeECard        = "ecard"
	PurposeCertificates = "certificates"
	// PurposeShares signs the consented yes/no answers a relying party
	// redeems (services/share).
	PurposeShares = "shares"
)

// Purposes lists every known purpose. Loading refuses others so that a typo in
// configuration fails at start-up instead of creating a stray key directory.
func Purposes() []string {
	return []string{PurposeTokens, PurposeECard, PurposeCertificates, PurposeShares}
}

// CurrentFile names the file in a purpose directory that holds the kid in
// use: the one that signs, or for the sealing ring (services/seal) the one that seals.
const CurrentFile = "current"

// kidPattern is <purpose>-<yyyymmdd>-<8 hex>; the date tells an operator how
// old a key is, the random part keeps two rotations on one day apart.
var kidPattern = regexp.MustCompile(`^([a-z]+)-([0-9]{8})-([0-9a-f]{8})$`)

// checkPurposes defaults an empty list to every purpose and rejects unknown
// or repeated names.
func checkPurposes(purposes []string) ([]string, error) {
	if len(purposes) == 0 {
		return Purposes(), nil
	}
	seen := make(map[string]bool, len(purposes))
	for _, p := range purposes {
		if !slices.Contains(Purposes(), p) {
			return nil, fmt.Errorf("keys: unknown purpose %q (want one of %v)", p, Purposes())
		}
		if seen[p] {
			return nil, fmt.Errorf("keys: purpose %q listed twice", p)
		}
		seen[p] = true
	}
	return purposes, nil
}

// CheckKeyID reports whether kid is well formed and belongs to purpose.
// Every key directory, signing or sealing, names its keys this way.
func CheckKeyID(kid, purpose string) error {
	m := kidPattern.FindStringSubmatch(kid)
	if m == nil {
		return fmt.Errorf("key id %q is not of the form %s-yyyymmdd-<8 hex>", kid, purpose)
	}
	if m[1] != purpose {
		return fmt.Errorf("key id %q belongs to purpose %q, not %q", kid, m[1], purpose)
	}
	return nil
}

// Ring is the loaded, immutable set of keys. It is safe for concurrent use;
// to pick up a rotation, load a new Ring.
type Ring struct {
	signers map[string]Signer // by purpose
	public  map[string]Public // by kid, every purpose
	jwks    []byte
}

// Signer returns the current key of purpose, the only one that should sign.
// It returns the zero Signer (empty KID) when the ring was not loaded with
// that purpose, so constructors can check once at start-up.
func (r *Ring) Signer(purpose string) Signer {
	return r.signers[purpose]
}

// Public returns the verifying key for kid with its algorithm and purpose,
// so the caller can refuse a key of another purpose (an e-card key must
// never verify an access token) or another algorithm than a header names.
// Retired keys are simply absent.
func (r *Ring) Public(kid string) (Public, bool) {
	p, ok := r.public[kid]
	return p, ok
}

// JWKS returns the public keys of every purpose as a JSON Web Key Set
// (RFC 7517: Ed25519 keys as OKP per RFC 8037, SM2 keys as EC on the
// curve "SM2"), sorted by kid, for
// /.well-known/jwks.json. It is computed once at load; each call returns a
// fresh copy the caller may keep.
func (r *Ring) JWKS() []byte {
	return slices.Clone(r.jwks)
}
