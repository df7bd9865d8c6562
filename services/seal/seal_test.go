package seal_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"handheld/services/seal"
	"handheld/services/store"
	"handheld/services/suite"
)

var (
	place    = store.Place{Table: "withdrawals", Column: "payout_account", Row: "wd_1"}
	card     = "6222021202005128745"
	document = []byte(`{"holder_name":"张伟","id_number":"330106198503124133"}`)
)

func newRing(t testing.TB, current string, kids ...string) *seal.Ring {
	t.Helper()
	keys := map[string][]byte{}
	for _, kid := range kids {
		k := make([]byte, suite.Env().KeySize())
		_, _ = rand.Read(k)
		keys[kid] = k
	}
	r, err := seal.NewRing(current, keys)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRoundTripBothForms(t *testing.T) {
	r := newRing(t, "sealing-20260101-00000001", "sealing-20260101-00000001")
	b, err := r.Seal(document, place)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("张伟")) || bytes.Contains(b, []byte("330106")) {
		t.Fatal("sealed bytes hold the plain text")
	}
	if kid, ok := r.KeyID(b); !ok || kid != "sealing-20260101-00000001" {
		t.Fatalf("KeyID = %q, %v", kid, ok)
	}
	got, err := r.Open(b, place)
	if err != nil || !bytes.Equal(got, document) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	s, err := r.SealText(card, place)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s, card) || !strings.HasPrefix(s, "hs1.sealing-20260101-00000001.") {
		t.Fatalf("SealText = %q", s)
	}
	if again, _ := r.SealText(card, place); again == s {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	if got, err := r.OpenText(s, place); err != nil || got != card {
		t.Fatalf("OpenText = %q, %v", got, err)
	}
	empty, _ := r.Seal(nil, place)
	if got, err := r.Open(empty, place); err != nil || len(got) != 0 {
		t.Fatalf("empty value: %q, %v", got, err)
	}
}

func TestTamperedOrMovedDoesNotOpen(t *testing.T) {
	r := newRing(t, "sealing-20260101-00000001", "sealing-20260101-00000001")
	b, _ := r.Seal([]byte(card), place)
	s, _ := r.SealText(card, place)
	flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i] ^= 1; return c }
	head := len("hs1.sealing-20260101-00000001.")
	for name, v := range map[string][]byte{
		"flipped nonce":      flip(b, head),
		"flipped ciphertext": flip(b, head+14),
		"flipped tag":        flip(b, len(b)-1),
		"cut":                b[:len(b)-1],
		"only the header":    b[:head],
		"plain":              []byte(card),
		"empty":              nil,
	} {
		if got, err := r.Open(v, place); !errors.Is(err, seal.ErrBroken) || got != nil {
			t.Errorf("%s: Open = %q, %v; want ErrBroken", name, got, err)
		}
	}
	for name, at := range map[string]store.Place{
		"another row":    {Table: place.Table, Column: place.Column, Row: "wd_2"},
		"another column": {Table: place.Table, Column: "evidence_refs", Row: place.Row},
		"another table":  {Table: "certificates", Column: place.Column, Row: place.Row},
	} {
		if _, err := r.Open(b, at); !errors.Is(err, seal.ErrBroken) {
			t.Errorf("bytes moved to %s: %v, want ErrBroken", name, err)
		}
		if _, err := r.OpenText(s, at); !errors.Is(err, seal.ErrBroken) {
			t.Errorf("text moved to %s: %v, want ErrBroken", name, err)
		}
	}
	for name, v := range map[string]string{
		"not base64": s[:head] + "!!!!",
		"cut":        s[:len(s)-3],
		"plain":      card,
	} {
		if _, err := r.OpenText(v, place); !errors.Is(err, seal.ErrBroken) {
			t.Errorf("text %s: %v, want ErrBroken", name, err)
		}
	}
	// Errors never carry the value.
	_, err := r.OpenText(card, place)
	if err == nil || strings.Contains(err.Error(), card) {
		t.Errorf("error %v names the value", err)
	}
}

func TestRotationKeepsOldValuesReadable(t *testing.T) {
	dir := t.TempDir()
	day1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r1, err := seal.Ensure(dir, day1, suite.Env())
	if err != nil {
		t.Fatal(err)
	}
	old, _ := r1.SealText(card, place)
	kid2, err := seal.Rotate(dir, day1.AddDate(0, 0, 1), suite.Env())
	if err != nil {
		t.Fatal(err)
	}
	r2, err := seal.Load(dir, suite.Env())
	if err != nil {
		t.Fatal(err)
	}
	if r2.Current() != kid2 || r2.Current() == r1.Current() || len(r2.KeyIDs()) != 2 {
		t.Fatalf("after rotation current %s (want %s), keys %v", r2.Current(), kid2, r2.KeyIDs())
	}
	if got, err := r2.OpenText(old, place); err != nil || got != card {
		t.Fatalf("old value after rotation: %q, %v", got, err)
	}
	fresh, _ := r2.SealText(card, place)
	if kid, _ := r2.KeyID([]byte(fresh)); kid != kid2 {
		t.Fatalf("new value sealed under %s, want %s", kid, kid2)
	}
	// Ensure leaves an existing ring alone.
	if r3, err := seal.Ensure(dir, day1.AddDate(0, 0, 2), suite.Env()); err != nil || r3.Current() != kid2 {
		t.Fatalf("Ensure on an existing ring: %v, %v", r3, err)
	}
}

