package keys

import (
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"handheld/services/suite"
)

// Ensure is the embedded profile's start-up: it generates a key of suite s
// for every purpose (every known purpose when none is given) that has no
// current key yet, or whose current key is of the other suite, then loads
// the ring. A purpose whose current file exists but does not read is left
// alone, so Load can report what is wrong instead of Ensure papering over
// it with a fresh key.
func Ensure(dir string, now time.Time, s suite.Suite, purposes ...string) (*Ring, error) {
	purposes, err := checkPurposes(purposes)
	if err != nil {
		return nil, err
	}
	for _, p := range purposes {
		cur, err := os.ReadFile(filepath.Join(dir, p, CurrentFile))
		switch {
		case err == nil:
			if !otherSuite(filepath.Join(dir, p, strings.TrimSpace(string(cur))+".pem"), s) {
				continue
			}
			if _, err := Rotate(dir, p, now, s); err != nil {
				return nil, err
			}
		case errors.Is(err, fs.ErrNotExist):
			if _, err := Rotate(dir, p, now, s); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("keys: purpose %q: %w", p, err)
		}
	}
	return Load(dir, s, purposes...)
}

// otherSuite reports whether the key file reads and is not of suite s.
func otherSuite(path string, s suite.Suite) bool {
	key, err := readKey(path)
	if err != nil {
		return false
	}
	alg, _, err := publicOf(key)
	return err == nil && alg != s.Signature()
}

// Rotate adds a new key for purpose and makes it current in one step, which
// is right for a single process that reloads its ring afterwards. With several
// replicas, use Add, reload every replica, then Promote: otherwise a replica
// that already signs with the new key issues tokens the others cannot verify
// yet.
func Rotate(dir, purpose string, now time.Time, s suite.Suite) (kid string, err error) {
	kid, err = Add(dir, purpose, now, s)
	if err != nil {
		return "", err
	}
	if err := Promote(dir, purpose, kid, s); err != nil {
		return "", err
	}
	return kid, nil
}

// Add generates a key of suite s for purpose and writes it beside the
// others without making it current, so it verifies everywhere before it
// signs anywhere.
func Add(dir, purpose string, now time.Time, s suite.Suite) (kid string, err error) {
	if _, err := checkPurposes([]string{purpose}); err != nil {
		return "", err
	}
	pdir := filepath.Join(dir, purpose)
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return "", fmt.Errorf("keys: %w", err)
	}
	key, err := generate(s)
	if err != nil {
		return "", fmt.Errorf("keys: generating a %s key: %w", purpose, err)
	}
	kid, err = NewKeyID(purpose, now)
	if err != nil {
		return "", err
	}
	der, err := smx509.MarshalPKCS8PrivateKey(key)
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
// current file. It reads the key first, so a broken or unreadable key, or
// one of another suite than s, never becomes current.
func Promote(dir, purpose, kid string, s suite.Suite) error {
	if _, err := checkPurposes([]string{purpose}); err != nil {
		return err
	}
	if err := CheckKeyID(kid, purpose); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	pdir := filepath.Join(dir, purpose)
	key, err := readKey(filepath.Join(pdir, kid+".pem"))
	if err != nil {
		return err
	}
	if alg, _, err := publicOf(key); err != nil || alg != s.Signature() {
		return fmt.Errorf("keys: %s is not a %s key (the suite is %s)", kid, s.Signature(), s)
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
