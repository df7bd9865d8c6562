package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	bffemployer "handheld/bff/employer"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/ratelimit"
	"handheld/services/store"
)

const unitCertificates = "/api/v1/employer/certificates"

// pdfText is the text a person's viewer copies out of a PDF (poppler's
// pdftotext; make test installs it), white space collapsed.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext is missing: make test installs it (apt-get install poppler-utils)")
	}
	file := filepath.Join(t.TempDir(), "certificate.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", file, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), "")
}

// TestUnitCertificate is the unit deposit certificate end to end, on
// PostgreSQL with the simulator over HTTP: shop01's clerk issues, lists and
// downloads it; the code its QR points to verifies; another unit cannot
// reach it; revoked, it verifies as revoked. yunqi01, two months behind,
// gets a certificate that states the arrears.
func TestUnitCertificate(t *testing.T) {
	t.Parallel()
	e := start(t, relaxedIssue()) // the refusals below would spend the clerk's daily budget
	shopOp, yunqiOp := e.unitOperator("shop01"), e.unitOperator("yunqi01")
	shop := e.loginEmployer(shopOp).AccessToken
	yunqi := e.loginEmployer(yunqiOp).AccessToken
	body := map[string]string{"type": "unit_deposit", "purpose": "政府采购投标", "lang": "zh-CN"}

	// Refused before anything is issued.
	wantProblem(t, e.bad().do("POST", unitCertificates, body, bearer(shop)), 400, "idempotency.key_missing")
	r := e.bad().do("POST", unitCertificates, map[string]string{"type": "deposit_use"}, idempotent(shop, "u-k1"))
	wantProblem(t, r, 400, "request.invalid")
	if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "type" {
		t.Fatalf("a person's type: %s", r.body)
	}
	wantProblem(t, e.bad().do("POST", unitCertificates, map[string]string{"type": "unit_deposit", "lang": "fr"}, idempotent(shop, "u-k1")), 400, "request.invalid")
	wantProblem(t, e.bad().do("POST", unitCertificates, map[string]any{"type": "unit_deposit", "unit_code": yunqiOp.UnitCode}, idempotent(shop, "u-k1")), 400, "request.unknown_field")
	wantProblem(t, e.bad().do("POST", unitCertificates, `{"type":`, idempotent(shop, "u-k1")), 400, "request.malformed_json")
	dep := e.bindWeChat("openid-unitcert-dep", e.persona("depositor", "张伟")).AccessToken
	wantProblem(t, e.bad().do("POST", unitCertificates, body, idempotent(dep, "u-k1")), 403, "auth.forbidden")
	wantProblem(t, e.bad().do("GET", unitCertificates, nil, nil), 401, "auth.token_missing")
	forged := shop[:len(shop)-4] + flip(shop[len(shop)-4:])
	wantProblem(t, e.bad().do("POST", unitCertificates, body, idempotent(forged, "u-k1")), 401, "auth.token_invalid")

	// Issued once; the same key and body replay it.
	first := e.do("POST", unitCertificates, body, idempotent(shop, "u-k1"))
	if first.StatusCode != 201 || first.Header.Get("Content-Language") != "zh-CN" {
		t.Fatalf("issue %d %s", first.StatusCode, first.body)
	}
	var got bffemployer.UnitIssuedBody
	first.json(t, &got)
	if got.Type != "unit_deposit" || !strings.HasPrefix(got.Number, "330100-") || got.VerifyURL != e.cfg.PublicBase()+"/verify/"+got.VerifyCode {
		t.Fatalf("issued %+v", got)
	}
	replay := e.do("POST", unitCertificates, body, idempotent(shop, "u-k1"))
	if replay.StatusCode != 201 || replay.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(replay.body, first.body) {
		t.Fatalf("replay %d %s", replay.StatusCode, replay.body)
	}

	// Oversize and ill-typed bodies are refused; the same new key twice at
	// once issues once.
	wantProblem(t, e.bad().do("POST", unitCertificates, `{"type":"unit_deposit","purpose":"`+strings.Repeat("a", 70_000)+`"}`, idempotent(shop, "u-big")), 413, "request.too_large")
	wantProblem(t, e.bad().do("POST", unitCertificates, map[string]any{"type": 5}, idempotent(shop, "u-k2")), 400, "request.invalid")
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Go(func() {
			codes[i] = e.do("POST", unitCertificates, map[string]string{"type": "unit_deposit"}, idempotent(shop, "u-twice")).StatusCode
		})
	}
	wg.Wait()
	if codes[0] != 201 && codes[1] != 201 || codes[0] != 201 && codes[0] != 409 || codes[1] != 201 && codes[1] != 409 {
		t.Fatalf("twice at once: %v", codes)
	}
	var twice bffemployer.UnitIssuedBody
	e.do("POST", unitCertificates, map[string]string{"type": "unit_deposit"}, idempotent(shop, "u-twice")).json(t, &twice)

	// Listed, with what it states.
	var page bffemployer.UnitCertificateListBody
	list := e.do("GET", unitCertificates, nil, bearer(shop))
	list.json(t, &page)
	if list.StatusCode != 200 || len(page.Items) != 2 || page.Items[0].ID != twice.ID || page.Items[1].ID != got.ID || page.Items[1].Status != "valid" {
		t.Fatalf("list %d %s", list.StatusCode, list.body)
	}
	if f := page.Items[1].Facts; f.StaffDeposited != 3 || f.InArrears || f.MonthlyFen <= 0 || f.Status != "01" || f.PaidUpTo == "" {
		t.Fatalf("facts %+v", f)
	}

	// The PDF states the unit, and the address its QR code encodes (printed
	// beside it) carries the code that verifies.
	pdf := e.do("GET", got.DownloadURL, nil, nil)
	if pdf.StatusCode != 200 || pdf.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("download %d %s", pdf.StatusCode, pdf.body)
	}
	text := pdfText(t, pdf.body)
	for _, w := range []string{"单位住房公积金缴存证明", "杭州西溪阿芳面馆", shopOp.UnitCode, "缴存职工人数3人", "是否欠缴否", "政府采购投标", "出具日期"} {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF's text lacks %q", w)
		}
	}
	printed := regexp.MustCompile(`/verify/([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})`).FindStringSubmatch(text)
	if printed == nil || got.VerifyCode != printed[1] {
		t.Fatalf("the printed verify address %v, issued %s", printed, got.VerifyCode)
	}
	staff := e.roster(shopOp.UnitCode)
	for _, m := range staff {
		if strings.Contains(text, m.Name) || strings.Contains(text, m.IDNumber) {
			t.Fatalf("the unit's certificate names a staff member")
		}
	}

	// Anyone verifies it: the unit masked, nothing of its staff.
	var v struct {
		Valid    bool   `json:"valid"`
		Status   string `json:"status"`
		Type     string `json:"type"`
		Holder   string `json:"holder"`
		UnitCode string `json:"unit_code"`
	}
	check := e.do("GET", "/api/v1/verify/"+printed[1], nil, nil)
	check.json(t, &v)
	if check.StatusCode != 200 || !v.Valid || v.Status != "valid" || v.Type != "unit_deposit" || v.Holder != "杭州****面馆" || v.UnitCode != "9233**********4N0N" {
		t.Fatalf("verify %d %s", check.StatusCode, check.body)
	}
	page2 := e.do("GET", "/verify/"+got.VerifyCode, nil, nil)
	for _, leak := range append([]string{"杭州西溪阿芳面馆", shopOp.UnitCode}, staffData(staff)...) {
		if bytes.Contains(check.body, []byte(leak)) || bytes.Contains(page2.body, []byte(leak)) {
			t.Fatalf("a public answer carries %q", leak)
		}
	}
	if page2.StatusCode != 200 || !bytes.Contains(page2.body, []byte("9233**********4N0N")) {
		t.Fatalf("verify page %d", page2.StatusCode)
	}

	// Another unit's operator reaches none of it.
	wantProblem(t, e.do("GET", unitCertificates+"/"+got.ID, nil, bearer(yunqi)), 404, "not_found")
	wantProblem(t, e.do("POST", unitCertificates+"/"+got.ID+"/revoke", nil, bearer(yunqi)), 404, "not_found")
	var other bffemployer.UnitCertificateListBody
	e.do("GET", unitCertificates, nil, bearer(yunqi)).json(t, &other)
	if len(other.Items) != 0 {
		t.Fatalf("yunqi01 lists %+v", other.Items)
	}
	wantProblem(t, e.do("GET", certificates+"/"+got.ID, nil, bearer(dep)), 404, "not_found")

	// A unit in arrears gets its certificate, stating the arrears.
	owed := e.do("POST", unitCertificates, map[string]string{"type": "unit_deposit"}, idempotent(yunqi, "u-k1"))
	if owed.StatusCode != 201 {
		t.Fatalf("yunqi01 issue %d %s", owed.StatusCode, owed.body)
	}
	var owedCert bffemployer.UnitIssuedBody
	owed.json(t, &owedCert)
	var detail bffemployer.UnitCertificateDetailBody
	e.do("GET", unitCertificates+"/"+owedCert.ID, nil, bearer(yunqi)).json(t, &detail)
	if !detail.Facts.InArrears || detail.Facts.ArrearsMonths != 2 {
		t.Fatalf("arrears not stated: %+v", detail.Facts)
	}
	if text := pdfText(t, e.do("GET", owedCert.DownloadURL, nil, nil).body); !strings.Contains(text, "是否欠缴是") || !strings.Contains(text, "欠缴月数2个月") || !strings.Contains(text, "三、欠缴情况") {
		t.Fatalf("the PDF does not state the arrears:\n%s", text)
	}

	// Revoked by the unit: it verifies as revoked and is no longer served.
	rv := e.do("POST", unitCertificates+"/"+got.ID+"/revoke", nil, bearer(shop))
	var revoked bffemployer.UnitCertificateBody
	rv.json(t, &revoked)
	if rv.StatusCode != 200 || revoked.Status != "revoked" || revoked.RevokedAt == "" || revoked.DownloadURL != "" {
		t.Fatalf("revoke %d %s", rv.StatusCode, rv.body)
	}
	e.do("GET", "/api/v1/verify/"+got.VerifyCode, nil, nil).json(t, &v)
	if v.Valid || v.Status != "revoked" || v.Type != "unit_deposit" {
		t.Fatalf("verify after revoke %+v", v)
	}
	wantProblem(t, e.do("GET", got.DownloadURL, nil, nil), 404, "not_found")
	e.do("GET", unitCertificates+"/"+got.ID, nil, bearer(shop)).json(t, &detail)
	if detail.Status != "revoked" || detail.UsageCount != 3 || len(detail.Verifications) != 3 {
		t.Fatalf("after revoke %+v", detail)
	}

	// Every issue, read, download and revoke is in the audit trail.
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(t.Context(), e.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rep, err := audit.Verify(t.Context(), s); err != nil || rep.FirstBroken != 0 {
		t.Fatalf("audit chain: %+v %v", rep, err)
	}
	rows, err := s.Query(t.Context(), `SELECT action, target, result FROM audit_log WHERE target = $1 OR (action = 'read.certificates' AND target = 'unit:self')`, "certificate:"+got.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	count := map[string]int{}
	for rows.Next() {
		var action, target, result string
		if err := rows.Scan(&action, &target, &result); err != nil {
			t.Fatal(err)
		}
		count[action+" "+result]++
	}
	if count["certificate.issue ok"] != 1 || count["read.certificates ok"] != 2 || count["certificate.download ok"] != 1 ||
		count["certificate.revoke ok"] != 1 || count["read.certificate ok"] != 1 || count["certificate.verify ok"] != 3 {
		t.Errorf("audit counts %v", count)
	}
}

// staffData is every name and ID number of a roster.
func staffData(staff []core.StaffMember) []string {
	var out []string
	for _, m := range staff {
		out = append(out, m.Name, m.IDNumber)
	}
	return out
}

// TestUnitCertificateBudget: a unit's certificates count against the
// unit's budget as well as the operator's; a replay spends nothing, and
// another unit has its own.
func TestUnitCertificateBudget(t *testing.T) {
	t.Parallel()
	e := start(t, policies(
		ratelimit.Policy{Name: "certificate_issue_subject", Key: ratelimit.KeySubject, Classes: []ratelimit.Class{ratelimit.ClassCertificateIssue},
			Rate: 100, Burst: 100, Period: 24 * time.Hour, Budget: true},
		ratelimit.Policy{Name: "certificate_issue_unit", Key: ratelimit.KeyUnit, Classes: []ratelimit.Class{ratelimit.ClassCertificateIssue},
			Channels: []string{ratelimit.ChannelApp}, Rate: 2, Burst: 2, Period: 24 * time.Hour}))
	shop := e.loginEmployer(e.unitOperator("shop01")).AccessToken
	yunqi := e.loginEmployer(e.unitOperator("yunqi01")).AccessToken
	body := map[string]string{"type": "unit_deposit"}
	for _, key := range []string{"b-1", "b-2"} {
		if r := e.do("POST", unitCertificates, body, idempotent(shop, key)); r.StatusCode != 201 {
			t.Fatalf("issue %s: %d %s", key, r.StatusCode, r.body)
		}
	}
	r := e.do("POST", unitCertificates, body, idempotent(shop, "b-3"))
	wantProblem(t, r, 429, "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Fatalf("429 without Retry-After: %v", r.Header)
	}
	if r := e.do("POST", unitCertificates, body, idempotent(shop, "b-1")); r.StatusCode != 201 || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay over the budget: %d %s", r.StatusCode, r.body)
	}
	if r := e.do("POST", unitCertificates, body, idempotent(yunqi, "b-1")); r.StatusCode != 201 {
		t.Fatalf("another unit: %d %s", r.StatusCode, r.body)
	}
}