func TestMissingKeyIsAClearError(t *testing.T) {
	dir := t.TempDir()
	r1, err := seal.Ensure(dir, time.Now(), suite.Env())
	if err != nil {
		t.Fatal(err)
	}
	old, _ := r1.SealText(card, place)
	if _, err := seal.Rotate(dir, time.Now(), suite.Env()); err != nil {
		t.Fatal(err)
	}
	// The old key's file is removed before any reseal.
	if err := os.Remove(filepath.Join(dir, seal.Purpose, r1.Current()+".key")); err != nil {
		t.Fatal(err)
	}
	r2, err := seal.Load(dir, suite.Env())
	if err != nil {
		t.Fatal(err)
	}
	_, err = r2.OpenText(old, place)
	if !errors.Is(err, seal.ErrUnknownKey) || !strings.Contains(err.Error(), r1.Current()) {
		t.Fatalf("Open under a removed key: %v; want ErrUnknownKey naming the key", err)
	}
}

func TestLoadRefusesBadKeyFiles(t *testing.T) {
	for name, setup := range map[string]func(dir string){
		"no directory": func(dir string) {},
		"no current": func(dir string) {
			if _, err := seal.Add(dir, time.Now(), suite.Env()); err != nil {
				t.Fatal(err)
			}
		},
		"current names a missing key": func(dir string) {
			_ = os.MkdirAll(filepath.Join(dir, seal.Purpose), 0o700)
			_ = os.WriteFile(filepath.Join(dir, seal.Purpose, "current"), []byte("sealing-20260101-0000beef\n"), 0o600)
		},
		"key readable by others": func(dir string) {
			kid, _ := seal.Rotate(dir, time.Now(), suite.Env())
			_ = os.Chmod(filepath.Join(dir, seal.Purpose, kid+".key"), 0o644)
		},
		"key too short": func(dir string) {
			kid, _ := seal.Rotate(dir, time.Now(), suite.Env())
			_ = os.WriteFile(filepath.Join(dir, seal.Purpose, kid+".key"), []byte("AAAA\n"), 0o600)
		},
	} {
		dir := t.TempDir()
		setup(dir)
		if _, err := seal.Load(dir, suite.Env()); err == nil {
			t.Errorf("%s: Load succeeded", name)
		}
	}
	if err := seal.Promote(t.TempDir(), "tokens-20260101-00000001", suite.Env()); err == nil {
		t.Error("Promote accepted a key id of another purpose")
	}
}

// TestSwitchingSuites moves a sealing ring from intl to sm: Ensure adds an
// SM4 key and seals with it from then on, what AES sealed still opens,
// Load and Promote refuse a current key of the other suite, and one key's
// value never opens as another's.
func TestSwitchingSuites(t *testing.T) {
	dir := t.TempDir()
	day1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	intl, err := seal.Ensure(dir, day1, suite.Intl)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := intl.SealText(card, place)
	if _, err := seal.Load(dir, suite.SM); err == nil || !strings.Contains(err.Error(), "of the intl suite, not sm") {
		t.Fatalf("Load(sm) of an AES ring: %v", err)
	}
	sm, err := seal.Ensure(dir, day1.AddDate(0, 0, 1), suite.SM)
	if err != nil {
		t.Fatal(err)
	}
	if sm.Suite() != suite.SM || sm.Current() == intl.Current() {
		t.Fatalf("after Ensure(sm) the ring seals under %s with %s", sm.Suite(), sm.Current())
	}
	if got, err := sm.OpenText(old, place); err != nil || got != card {
		t.Fatalf("an AES value under sm: %q, %v", got, err)
	}
	fresh, _ := sm.SealText(card, place)
	if kid, _ := sm.KeyID([]byte(fresh)); kid != sm.Current() {
		t.Fatalf("sealed under %s", kid)
	}
	if got, err := sm.OpenText(fresh, place); err != nil || got != card {
		t.Fatalf("an SM4 value: %q, %v", got, err)
	}
	// The SM4 value relabelled as the AES key's does not open.
	forged := strings.Replace(fresh, sm.Current(), intl.Current(), 1)
	if _, err := sm.OpenText(forged, place); !errors.Is(err, seal.ErrBroken) {
		t.Fatalf("an SM4 value under the AES key's id: %v", err)
	}
	if err := seal.Promote(dir, intl.Current(), suite.SM); err == nil {
		t.Fatal("Promote made an AES key current under sm")
	}
}
