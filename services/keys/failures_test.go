package keys_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"handheld/services/keys"
	"handheld/services/suite"
)

// TestLoadFailures breaks a valid key directory in each way an operator might
// and checks that Load refuses it with a message naming the culprit.
func TestLoadFailures(t *testing.T) {
	ecdsaKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecdsaDER, err := x509.MarshalPKCS8PrivateKey(ecdsaKey)
	if err != nil {
		t.Fatal(err)
	}
	const stray = "tokens-20250101-deadbeef"
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }

	tests := []struct {
		name     string
		breakDir func(t *testing.T, dir string) (loadDir string)
		want     []string // substrings of the error
	}{
		{"missing directory", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "nowhere")
		}, []string{"key directory", "nowhere", "no such file"}},
		{"directory is a file", func(t *testing.T, dir string) string {
			f := filepath.Join(dir, keys.PurposeTokens, "current")
			return f
		}, []string{"is not a directory", "tokens/current"}},
		{"missing purpose", func(t *testing.T, dir string) string {
			must(t, os.RemoveAll(filepath.Join(dir, keys.PurposeECard)))
			return dir
		}, []string{`purpose "ecard"`, "no such file"}},
		{"no current", func(t *testing.T, dir string) string {
			must(t, os.Remove(filepath.Join(dir, keys.PurposeTokens, "current")))
			return dir
		}, []string{`purpose "tokens" has no signing key`, "tokens/current is missing"}},
		{"current names a missing key", func(t *testing.T, dir string) string {
			write(t, filepath.Join(dir, "tokens", "current"), []byte(stray+"\n"), 0o644)
			return dir
		}, []string{"tokens/current", stray + ".pem does not exist"}},
		{"current is malformed", func(t *testing.T, dir string) string {
			write(t, filepath.Join(dir, "tokens", "current"), []byte("latest"), 0o644)
			return dir
		}, []string{"tokens/current", `"latest" is not of the form tokens-yyyymmdd-<8 hex>`}},
		{"current names another purpose's key", func(t *testing.T, dir string) string {
			write(t, filepath.Join(dir, "tokens", "current"), []byte("ecard-20250101-deadbeef"), 0o644)
			return dir
		}, []string{"tokens/current", `belongs to purpose "ecard", not "tokens"`}},
		{"key file with a bad name", func(t *testing.T, dir string) string {
			write(t, filepath.Join(dir, "certificates", "signing.pem"), []byte("x"), 0o600)
			return dir
		}, []string{"certificates/signing.pem", "not of the form certificates-yyyymmdd"}},
		{"unparsable PEM", func(t *testing.T, dir string) string {
			write(t, filepath.Join(dir, "tokens", stray+".pem"), []byte("-----BEGIN nonsense"), 0o600)
			return dir
		}, []string{stray + ".pem", "no PEM block"}},
		{"PEM of another type", func(t *testing.T, dir string) string {
			write(t, filepath.Join(dir, "tokens", stray+".pem"), pemOf("EC PRIVATE KEY", ecdsaDER), 0o600)
			return dir
		}, []string{stray + ".pem", `PEM block is "EC PRIVATE KEY", want PKCS#8`}},
		{"PEM that is not PKCS#8", func(t *testing.T, dir string) string {
			write(t, filepath.Join(dir, "tokens", stray+".pem"), pemOf("PRIVATE KEY", []byte("junk")), 0o600)
			return dir
		}, []string{stray + ".pem", "not a PKCS#8 private key"}},
		{"two keys in one file", func(t *testing.T, dir string) string {
			path := filepath.Join(dir, "tokens", stray+".pem")
			key := pemOf("PRIVATE KEY", ecdsaDER)
			write(t, path, append(key, key...), 0o600)
			return dir
		}, []string{stray + ".pem", "one key per file"}},
		{"wrong key type", func(t *testing.T, dir string) string {
			write(t, filepath.Join(dir, "tokens", stray+".pem"), pemOf("PRIVATE KEY", ecdsaDER), 0o600)
			return dir
		}, []string{stray + ".pem", "*ecdsa.PrivateKey", "want an Ed25519 or SM2 key"}},
		{"group-readable key", func(t *testing.T, dir string) string {
			chmodCurrent(t, dir, "tokens", 0o640)
			return dir
		}, []string{"tokens/tokens-", "has mode 0640", "0600 or stricter"}},
		{"world-readable key", func(t *testing.T, dir string) string {
			chmodCurrent(t, dir, "ecard", 0o604)
			return dir
		}, []string{"ecard/ecard-", "has mode 0604"}},
		{"key that is a directory", func(t *testing.T, dir string) string {
			must(t, os.Mkdir(filepath.Join(dir, "tokens", stray+".pem"), 0o700))
			return dir
		}, []string{stray + ".pem", "not a regular file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := mustEnsure(t, suite.Intl)
			_, err := keys.Load(tt.breakDir(t, dir), suite.Intl)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			t.Log(err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestReadOnlyKeyIsAccepted(t *testing.T) {
	dir, _ := mustEnsure(t, suite.Intl)
	chmodCurrent(t, dir, "tokens", 0o400)
	if _, err := keys.Load(dir, suite.Intl); err != nil {
		t.Errorf("Load with a 0400 key: %v", err)
	}
}

func TestEnsureDoesNotPaperOverABrokenPurpose(t *testing.T) {
	dir, _ := mustEnsure(t, suite.Intl)
	write(t, filepath.Join(dir, "tokens", "current"), []byte("tokens-20250101-deadbeef"), 0o644)
	if _, err := keys.Ensure(dir, t0, suite.Intl); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Ensure over a dangling current = %v, want the Load error", err)
	}
}

// chmodCurrent changes the mode of purpose's current key file.
func chmodCurrent(t *testing.T, dir, purpose string, mode os.FileMode) {
	t.Helper()
	kid, err := os.ReadFile(filepath.Join(dir, purpose, "current"))
	must(t, err)
	must(t, os.Chmod(filepath.Join(dir, purpose, strings.TrimSpace(string(kid))+".pem"), mode))
}

func write(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	must(t, os.WriteFile(path, data, mode))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
