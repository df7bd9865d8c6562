package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/emmansun/gmsm/smx509"

	"handheld/services/suite"
)

// Load reads the keys of the given purposes (every purpose when none is given)
// from dir, the current key of each being of suite s. It fails fast, naming
// the file or purpose at fault, because a service that starts without its
// keys, with a key anyone on the host can read, or signing under another
// suite than the one required, fails later in ways that are much harder to
// diagnose.
func Load(dir string, s suite.Suite, purposes ...string) (*Ring, error) {
	purposes, err := checkPurposes(purposes)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("keys: key directory: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("keys: key directory %s is not a directory", dir)
	}
	r := &Ring{
		signers: make(map[string]Signer, len(purposes)),
		public:  make(map[string]Public),
	}
	for _, p := range purposes {
		if err := r.loadPurpose(filepath.Join(dir, p), p, s); err != nil {
			return nil, err
		}
	}
	r.jwks, err = buildJWKS(r.public)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// loadPurpose adds every key of one purpose directory to the ring and records
// the one named by its current file as the signer.
func (r *Ring) loadPurpose(pdir, purpose string, s suite.Suite) error {
	entries, err := os.ReadDir(pdir)
	if err != nil {
		return fmt.Errorf("keys: purpose %q: %w", purpose, err)
	}
	private := make(map[string]crypto.Signer)
	for _, e := range entries {
		name := e.Name()
		// Temporary files of an interrupted rotation end in .tmp and are skipped.
		if filepath.Ext(name) != ".pem" {
			continue
		}
		path := filepath.Join(pdir, name)
		kid := strings.TrimSuffix(name, ".pem")
		if err := CheckKeyID(kid, purpose); err != nil {
			return fmt.Errorf("keys: %s: %w", path, err)
		}
		key, err := readKey(path)
		if err != nil {
			return err
		}
		alg, pub, err := publicOf(key)
		if err != nil {
			return fmt.Errorf("keys: %s: %w", path, err)
		}
		private[kid] = key
		r.public[kid] = Public{Alg: alg, Purpose: purpose, key: pub}
	}

	cur := filepath.Join(pdir, CurrentFile)
	b, err := os.ReadFile(cur)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("keys: purpose %q has no signing key: %s is missing (it names the current key id)", purpose, cur)
	}
	if err != nil {
		return fmt.Errorf("keys: purpose %q: %w", purpose, err)
	}
	kid := strings.TrimSpace(string(b))
	if err := CheckKeyID(kid, purpose); err != nil {
		return fmt.Errorf("keys: %s: %w", cur, err)
	}
	key, ok := private[kid]
	if !ok {
		return fmt.Errorf("keys: %s names %q but %s does not exist", cur, kid, filepath.Join(pdir, kid+".pem"))
	}
	if alg := r.public[kid].Alg; alg != s.Signature() {
		return fmt.Errorf("keys: the current %s key %s is %s but the suite is %s (%s); add a key of the suite and make it current: handheld keys rotate -purpose %s",
			purpose, kid, alg, s, s.Signature(), purpose)
	}
	r.signers[purpose] = Signer{KID: kid, Alg: r.public[kid].Alg, key: key}
	return nil
}

// ReadPrivateFile reads a key file, signing or sealing, refusing anything
// but a regular file that only its owner may read.
func ReadPrivateFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("keys: %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("keys: %s has mode %#o; a private key must be 0600 or stricter", path, perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return data, nil
}

// readKey reads one PKCS#8 PEM Ed25519 or SM2 private key, refusing files
// that group or others may read: a leaked signing key lets anyone mint
// tokens.
func readKey(path string) (crypto.Signer, error) {
	data, err := ReadPrivateFile(path)
	if err != nil {
		return nil, err
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("keys: %s: no PEM block found", path)
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("keys: %s: PEM block is %q, want PKCS#8 \"PRIVATE KEY\"", path, block.Type)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("keys: %s: unexpected data after the PEM block (one key per file)", path)
	}
	parsed, err := smx509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("keys: %s: not a PKCS#8 private key: %w", path, err)
	}
	key, ok := parsed.(crypto.Signer)
	if ok {
		_, _, err = publicOf(key)
	}
	if !ok || err != nil {
		return nil, fmt.Errorf("keys: %s holds a %T, want an Ed25519 or SM2 key", path, parsed)
	}
	return key, nil
}

// jwk is one public key in RFC 7517 form: the OKP fields of RFC 8037 for
// Ed25519, the EC fields of RFC 7518 on the curve "SM2" for SM2.
type jwk struct {
	Kty    string   `json:"kty"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Y      string   `json:"y,omitempty"`
	Kid    string   `json:"kid"`
	Alg    string   `json:"alg"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
}

// buildJWKS renders the key set once, sorted by kid so the document (and its
// ETag, should the handler compute one) is the same on every replica.
func buildJWKS(public map[string]Public) ([]byte, error) {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(public))}
	b64 := base64.RawURLEncoding.EncodeToString
	for _, kid := range slices.Sorted(maps.Keys(public)) {
		k := jwk{Kid: kid, Alg: public[kid].Alg, Use: "sig", KeyOps: []string{"verify"}}
		switch pub := public[kid].key.(type) {
		case ed25519.PublicKey:
			k.Kty, k.Crv, k.X = "OKP", "Ed25519", b64(pub)
		case *ecdsa.PublicKey:
			var x, y [32]byte
			pub.X.FillBytes(x[:])
			pub.Y.FillBytes(y[:])
			k.Kty, k.Crv, k.X, k.Y = "EC", "SM2", b64(x[:]), b64(y[:])
		}
		set.Keys = append(set.Keys, k)
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("keys: rendering the JWKS: %w", err)
	}
	return b, nil
}
