package services

import (
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"hash"

	"handheld/services/suite"
)

// HashKey is the deployment's keyed hash (HANDHELD_HASH_SECRET): the HMAC
// that stands in for identifiers in stored rows, Redis keys, the audit
// trail and the opaque tokens handheld hands out. Its function is
// HMAC-SHA-256 or HMAC-SM3, fixed when the store was created
// (store.KeyedHash): pseudonyms key stored rows, so the function cannot
// follow HANDHELD_CRYPTO afterwards without orphaning them.
//
// The zero value has no secret; Size tells, and constructors refuse it.
type HashKey struct {
	secret []byte
	suite  suite.Suite
}

// NewHashKey keys s's HMAC with secret (copied).
func NewHashKey(secret []byte, s suite.Suite) HashKey {
	return HashKey{secret: append([]byte(nil), secret...), suite: s}
}

// Size is the secret's length in bytes.
func (k HashKey) Size() int { return len(k.secret) }

// Suite is the suite whose HMAC the key runs.
func (k HashKey) Suite() suite.Suite { return k.suite }

// MAC is a fresh HMAC under the key.
func (k HashKey) MAC() hash.Hash { return k.suite.MAC(k.secret) }

// Sum is the HMAC of the parts written one after another.
func (k HashKey) Sum(parts ...[]byte) []byte {
	m := k.MAC()
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// Derive is a key of its own for one use of the secret, the HMAC of label
// under it, so that no two uses can be played against each other (an ID
// number's hash against a rate-limit key, say).
func (k HashKey) Derive(label string) HashKey {
	return HashKey{secret: k.Sum([]byte(label)), suite: k.suite}
}

// Bytes is the raw secret, for a key that must stay what it was before
// the suite could be chosen (values sealed under a key derived from it).
func (k HashKey) Bytes() []byte { return append([]byte(nil), k.secret...) }

// Pseudonym is the HMAC, in hex, of a namespaced value (an openid, an
// operator id, an ID number, a staff id): stable, so it can key a table or
// name someone in the audit trail, and useless to whoever reads it without
// the secret. The namespace keeps one kind of value from meeting another.
func (k HashKey) Pseudonym(namespace, value string) string {
	return hex.EncodeToString(k.Sum([]byte(namespace), []byte{0}, []byte(value)))
}

// Opaque seals under a key of its own, derived for label, with the suite's
// AEAD: what it seals a client can neither read nor alter (handheld hands
// out the core's list cursors this way).
func (k HashKey) Opaque(label string) (Opaque, error) {
	aead, err := k.suite.AEAD(k.Derive(label).secret[:k.suite.KeySize()])
	if err != nil {
		return Opaque{}, err
	}
	return Opaque{aead: aead}, nil
}

// Opaque seals short values into URL-safe text bound to a context (the
// list and who reads it), so a sealed value opens only where it was made.
type Opaque struct{ aead cipher.AEAD }

// maxOpaque bounds what Open decodes at all: sealed cursors are short.
const maxOpaque = 512

// Seal is value sealed for context; "" stays "" (a list's last page).
func (o Opaque) Seal(value, context string) string {
	if value == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(o.aead.Seal(nil, nil, []byte(value), []byte(context)))
}

// Open is the value inside sealed, "" for "", or false when sealed was not
// made by Seal under this key for this context.
func (o Opaque) Open(sealed, context string) (string, bool) {
	if sealed == "" {
		return "", true
	}
	if len(sealed) > maxOpaque {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		return "", false
	}
	plain, err := o.aead.Open(nil, nil, raw, []byte(context))
	if err != nil || len(plain) == 0 {
		return "", false
	}
	return string(plain), true
}
