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
)

// On disk the ring is a purpose directory beside the signing keys, with
// the same rules (services/keys): one file per key named by its id, 0600,
// and a file "current" naming the one that seals.
//
//	<dir>/sealing/sealing-20261204-1a2b3c4d.key   base64 of 32 random bytes
//	<dir>/sealing/current                         "sealing-20261204-1a2b3c4d"
//
// A key file must stay as long as any row is sealed under it: rotate, run
// `handheld keys reseal`, and only then remove the old file.

// keyExt ends a sealing key's file name.
const keyExt = ".key"

// Load reads the ring from dir (the keys directory). Production calls it:
// a missing or unreadable key stops start-up, naming the file.
func Load(dir string) (*Ring, error) {
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
	return NewRing(kid, all)
}

// Ensure is the embedded profile's start-up: it creates the first sealing
// key under dir when there is none, then loads the ring. An existing current
// file is left alone, even if broken, so Load reports what is wrong.
func Ensure(dir string, now time.Time) (*Ring, error) {
	_, err := os.Lstat(filepath.Join(dir, Purpose, keys.CurrentFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, err := Rotate(dir, now); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("seal: %w", err)
	}
	return Load(dir)
}

// Rotate adds a key and makes it current, for a single replica. With
// several, Add, reload every replica, then Promote: a replica must hold a
// key before another seals with it.
func Rotate(dir string, now time.Time) (string, error) {
	kid, err := Add(dir, now)
	if err != nil {
		return "", err
	}
	return kid, Promote(dir, kid)
}

// Add writes a new random key beside the others without making it current.
func Add(dir string, now time.Time) (string, error) {
	pdir := filepath.Join(dir, Purpose)
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	kid, err := keys.NewKeyID(Purpose, now)
	if err != nil {
		return "", err
	}
	raw := make([]byte, 32)
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

// Promote makes kid the sealing key, after reading it, so a broken file
// never becomes current.
func Promote(dir, kid string) error {
	if err := keys.CheckKeyID(kid, Purpose); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	pdir := filepath.Join(dir, Purpose)
	if _, err := readKey(filepath.Join(pdir, kid+keyExt)); err != nil {
		return err
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
	if err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("seal: %s: want base64 of 32 bytes", path)
	}
	return raw, nil
}
