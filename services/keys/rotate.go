package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Ensure is the embedded profile's start-up: it generates a key for every
// purpose (every known purpose when none is given) that has no current key
// yet, then loads the ring. A purpose whose current file exists is left alone,
// even if broken, so Load can report what is wrong instead of Ensure papering
// over it with a fresh key.
func Ensure(dir string, now time.Time, purposes ...string) (*Ring, error) {
	purposes, err := checkPurposes(purposes)
	if err != nil {
		return nil, err
	}
	for _, p := range purposes {
		_, err := os.Lstat(filepath.Join(dir, p, CurrentFile))
		switch {
		case err == nil:
			continue
		case errors.Is(err, fs.ErrNotExist):
			if _, err := Rotate(dir, p, now); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("keys: purpose %q: %w", p, err)
		}
	}
	return Load(dir, purposes...)
}

// Rotate adds a new key for purpose and makes it current in one step, which
// is right for a single process that reloads its ring afterwards. With several
// replicas, use Add, reload every replica, then Promote: otherwise a replica
// that already signs with the new key issues tokens the others cannot verify
// yet.
func Rotate(dir, purpose string, now time.Time) (kid string, err error) {
	kid, err = Add(dir, purpose, now)
	if err != nil {
		return "", err
	}
	if err := Promote(dir, purpose, kid); err != nil {
		return "", err
	}
	return kid, nil
}

// Add generates a key for purpose and writes it beside the others without
// making it current, so it verifies everywhere before it signs anywhere.
func Add(dir, purpose string, now time.Time) (kid string, err error) {
	if _, err := checkPurposes([]string{purpose}); err != nil {
		return "", err
	}
	pdir := filepath.Join(dir, purpose)
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return "", fmt.Errorf("keys: %w", err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("keys: generating a %s key: %w", purpose, err)
	}
	kid, err = NewKeyID(purpose, now)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("keys: encoding %s: %w", kid, err)
	}
	name := kid + ".pem"
	if _, err := os.Lstat(filepath.Join(pdir, name)); err == nil {
		return "", fmt.Errorf("keys: %s already exists", filepath.Join(pdir, name))
	}
	if err := WriteAtomic(pdir, name, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return "", err
	}
	return kid, nil
}

// Promote makes kid the signing key of purpose by atomically replacing the
// current file. It reads the key first, so a broken or unreadable key never
// becomes current.
func Promote(dir, purpose, kid string) error {
	if _, err := checkPurposes([]string{purpose}); err != nil {
		return err
	}
	if err := CheckKeyID(kid, purpose); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	pdir := filepath.Join(dir, purpose)
	if _, err := readKey(filepath.Join(pdir, kid+".pem")); err != nil {
		return err
	}
	return WriteAtomic(pdir, CurrentFile, []byte(kid+"\n"))
}

// NewKeyID is a fresh key id for purpose, of the form CheckKeyID accepts:
// the date tells an operator how old a key is, the random part keeps two
// rotations on one day apart.
func NewKeyID(purpose string, now time.Time) (string, error) {
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return "", fmt.Errorf("keys: generating a key id: %w", err)
	}
	return fmt.Sprintf("%s-%s-%x", purpose, now.UTC().Format("20060102"), suffix), nil
}

// WriteAtomic writes data to dir/name through a 0600 temporary file and a
// rename, so a reader sees the old file or the new one, never half of either,
// and a crash leaves at most a *.tmp file that Load ignores.
func WriteAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("keys: writing %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("keys: syncing %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("keys: closing %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	// Sync the directory so the rename itself survives a crash.
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("keys: syncing %s: %w", dir, err)
	}
	return nil
}
