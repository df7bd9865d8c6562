package seal

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"handheld/services/keys"
	"handheld/services/suite"
)

// On disk the ring is a purpose directory beside the signing keys, with
// the same rules (services/keys): one file per key named by its id, 0600,
// and a file "current" naming the one that seals.
//
//	<dir>/sealing/sealing-20261204-1a2b3c4d.key   base64 of 32 random bytes (AES-256)
//	                                              or of 16 (SM4, under the sm suite)
//	<dir>/sealing/current                         "sealing-20261204-1a2b3c4d"
//
// A key file must stay as long as any row is sealed under it: rotate, run
// `handheld keys reseal`, and only then remove the old file.

// keyExt ends a sealing key's file name.
const keyExt = ".key"

// Load reads the ring from dir (the keys directory), its current key being
// of suite s. Production calls it: a missing or unreadable key, or one
// that seals under the other suite, stops start-up, naming the file.
func Load(dir string, s suite.Suite) (*Ring, error) {
	pdir := filepath.Join(dir, Purpose)
	entries, err := os.ReadDir(pdir)
	if err != nil {
		return nil, fmt.Errorf("seal: the sealing keys: %w", err)
	}
	all := make(map[string][]byte)
	for _, e := range entries {
		if filepath.Ext(e.Name()) != keyExt {
			continue // temporary files of an interrupted rotation end in .tmp
		}
		kid := strings.TrimSuffix(e.Name(), keyExt)
		path := filepath.Join(pdir, e.Name())
		if err := keys.CheckKeyID(kid, Purpose); err != nil {
			return nil, fmt.Errorf("seal: %s: %w", path, err)
		}
		if all[kid], err = readKey(path); err != nil {
			return nil, err
		}
	}
	cur := filepath.Join(pdir, keys.CurrentFile)
	b, err := os.ReadFile(cur)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("seal: %s is missing (it names the sealing key in use; `handheld keys init` creates one)", cur)
	}
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	kid := strings.TrimSpace(string(b))
	if _, ok := all[kid]; !ok {
		return nil, fmt.Errorf("seal: %s names %q but %s does not exist", cur, kid, filepath.Join(pdir, kid+keyExt))
	}
	r, err := NewRing(kid, all)
	if err != nil {
		return nil, err
	}
	if r.Suite() != s {
		return nil, fmt.Errorf("seal: the sealing key %s is of the %s suite, not %s; add a key of the suite, promote it, then reseal: handheld keys rotate --purpose sealing", kid, r.Suite(), s)
	}
	return r, nil
}

// Ensure is the embedded profile's start-up: it creates a sealing key of
// suite s under dir when there is none, or when the current one is of the
// other suite (what it sealed still opens), then loads the ring. A current
// file that does not read is left alone, so Load reports what is wrong.
func Ensure(dir string, now time.Time, s suite.Suite) (*Ring, error) {
	cur, err := os.ReadFile(filepath.Join(dir, Purpose, keys.CurrentFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, err := Rotate(dir, now, s); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("seal: %w", err)
	default:
		key, err := readKey(filepath.Join(dir, Purpose, strings.TrimSpace(string(cur))+keyExt))
		if ks, _ := keySuite(key); err == nil && ks != s {
			if _, err := Rotate(dir, now, s); err != nil {
				return nil, err
			}
		}
	}
	return Load(dir, s)
}

// Rotate adds a key and makes it current, for a single replica. With
// several, Add, reload every replica, then Promote: a replica must hold a
// key before another seals with it.
func Rotate(dir string, now time.Time, s suite.Suite) (string, error) {
	kid, err := Add(dir, now, s)
	if err != nil {
		return "", err
	}
	return kid, Promote(dir, kid, s)
}

// Add writes a new random key for suite s's cipher beside the others
// without making it current.
func Add(dir string, now time.Time, s suite.Suite) (string, error) {
	pdir := filepath.Join(dir, Purpose)
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	kid, err := keys.NewKeyID(Purpose, now)
	if err != nil {
		return "", err
	}
	raw := make([]byte, s.KeySize())
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("seal: generating a key: %w", err)
	}
	if _, err := os.Lstat(filepath.Join(pdir, kid+keyExt)); err == nil {
		return "", fmt.Errorf("seal: %s already exists", filepath.Join(pdir, kid+keyExt))
	}
	if err := keys.WriteAtomic(pdir, kid+keyExt, []byte(base64.StdEncoding.EncodeToString(raw)+"\n")); err != nil {
		return "", err
	}
	return kid, nil
}

// Promote makes kid the sealing key, after reading it, so a broken file,
// or a key of another suite than s, never becomes current.
func Promote(dir, kid string, s suite.Suite) error {
	if err := keys.CheckKeyID(kid, Purpose); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	pdir := filepath.Join(dir, Purpose)
	key, err := readKey(filepath.Join(pdir, kid+keyExt))
	if err != nil {
		return err
	}
	if ks, _ := keySuite(key); ks != s {
		return fmt.Errorf("seal: %s is a key of the %s suite, not %s", kid, ks, s)
	}
	return keys.WriteAtomic(pdir, keys.CurrentFile, []byte(kid+"\n"))
}

// readKey reads one key file, refusing one that group or others may read.
func readKey(path string) ([]byte, error) {
	b, err := keys.ReadPrivateFile(path)
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err == nil {
		_, err = keySuite(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("seal: %s: want base64 of 32 bytes (AES-256) or 16 (SM4)", path)
	}
	return raw, nil
}
