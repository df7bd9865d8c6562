// Package seal keeps personal data sealed at rest: names, ID numbers,
// phones, card and wallet numbers, certificate documents and PDFs are
// stored encrypted under a key ring, so a copy of the database, a backup
// or a stray dump reads as noise: with AES-256-GCM under a 32-byte key, or
// SM4-GCM under a 16-byte one, the cipher of the cryptographic suite
// (services/suite) the key was made under.
//
// A sealed value carries the id of the key that sealed it:
//
//	hs1.<kid>.<nonce|ciphertext|tag>            bytes (BYTEA, BLOB columns)
//	hs1.<kid>.<base64url(nonce|ciphertext|tag)> text (TEXT columns)
//
// so keys rotate without rewriting anything: a new key seals from the moment
// it is current, every key still in the ring opens what it sealed, and
// `handheld keys reseal` moves old rows to the current key at its own pace.
//
// Each value is bound to its place — table, column and row key — as
// additional authenticated data: a value copied onto another row, or into
// another column of the same row, does not open. The store's owning
// packages name the place (services/store.Place); this package only does
// the cryptography and keeps the keys.
package seal

import (
	"bytes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"handheld/services/store"
	"handheld/services/suite"
)

// Purpose is the key directory of the sealing ring under the keys
// directory, beside the signing purposes of services/keys.
const Purpose = "sealing"

// prefix starts every sealed value. Plain data never starts with it (cards
// and wallets are digits, documents JSON, PDFs %PDF), which is what lets the
// sealing step of migration 0010 tell old plain rows from sealed ones.
const prefix = "hs1."

// nonceSize and tagSize are those of cipher.NewGCMWithRandomNonce.
const nonceSize, tagSize = 12, 16

// Errors a caller can tell apart. Neither names a value: the cause is
// logged, and a log line must never carry personal data.
var (
	// ErrBroken: the value is not sealed, is cut, was altered, or was sealed
	// for another place.
	ErrBroken = errors.New("seal: sealed value does not open (not sealed, altered, or moved from another row or column)")
	// ErrUnknownKey: the value names a key the ring does not hold — its
	// file was removed before every row sealed with it was resealed.
	ErrUnknownKey = errors.New("seal: the key that sealed this value is not in the ring")
)

// Ring is the loaded set of sealing keys, immutable and safe for concurrent
// use. It implements store.Sealer.
type Ring struct {
	current string
	suite   suite.Suite // the current key's
	aeads   map[string]cipher.AEAD
}

// keySuite is the suite whose cipher a raw key of this length is for.
func keySuite(key []byte) (suite.Suite, error) {
	for _, s := range suite.All() {
		if len(key) == s.KeySize() {
			return s, nil
		}
	}
	return "", fmt.Errorf("%d bytes, want 32 (AES-256, intl) or 16 (SM4, sm)", len(key))
}

// NewRing builds a ring from raw keys by key id, 32 bytes for AES-256-GCM
// or 16 for SM4-GCM; current seals. Load and Ensure read them from a keys
// directory; tests build one here.
func NewRing(current string, keys map[string][]byte) (*Ring, error) {
	r := &Ring{current: current, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, kid := range slices.Sorted(maps.Keys(keys)) {
		if kid == "" || strings.Contains(kid, ".") {
			return nil, fmt.Errorf("seal: key id %q: empty or holds a dot", kid)
		}
		s, err := keySuite(keys[kid])
		if err != nil {
			return nil, fmt.Errorf("seal: key %s has %w", kid, err)
		}
		if r.aeads[kid], err = s.AEAD(keys[kid]); err != nil {
			return nil, fmt.Errorf("seal: key %s: %w", kid, err)
		}
		if kid == current {
			r.suite = s
		}
	}
	if _, ok := r.aeads[current]; !ok {
		return nil, fmt.Errorf("seal: the current key %q is not among the keys", current)
	}
	return r, nil
}

// Suite is the suite of the key that seals.
func (r *Ring) Suite() suite.Suite { return r.suite }

// Current is the id of the key that seals.
func (r *Ring) Current() string { return r.current }

// Prefix is how every value sealed under kid begins, or with kid "" every
// sealed value.
func (r *Ring) Prefix(kid string) string {
	if kid == "" {
		return prefix
	}
	return prefix + kid + "."
}

// KeyIDs lists every key id in the ring, sorted.
func (r *Ring) KeyIDs() []string { return slices.Sorted(maps.Keys(r.aeads)) }

// Seal seals plain for its place, in the bytes form.
func (r *Ring) Seal(plain []byte, at store.Place) ([]byte, error) {
	head := prefix + r.current + "."
	out := make([]byte, len(head), len(head)+nonceSize+len(plain)+tagSize)
	copy(out, head)
	return r.aeads[r.current].Seal(out, nil, plain, ad(at, r.current)), nil
}

// Open opens a value Seal made for the same place, under any key of the
// ring.
func (r *Ring) Open(sealed []byte, at store.Place) ([]byte, error) {
	kid, body, ok := split(sealed)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrBroken, at)
	}
	aead, ok := r.aeads[kid]
	if !ok {
		return nil, fmt.Errorf("%w: %s names key %q; restore its file under %s/", ErrUnknownKey, at, kid, Purpose)
	}
	if len(body) < nonceSize+tagSize {
		return nil, fmt.Errorf("%w: %s", ErrBroken, at)
	}
	plain, err := aead.Open(nil, nil, body, ad(at, kid))
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrBroken, at)
	}
	return plain, nil
}

// SealText seals plain for its place in the text form, for TEXT columns.
func (r *Ring) SealText(plain string, at store.Place) (string, error) {
	sealed, err := r.Seal([]byte(plain), at)
	if err != nil {
		return "", err
	}
	head := len(prefix) + len(r.current) + 1
	return string(sealed[:head]) + base64.RawURLEncoding.EncodeToString(sealed[head:]), nil
}

// OpenText opens a value SealText made for the same place.
func (r *Ring) OpenText(sealed string, at store.Place) (string, error) {
	kid, body, ok := split([]byte(sealed))
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrBroken, at)
	}
	raw, err := base64.RawURLEncoding.DecodeString(string(body))
	if err != nil {
		return "", fmt.Errorf("%w: %s", ErrBroken, at)
	}
	plain, err := r.Open(append([]byte(prefix+kid+"."), raw...), at)
	return string(plain), err
}

// KeyID is the id of the key a value names, bytes or text form; ok is false
// when the value is not sealed at all.
func (r *Ring) KeyID(v []byte) (kid string, ok bool) {
	kid, _, ok = split(v)
	return kid, ok
}

// split takes a sealed value apart; ok is false when it does not start
// with the prefix and a key id.
func split(v []byte) (kid string, body []byte, ok bool) {
	rest, found := bytes.CutPrefix(v, []byte(prefix))
	if !found {
		return "", nil, false
	}
	k, body, found := bytes.Cut(rest, []byte("."))
	if !found || len(k) == 0 || len(k) > 64 {
		return "", nil, false
	}
	return string(k), body, true
}

// ad is the additional data binding a value to its place and key: the
// fields are length-prefixed, so no two places ever share an encoding.
func ad(at store.Place, kid string) []byte {
	b := []byte("handheld/seal v1")
	for _, f := range []string{kid, at.Table, at.Column, at.Row} {
		b = fmt.Appendf(b, "\x00%d:%s", len(f), f)
	}
	return b
}
