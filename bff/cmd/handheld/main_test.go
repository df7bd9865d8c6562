package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/keys"
	"handheld/services/seal"
	"handheld/services/store"
	"handheld/services/suite"
)

func TestDemoPrintsLoginFieldsPerRole(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	roles := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var p map[string]string
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		roles[p["role"]]++
		if p["notes"] == "" {
			t.Errorf("no notes: %v", p)
		}
		switch p["role"] {
		case "depositor", "person":
			if p["name"] == "" || services.ValidateIDNumber(p["id_number"], time.Now()) != nil {
				t.Errorf("depositor without a valid name/ID: %v", p)
			}
		case "employer":
			if services.ValidateUnitCode(p["unit_code"]) != nil || p["operator_id"] == "" || p["password"] == "" {
				t.Errorf("employer without login fields: %v", p)
			}
		}
	}
	if roles["depositor"] < 5 || roles["employer"] < 1 {
		t.Fatalf("roles %v", roles)
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &bytes.Buffer{}); err != nil || !strings.HasPrefix(out.String(), "handheld ") {
		t.Fatalf("version: %q %v", out.String(), err)
	}
	var errOut bytes.Buffer
	if err := run(context.Background(), []string{"frobnicate"}, &bytes.Buffer{}, &errOut); err == nil || !strings.Contains(errOut.String(), "usage") {
		t.Fatalf("unknown command: %v %q", err, errOut.String())
	}
}

