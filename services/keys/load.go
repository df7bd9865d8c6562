package keys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
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
)

// Load reads the keys of the given purposes (every purpose when none is given)
// from dir. It fails fast, naming the file or purpose at fault, because a
// service that starts without its keys, or with a key anyone on the host can
// read, fails later in ways that are much harder to diagnose.
func Load(dir string, purposes ...string) (*Ring, error) {
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
		signers: make(map[string]signer, len(purposes)),
		public:  make(map[string]publicKey),
	}
	for _, p := range purposes {
		if err := r.loadPurpose(filepath.Join(dir, p), p); err != nil {
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
func (r *Ring) loadPurpose(pdir, purpose string) error {
	entries, err := os.ReadDir(pdir)
	if err != nil {
		return fmt.Errorf("keys: purpose %q: %w", purpose, err)
	}
	private := make(map[string]ed25519.PrivateKey)
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
		private[kid] = key
		r.public[kid] = publicKey{key: key.Public().(ed25519.PublicKey), purpose: purpose}
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
	r.signers[purpose] = signer{kid: kid, key: key}
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

// readKey reads one PKCS#8 PEM Ed25519 private key, refusing files that group
// or others may read: a leaked signing key lets anyone mint tokens.
func readKey(path string) (ed25519.PrivateKey, error) {
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
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("keys: %s: not a PKCS#8 private key: %w", path, err)
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("keys: %s holds a %T, want an Ed25519 key", path, parsed)
	}
	return key, nil
}

// jwk is one public key in RFC 7517 form with the OKP fields of RFC 8037.
type jwk struct {
	Kty    string   `json:"kty"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Kid    string   `json:"kid"`
	Alg    string   `json:"alg"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
}

// buildJWKS renders the key set once, sorted by kid so the document (and its
// ETag, should the handler compute one) is the same on every replica.
func buildJWKS(public map[string]publicKey) ([]byte, error) {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(public))}
	for _, kid := range slices.Sorted(maps.Keys(public)) {
		set.Keys = append(set.Keys, jwk{
			Kty:    "OKP",
			Crv:    "Ed25519",
			X:      base64.RawURLEncoding.EncodeToString(public[kid].key),
			Kid:    kid,
			Alg:    "EdDSA",
			Use:    "sig",
			KeyOps: []string{"verify"},
		})
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("keys: rendering the JWKS: %w", err)
	}
	return b, nil
}
