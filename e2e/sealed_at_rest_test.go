package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"handheld/bff"
	"handheld/bff/employer"
	"handheld/services/core"
	"handheld/services/store"
)

// The journeys that store personal data leave none of it readable at rest:
// not in any column of any table on PostgreSQL, not in any byte of the
// SQLite file. What is searched for is every demo person's name, ID number,
// phone and bank card as the core knows them, the openids and the wallet id
// the test uses, and any PDF stored as such.
func TestPersonalDataSealedAtRestPostgres(t *testing.T) {
	t.Parallel()
	e := start(t, fastWithdrawals, relaxedIssue())
	secrets := e.storeJourneys()
	s, err := store.Open(context.Background(), e.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, hit := range scanPostgres(t, s, secrets) {
		t.Error(hit)
	}
}

func TestPersonalDataSealedAtRestSQLite(t *testing.T) {
	t.Parallel()
	e := start(t, fastWithdrawals, relaxedIssue(), func(c *bff.Config) { c.DatabaseURL = "" })
	secrets := e.storeJourneys()
	// Stopping closes the last connection, which checkpoints the WAL into
	// the file; whatever is left in a -wal file is scanned too.
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(e.cfg.StoreDSN(), "sqlite:")
	scanned := 0
	for _, f := range []string{path, path + "-wal", path + "-journal"} {
		raw, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		scanned += len(raw)
		for _, hit := range findSecrets(raw, secrets) {
			t.Errorf("%s: %s", filepath.Base(f), hit)
		}
	}
	if scanned < 4096 {
		t.Fatalf("scanned %d bytes of SQLite files: the check would prove nothing", scanned)
	}
}

// sealedDeed is 李娜's deed number as the sharing simulator answers it.
const sealedDeed = "浙(2026)杭州市不动产权第0081562号"

// storeJourneys runs every journey that hands handheld personal data to
// keep — WeChat binding, a certificate issued and downloaded, an e-card
// verified, withdrawals to a bank card and to an e-CNY wallet, paid and
// notified — and returns what must not be found at rest.
func (e *env) storeJourneys() []string {
	t := e.t
	t.Helper()
	zhang, lina := e.persona("depositor", "张伟"), e.persona("depositor", "李娜")
	zhangTok := e.bindWeChat("o-sealed-zhang", zhang).AccessToken
	linaTok := e.bindWeChat("o-sealed-lina", lina).AccessToken
	e.grantWeChat(zhangTok, caseTemplate, 3)
	e.grantWeChat(linaTok, caseTemplate, 3)

	r := e.issue(zhangTok, "sealed-cert-1", map[string]string{"type": "deposit_use", "purpose": "异地购房贷款"})
	if r.StatusCode != 201 {
		t.Fatalf("issue %d %s", r.StatusCode, r.body)
	}
	var cert issuedCert
	r.json(t, &cert)
	if pdf := e.do("GET", cert.DownloadURL, nil, nil); pdf.StatusCode != 200 || !bytes.HasPrefix(pdf.body, []byte("%PDF-")) {
		t.Fatalf("download %d: the sealed PDF must still download as a PDF", pdf.StatusCode)
	}
	if print := e.do("GET", cert.DownloadURL+"&variant=print", nil, nil); print.StatusCode != 200 {
		t.Fatalf("print variant %d: the sealed document must still render", print.StatusCode)
	}

	card := e.ecard(zhangTok)
	if v := e.do("POST", "/api/v1/ecard/verify", map[string]string{"payload": card.Payload}, bearer(e.verifierToken())); v.StatusCode != 200 {
		t.Fatalf("e-card verify %d %s", v.StatusCode, v.body)
	}

	r = e.apply(zhangTok, "sealed-wd-1", map[string]any{"type": "loan_repayment", "amount_fen": 100_000,
		"payout": payoutTo(t, zhang, "ecny")})
	if r.StatusCode != 202 {
		t.Fatalf("apply ecny %d %s", r.StatusCode, r.body)
	}
	var ecny accepted
	r.json(t, &ecny)
	r = e.apply(linaTok, "sealed-wd-2", rent(150_000, payoutTo(t, lina, "bank_card")))
	if r.StatusCode != 202 {
		t.Fatalf("apply rent %d %s", r.StatusCode, r.body)
	}
	var rented accepted
	r.json(t, &rented)
	if paid := e.waitStatus(linaTok, rented.ID, "paid"); !strings.Contains(paid.Payout.Account, "****") {
		t.Fatalf("payout %+v: the card must still read back, masked", paid.Payout)
	}
	e.waitStatus(zhangTok, ecny.ID, "paid")
	if got := e.wechat.Sent(); len(got) == 0 {
		t.Fatal("no notification was sent: the sealed openid must still open")
	}
	if r := e.do("POST", "/api/v1/me/applications/"+rented.ID+"/rating", map[string]any{"level": 5, "comment": "很快"},
		bearer(linaTok)); r.StatusCode != 201 {
		t.Fatalf("rating %d %s", r.StatusCode, r.body)
	}
	// A print at the kiosk waits for its printer with the PDF sealed; the
	// printed one's PDF is gone.
	dev := e.deviceToken()
	kioskTok := e.loginKiosk(dev, zhang).AccessToken
	for i, doc := range []string{"deposit_statement", "loan_statement"} {
		if r := e.print(kioskTok, "sealed-print-"+doc, map[string]string{"document": doc}); r.StatusCode != 201 {
			t.Fatalf("print %s %d %s", doc, r.StatusCode, r.body)
		} else if i == 0 {
			var j printJob
			r.json(t, &j)
			if pdf := e.do("GET", printJobs+"/"+j.ID+"/document", nil, bearer(dev)); !bytes.HasPrefix(pdf.body, []byte("%PDF-")) {
				t.Fatalf("print document %d: the sealed PDF must still open", pdf.StatusCode)
			}
		}
	}
	// Evidence from shared data: the deed's number and date are kept
	// (in the consent and the stored idempotent answer), sealed.
	if r := e.lookup(linaTok, "sealed-lookup-1", map[string]any{"kind": "purchase", "consent": true}); r.StatusCode != 201 ||
		!strings.Contains(string(r.body), sealedDeed) {
		t.Fatalf("lookup %d %s", r.StatusCode, r.body)
	}
	if r := e.meGet(withdrawals+"/eligibility?type=purchase", linaTok); !strings.Contains(string(r.body), sealedDeed) {
		t.Fatalf("the sealed facts must still open: %s", r.body)
	}
	// An employer's join: the newcomer's name and ID number are kept
	// until the core has them, sealed.
	shopTok := e.loginEmployer(e.unitOperator("shop01")).AccessToken
	joinName, joinID := "钟雨桐", withCheck("33010619970215004")
	r = e.do("POST", "/api/v1/employer/staff", map[string]any{"name": joinName, "id_number": joinID, "base_fen": 500_000,
		"start_month": time.Now().Format("2006-01")}, idempotent(shopTok, "sealed-join-1"))
	if r.StatusCode != 202 {
		t.Fatalf("join %d %s", r.StatusCode, r.body)
	}
	var joined employer.StaffChangeBody
	r.json(t, &joined)
	if v := e.followChange(shopTok, joined.ID); v.Status != "done" || v.Name == joinName || v.Name == "" {
		t.Fatalf("join %+v: the sealed applicant must still open, masked", v)
	}
	return append(e.personalData(), "o-sealed-zhang", "o-sealed-lina", joinName, joinID, sealedDeed, "杭网签备(2026)第1107号")
}

// personalData is every demo person's name, ID number, phone and bank card,
// the last two as the core holds them.
func (e *env) personalData() []string {
	e.t.Helper()
	c, err := core.NewClient(core.ClientConfig{BaseURL: e.simURL, KeyID: "handheld", Secret: []byte(coreSecret)})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, p := range e.sim.Personas() {
		if p.IDNumber == "" {
			continue
		}
		person, err := c.VerifyRealName(context.Background(), p.Name, p.IDNumber)
		if err != nil {
			e.t.Fatalf("persona %s: %v", p.Name, err)
		}
		if person.Phone == "" {
			e.t.Fatalf("persona %s has no phone: the check would prove less", p.Name)
		}
		out = append(out, p.Name, p.IDNumber, person.Phone)
		if person.BankCard != "" {
			out = append(out, person.BankCard)
		}
		for _, a := range p.PayoutAccounts {
			out = append(out, a.Number)
		}
	}
	return out
}

// scanPostgres reads every row of every table in the store's schema, each
// column as the driver returns it (bytes for BYTEA) and the row as
// PostgreSQL renders it as text, and reports where a secret shows.
func scanPostgres(t *testing.T, s *store.Store, secrets []string) []string {
	t.Helper()
	ctx := context.Background()
	tables, err := s.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	if len(names) < 10 {
		t.Fatalf("found %d tables: the scan would prove nothing", len(names))
	}
	var hits []string
	rowsSeen := 0
	for _, table := range names {
		rows, err := s.Query(ctx, fmt.Sprintf(`SELECT t::text, t.* FROM %q t`, table))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			rowsSeen++
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				var raw []byte
				switch v := v.(type) {
				case []byte:
					raw = v
				case string:
					raw = []byte(v)
				default:
					raw = fmt.Appendf(nil, "%v", v)
				}
				col := cols[i]
				if i == 0 {
					col = "(row as text)"
				}
				for _, hit := range findSecrets(raw, secrets) {
					hits = append(hits, fmt.Sprintf("%s.%s: %s", table, col, hit))
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if rowsSeen < 20 {
		t.Fatalf("read %d rows: the scan would prove nothing", rowsSeen)
	}
	return hits
}

// findSecrets reports each secret found in raw in one of the forms a
// database stores text in (UTF-8, UTF-16 either way round), and a PDF kept
// as such (its text is compressed, so the magic number is the tell).
func findSecrets(raw []byte, secrets []string) []string {
	var hits []string
	for _, s := range secrets {
		for form, enc := range map[string][]byte{"utf-8": []byte(s), "utf-16le": utf16Bytes(s, binary.LittleEndian),
			"utf-16be": utf16Bytes(s, binary.BigEndian)} {
			if bytes.Contains(raw, enc) {
				hits = append(hits, fmt.Sprintf("%q in clear (%s)", maskSecret(s), form))
			}
		}
	}
	if bytes.Contains(raw, []byte("%PDF-")) {
		hits = append(hits, "a PDF in clear")
	}
	return hits
}

func utf16Bytes(s string, order binary.AppendByteOrder) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return out
}

// mask keeps a failure message from printing the secret it found.
func maskSecret(s string) string {
	r := []rune(s)
	if len(r) <= 2 {
		return string(r[:1]) + "*"
	}
	return string(r[:2]) + strings.Repeat("*", len(r)-4) + string(r[len(r)-2:])
}
