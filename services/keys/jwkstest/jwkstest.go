// Package jwkstest checks a signature the way a verifier without network
// access does: with the published JWKS alone and the algorithms' reference
// code, not with the keys package that made it, so a test of a signed
// artefact proves the JWKS is enough.
package jwkstest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/emmansun/gmsm/sm2"
)

// Verify checks sig over msg with the key kid of the JWKS document jwks:
// an OKP Ed25519 key with alg EdDSA, or an EC key on the curve SM2 with alg
// SM2SM3 (SM2 over SM3 with the default user id, sig = r ‖ s). It returns
// the key's alg.
func Verify(jwks []byte, kid string, msg, sig []byte) (alg string, err error) {
	var set struct {
		Keys []struct{ Kty, Crv, X, Y, Kid, Alg string } `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		return "", fmt.Errorf("jwks: %w", err)
	}
	b64 := base64.RawURLEncoding.DecodeString
	for _, k := range set.Keys {
		if k.Kid != kid {
			continue
		}
		switch {
		case k.Kty == "OKP" && k.Crv == "Ed25519" && k.Alg == "EdDSA":
			x, err := b64(k.X)
			if err != nil || len(x) != ed25519.PublicKeySize {
				return "", fmt.Errorf("jwks: %s: x is not an Ed25519 key", kid)
			}
			if !ed25519.Verify(x, msg, sig) {
				return "", fmt.Errorf("jwks: %s: the Ed25519 signature does not verify", kid)
			}
			return k.Alg, nil
		case k.Kty == "EC" && k.Crv == "SM2" && k.Alg == "SM2SM3":
			x, errX := b64(k.X)
			y, errY := b64(k.Y)
			if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 || len(sig) != 64 {
				return "", fmt.Errorf("jwks: %s: not an SM2 key and signature", kid)
			}
			pub := &ecdsa.PublicKey{Curve: sm2.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			if !sm2.VerifyWithSM2(pub, nil, msg, r, s) {
				return "", fmt.Errorf("jwks: %s: the SM2 signature does not verify", kid)
			}
			return k.Alg, nil
		}
		return "", fmt.Errorf("jwks: %s is a %s/%s key with alg %q", kid, k.Kty, k.Crv, k.Alg)
	}
	return "", fmt.Errorf("jwks: no key %s", kid)
}