func TestAuditVerifyFindsTheBrokenLink(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := embeddedStore(t, dir)
	log := audit.New(s, audit.Options{})
	for _, action := range []string{"login.success", "read.account", "logout"} {
		if err := log.Append(ctx, audit.Record{At: time.Now(), Subject: "s_test", Actor: "s_test", Channel: "miniapp", Action: action, Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"audit", "verify"}, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "intact: 3 records") {
		t.Fatalf("intact chain: %v %q", err, out.String())
	}
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET action = 'read.loan' WHERE seq = 2`} {
		if _, err := s.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	if err := run(ctx, []string{"audit", "verify"}, &out, &bytes.Buffer{}); err == nil || !strings.Contains(out.String(), "BROKEN at record 2") {
		t.Fatalf("tampered chain: %v %q", err, out.String())
	}
}

// An operator creates production keys, adds one, and promotes it; the
// ring then signs with the new key and still verifies with the old.
func TestKeysCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	var out bytes.Buffer
	ctx := context.Background()
	if err := run(ctx, []string{"keys", "init", "--dir", dir, "--suite", "intl"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	ring, err := keys.Load(dir, suite.Intl, keys.Purposes()...)
	if err != nil {
		t.Fatalf("init did not make a loadable ring: %v", err)
	}
	oldKid := ring.Signer(keys.PurposeTokens).KID
	out.Reset()
	// The tokens purpose moves to the sm suite: an SM2 key is added...
	if err := run(ctx, []string{"keys", "add", "--dir", dir, "--purpose", "tokens", "--suite", "sm"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	newKid := strings.TrimSpace(out.String())
	if ring, _ = keys.Load(dir, suite.Intl, keys.Purposes()...); ring.Signer(keys.PurposeTokens).KID != oldKid {
		t.Fatal("add changed the signing key")
	}
	// ...refused as the key of the intl suite, and promoted under sm.
	if err := run(ctx, []string{"keys", "promote", "--dir", dir, "--purpose", "tokens", "--kid", newKid, "--suite", "intl"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("an SM2 key became current under intl")
	}
	if err := run(ctx, []string{"keys", "promote", "--dir", dir, "--purpose", "tokens", "--kid", newKid, "--suite", "sm"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	ring, err = keys.Load(dir, suite.SM, keys.PurposeTokens)
	if err != nil {
		t.Fatal(err)
	}
	if s := ring.Signer(keys.PurposeTokens); s.KID != newKid || s.Alg != keys.AlgSM2 {
		t.Fatalf("signing key %+v, want the SM2 key %s", s, newKid)
	}
	if pub, ok := ring.Public(oldKid); !ok || pub.Alg != keys.AlgEdDSA {
		t.Fatal("the old Ed25519 key no longer verifies")
	}
	if err := run(ctx, []string{"keys", "promote", "--dir", dir, "--kid", "tokens-20260101-deadbeef"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("promoting a missing key succeeded")
	}
}

// Rows written before migration 0010 end sealed with `handheld migrate`;
// after a rotation of the sealing key, `handheld keys reseal` moves them to
// the new key, and they still open.
func TestMigrateSealsOldRowsAndResealMovesThem(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := embeddedStore(t, dir)
	const card = "6222021202005128745"
	if _, err := s.Exec(ctx, `INSERT INTO withdrawals (id, case_number, subject, kind, core_kind, amount_fen, payout_method,
		payout_account, evidence_refs, status, idempotency_key, request_hash, locale, channel, created_at, updated_at, due_on)
		VALUES ('wd_old', 'TQ1', 's1', 'rent', '07', 100, 'bank_card', $1, '["deed:1"]', 'paid', 'k', 'h', 'zh-CN', 'miniapp', $2, $2, '2026-01-01')`,
		card, time.Now()); err != nil {
		t.Fatal(err)
	}
	stored := func() string {
		t.Helper()
		var v string
		if err := s.QueryRow(ctx, `SELECT payout_account FROM withdrawals WHERE id = 'wd_old'`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"migrate"}, &bytes.Buffer{}, &out); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out.String())
	}
	first := stored()
	if strings.Contains(first, card) || !strings.HasPrefix(first, "hs1.sealing-") || !strings.Contains(out.String(), "sealed 1") {
		t.Fatalf("after migrate payout_account = %q, output %q", first, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"keys", "rotate", "--dir", filepath.Join(dir, "keys"), "--purpose", "sealing"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	kid := strings.TrimSpace(out.String())
	out.Reset()
	if err := run(ctx, []string{"keys", "reseal"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("reseal: %v\n%s", err, out.String())
	}
	if v := stored(); !strings.HasPrefix(v, "hs1."+kid+".") || !strings.Contains(out.String(), "resealed 1") {
		t.Fatalf("after reseal payout_account = %q (want under %s), output %q", v, kid, out.String())
	}
	ring, err := seal.Load(filepath.Join(dir, "keys"), suite.Env())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ring.OpenText(stored(), store.Place{Table: "withdrawals", Column: "payout_account", Row: "wd_old"}); err != nil || got != card {
		t.Fatalf("resealed value opens to %q, %v", got, err)
	}
}

// embeddedStore points the embedded profile at dir and returns its store,
// migrated, as a process from before this binary left it (no ring).
func embeddedStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	t.Setenv("HANDHELD_DATA_DIR", dir)
	s, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "handheld.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHelpListsTheCommands(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help", "help"} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), []string{arg}, &out, &errOut); err != nil {
			t.Fatalf("%s: %v (stderr %q)", arg, err, errOut.String())
		}
		for _, cmd := range []string{"serve", "coresim", "demo", "platformsim", "keys", "bench", "migrate", "version"} {
			if !strings.Contains(out.String(), "  "+cmd+" ") {
				t.Errorf("%s: usage does not list %q:\n%s", arg, cmd, out.String())
			}
		}
	}
}

// A command's own -h prints its flags and succeeds, as --help does.
func TestCommandHelpSucceeds(t *testing.T) {
	for _, args := range [][]string{{"serve", "-h"}, {"coresim", "-h"}, {"bench", "-h"}, {"kiosk-headers", "-h"}, {"kiosk-agent", "-h"}, {"platformsim", "-h"}} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if out.Len()+errOut.Len() == 0 {
			t.Errorf("%v printed nothing", args)
		}
	}
}
