package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"handheld/services/suite"
)

// The signature algorithms a key can have, by their JWS names.
var (
	AlgEdDSA = suite.Intl.Signature()
	AlgSM2   = suite.SM.Signature()
)

// SignatureSize is the length of every signature the ring makes: Ed25519's
// 64 bytes, or SM2's r ‖ s, 32 bytes each.
const SignatureSize = 64

// Signer is the current key of one purpose. The zero Signer (a purpose the
// ring was not loaded with) has an empty KID and signs nothing.
type Signer struct {
	KID string
	Alg string
	key crypto.Signer
}

// Sign signs msg with the key: Ed25519 over msg, or SM2 over SM3(Z_A ‖ msg)
// with the default user id, always SignatureSize bytes.
func (s Signer) Sign(msg []byte) ([]byte, error) {
	switch k := s.key.(type) {
	case ed25519.PrivateKey:
		return ed25519.Sign(k, msg), nil
	case *sm2.PrivateKey:
		der, err := k.SignWithSM2(rand.Reader, nil, msg)
		if err != nil {
			return nil, fmt.Errorf("keys: signing with %s: %w", s.KID, err)
		}
		return rawSignature(der)
	}
	return nil, fmt.Errorf("keys: no signing key")
}

// JWT is the JWS method and key to sign a jwt.Token with.
func (s Signer) JWT() (jwt.SigningMethod, any) {
	if s.Alg == AlgSM2 {
		return sm2Method{}, s.key
	}
	return jwt.SigningMethodEdDSA, s.key
}

// Public is one verifying key: its algorithm, its purpose and the key.
type Public struct {
	Alg     string
	Purpose string
	key     crypto.PublicKey
}

// Verify reports whether sig is this key's signature of msg.
func (p Public) Verify(msg, sig []byte) bool {
	if len(sig) != SignatureSize {
		return false
	}
	switch k := p.key.(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(k, msg, sig)
	case *ecdsa.PublicKey:
		der, err := derSignature(sig)
		return err == nil && sm2.VerifyASN1WithSM2(k, nil, msg, der)
	}
	return false
}

// publicOf is the verifying half of a private key, with its algorithm.
func publicOf(key crypto.Signer) (alg string, pub crypto.PublicKey, err error) {
	switch k := key.(type) {
	case ed25519.PrivateKey:
		return AlgEdDSA, k.Public(), nil
	case *sm2.PrivateKey:
		return AlgSM2, &k.PublicKey, nil
	}
	return "", nil, fmt.Errorf("a %T is neither an Ed25519 nor an SM2 key", key)
}

// generate makes a new private key of the suite's algorithm.
func generate(s suite.Suite) (crypto.Signer, error) {
	if s == suite.SM {
		return sm2.GenerateKey(rand.Reader)
	}
	_, k, err := ed25519.GenerateKey(rand.Reader)
	return k, err
}

// rawSignature turns an ASN.1 SM2 signature into r ‖ s.
func rawSignature(der []byte) ([]byte, error) {
	var r, s []byte
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() {
		return nil, errors.New("keys: malformed SM2 signature")
	}
	out := make([]byte, SignatureSize)
	if !fixed(out[:32], r) || !fixed(out[32:], s) {
		return nil, errors.New("keys: SM2 signature out of range")
	}
	return out, nil
}

// fixed writes the big-endian integer b right-aligned into dst.
func fixed(dst, b []byte) bool {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	if len(b) > len(dst) {
		return false
	}
	copy(dst[len(dst)-len(b):], b)
	return true
}

// derSignature turns r ‖ s into the ASN.1 form the SM2 verifier reads.
func derSignature(raw []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addUnsigned(b, raw[:32])
		addUnsigned(b, raw[32:])
	})
	return b.Bytes()
}

// addUnsigned adds a non-negative big-endian integer as an ASN.1 INTEGER.
func addUnsigned(b *cryptobyte.Builder, v []byte) {
	for len(v) > 1 && v[0] == 0 {
		v = v[1:]
	}
	b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) {
		if v[0]&0x80 != 0 {
			b.AddUint8(0)
		}
		b.AddBytes(v)
	})
}

// sm2Method is the JWS method SM2SM3 for golang-jwt: it signs with an
// *sm2.PrivateKey and verifies with the *ecdsa.PublicKey on the SM2 curve.
type sm2Method struct{}

func (sm2Method) Alg() string { return AlgSM2 }

func (sm2Method) Sign(signingString string, key any) ([]byte, error) {
	k, ok := key.(*sm2.PrivateKey)
	if !ok {
		return nil, jwt.ErrInvalidKeyType
	}
	return Signer{Alg: AlgSM2, key: k}.Sign([]byte(signingString))
}

func (sm2Method) Verify(signingString string, sig []byte, key any) error {
	k, ok := key.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(k) {
		return jwt.ErrInvalidKeyType
	}
	if !(Public{Alg: AlgSM2, key: k}).Verify([]byte(signingString), sig) {
		return jwt.ErrSignatureInvalid
	}
	return nil
}

func init() {
	jwt.RegisterSigningMethod(AlgSM2, func() jwt.SigningMethod { return sm2Method{} })
}

// JWTAlgs are the algorithms a parser of the ring's JWS admits: both
// suites', so that switching suites invalidates nothing already signed.
// JWTKey then holds each JWS to the algorithm of the key it names.
var JWTAlgs = []string{AlgEdDSA, AlgSM2}

// JWTKey is a jwt.Keyfunc's answer for a JWS that must be signed by a key
// of purpose: the key its kid names, provided it serves purpose and has
// the algorithm the header names. The errors quote at most 64 bytes of
// the kid.
func (r *Ring) JWTKey(t *jwt.Token, purpose string) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errors.New("no kid")
	}
	pub, ok := r.Public(kid)
	switch {
	case !ok:
		return nil, fmt.Errorf("unknown kid %s (retired, or not ours)", quote(kid))
	case pub.Purpose != purpose:
		return nil, fmt.Errorf("kid %s belongs to purpose %s, not %s", quote(kid), pub.Purpose, purpose)
	case t.Method == nil || t.Method.Alg() != pub.Alg:
		return nil, fmt.Errorf("kid %s is an %s key, the header says another alg", quote(kid), pub.Alg)
	}
	return pub.key, nil
}

// quote is s quoted, cut to 64 bytes.
func quote(s string) string {
	const limit = 64
	if len(s) > limit {
		return fmt.Sprintf("%q…", s[:limit])
	}
	return fmt.Sprintf("%q", s)
}
