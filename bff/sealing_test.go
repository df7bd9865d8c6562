package bff

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"handheld/services/keys"
	"handheld/services/seal"
	"handheld/services/suite"
)

// Production refuses to start without the sealing key, naming the setting
// and the file; the embedded profile creates one once and keeps it.
func TestSealingRingPerProfile(t *testing.T) {
	dir := t.TempDir()
	if _, err := keys.Ensure(dir, time.Now(), suite.Env(), keys.Purposes()...); err != nil {
		t.Fatal(err)
	}
	prod := Defaults()
	prod.Profile, prod.KeysDir = ProfileProduction, dir
	_, err := sealingRing(prod)
	if err == nil || !strings.Contains(err.Error(), "HANDHELD_KEYS_DIR") || !strings.Contains(err.Error(), seal.Purpose) {
		t.Fatalf("production without a sealing key: %v; want an error naming HANDHELD_KEYS_DIR and %s", err, seal.Purpose)
	}
	if _, err := os.Stat(filepath.Join(dir, seal.Purpose)); !os.IsNotExist(err) {
		t.Fatal("production created a sealing key instead of refusing")
	}

	emb := Defaults()
	emb.DataDir = t.TempDir()
	first, err := sealingRing(emb)
	if err != nil {
		t.Fatal(err)
	}
	again, err := sealingRing(emb)
	if err != nil || again.Current() != first.Current() {
		t.Fatalf("embedded restart: %v, %v; want the key made on first start", again, err)
	}
	if _, err := os.Stat(filepath.Join(emb.DataDir, "keys", seal.Purpose, first.Current()+".key")); err != nil {
		t.Fatalf("embedded key not under the data dir: %v", err)
	}
	prod.KeysDir = filepath.Join(emb.DataDir, "keys")
	if r, err := sealingRing(prod); err != nil || r.Current() != first.Current() {
		t.Fatalf("production with the key: %v, %v", r, err)
	}
}

// Every sealed column is declared once, by the package that owns its table.
func TestSealedColumnsAreDeclaredOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range SealedColumns([]byte("0123456789abcdef0123456789abcdef")) {
		if seen[c.String()] || len(c.Key) == 0 {
			t.Errorf("%s declared twice or without a row key", c)
		}
		seen[c.String()] = true
	}
	for _, want := range []string{"certificates.document", "certificates.pdf", "withdrawals.payout_account",
		"withdrawals.evidence_refs", "outbox.payload", "idempotency_keys.response", "ratings.comment", "wechat_bindings.openid_sealed"} {
		if !seen[want] {
			t.Errorf("%s is not among the sealed columns", want)
		}
	}
}
