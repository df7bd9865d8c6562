// Package suite names the cryptographic suite handheld runs under and
// hands out its primitives, so that no other package chooses an algorithm
// for itself:
//
//	intl  Ed25519 signatures, SHA-256, HMAC-SHA-256, AES-256-GCM
//	sm    SM2 signatures with SM3 (GB/T 32918), SM3 (GB/T 32905),
//	      HMAC-SM3, SM4-GCM (GB/T 32907), the suite a centre's systems
//	      need to pass the commercial cryptography assessment (GB/T 39786)
//
// The suite decides what handheld makes from now on: the keys it
// generates, the hashes it chains, the values it seals. What was made
// under the other suite still verifies and opens, because every signature
// names its key (and the key its algorithm) and every sealed value its
// key: a centre moves from intl to sm by switching and rotating, not by
// rewriting its data.
package suite

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"os"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// Suite is intl or sm. The zero value is intl.
type Suite string

const (
	Intl Suite = "intl"
	SM   Suite = "sm"
)

// All lists the suites, for tests that run under each.
func All() []Suite { return []Suite{Intl, SM} }

// Parse reads HANDHELD_CRYPTO; empty is intl.
func Parse(s string) (Suite, error) {
	switch Suite(s) {
	case "", Intl:
		return Intl, nil
	case SM:
		return SM, nil
	}
	return "", fmt.Errorf("suite: %q is not a cryptographic suite (want %s or %s)", s, Intl, SM)
}

// String is the suite's name, intl for the zero value.
func (s Suite) String() string {
	if s == "" {
		return string(Intl)
	}
	return string(s)
}

func (s Suite) sm() bool { return s == SM }

// Signature is the JWS algorithm name of the suite's signatures: EdDSA
// (RFC 8037) or SM2SM3, handheld's name for SM2 over SM3 with the
// standard's default user id, its signature the 64 bytes r ‖ s as ES256
// writes them in JWS.
func (s Suite) Signature() string {
	if s.sm() {
		return "SM2SM3"
	}
	return "EdDSA"
}

// Hash is the suite's hash: SHA-256 or SM3, both 32 bytes.
func (s Suite) Hash() hash.Hash {
	if s.sm() {
		return sm3.New()
	}
	return sha256.New()
}

// HashName names the hash as records that carry it write it.
func (s Suite) HashName() string {
	if s.sm() {
		return "sm3"
	}
	return "sha256"
}

// Sum is the suite's hash of b.
func (s Suite) Sum(b []byte) [32]byte {
	if s.sm() {
		return sm3.Sum(b)
	}
	return sha256.Sum256(b)
}

// MAC is a keyed hash under key: HMAC-SHA-256 or HMAC-SM3.
func (s Suite) MAC(key []byte) hash.Hash {
	if s.sm() {
		return hmac.New(sm3.New, key)
	}
	return hmac.New(sha256.New, key)
}

// KeySize is how many bytes the suite's AEAD takes: 32 for AES-256, 16
// for SM4.
func (s Suite) KeySize() int {
	if s.sm() {
		return sm4.BlockSize
	}
	return 32
}

// AEAD is the suite's authenticated encryption under key, with a random
// 12-byte nonce placed before the ciphertext: AES-256-GCM or SM4-GCM.
func (s Suite) AEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != s.KeySize() {
		return nil, fmt.Errorf("suite %s: key has %d bytes, want %d", s, len(key), s.KeySize())
	}
	if !s.sm() {
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCMWithRandomNonce(block)
	}
	block, err := sm4.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return randomNonce{gcm}, nil
}

// randomNonce is what cipher.NewGCMWithRandomNonce makes of an AES block,
// for any other: a fresh random 12-byte nonce per Seal, written before the
// ciphertext and tag.
type randomNonce struct{ gcm cipher.AEAD }

func (a randomNonce) NonceSize() int { return 0 }
func (a randomNonce) Overhead() int  { return a.gcm.NonceSize() + a.gcm.Overhead() }

func (a randomNonce) Seal(dst, nonce, plaintext, additionalData []byte) []byte {
	if len(nonce) != 0 {
		panic("suite: the nonce is chosen at random; pass none")
	}
	n := make([]byte, a.gcm.NonceSize())
	if _, err := rand.Read(n); err != nil {
		panic("suite: no randomness for a nonce: " + err.Error())
	}
	return a.gcm.Seal(append(dst, n...), n, plaintext, additionalData)
}

func (a randomNonce) Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	if len(nonce) != 0 {
		return nil, errors.New("suite: the nonce is read from the ciphertext; pass none")
	}
	ns := a.gcm.NonceSize()
	if len(ciphertext) < ns+a.gcm.Overhead() {
		return nil, errors.New("cipher: message authentication failed")
	}
	return a.gcm.Open(dst, ciphertext[:ns], ciphertext[ns:], additionalData)
}

// Env is the suite HANDHELD_CRYPTO names, for the tests that `make test`
// runs once under each suite; it panics on a name that is not a suite.
func Env() Suite {
	s, err := Parse(os.Getenv("HANDHELD_CRYPTO"))
	if err != nil {
		panic(err)
	}
	return s
}
