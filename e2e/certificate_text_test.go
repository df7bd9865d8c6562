package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// TestCertificateRareNameAndBadPurposes: a depositor whose name has a CJK
// Extension B character (林晓𪚥, seeded by the core simulator) gets a
// certificate that shows it, and purposes that cannot be printed or cannot
// be a purpose are refused with a field error, nothing written and the
// idempotency key still free.
func TestCertificateRareNameAndBadPurposes(t *testing.T) {
	t.Parallel()
	e := start(t, relaxedIssue())
	lin := e.persona("depositor", "林晓𪚥")
	tok := e.bindWeChat("openid-cert-lin", lin).AccessToken

	bad := []struct {
		name, body, code string
	}{
		{"emoji", `{"type":"deposit_use","purpose":"买房😀"}`, "unprintable"},
		{"bidi override", `{"type":"deposit_use","purpose":"购房\u202e款贷"}`, "format"},
		{"bidi isolate", `{"type":"deposit_use","purpose":"购房\u2067贷款"}`, "format"},
		{"control", `{"type":"deposit_use","purpose":"购房\u0007贷款"}`, "format"},
		{"newline", `{"type":"deposit_use","purpose":"购房\n贷款"}`, "format"},
		{"zero-width joiner", `{"type":"deposit_use","purpose":"购房\u200d贷款"}`, "format"},
		{"private use", `{"type":"deposit_use","purpose":"购房\ue000"}`, "format"},
		{"unassigned", `{"type":"deposit_use","purpose":"购房\u0378"}`, "format"},
		{"noncharacter", `{"type":"deposit_use","purpose":"购房\uffff"}`, "format"},
		{"combining marks", `{"type":"deposit_use","purpose":"a\u0489\u0489\u0489"}`, "format"},
		{"very long", `{"type":"deposit_use","purpose":"` + strings.Repeat("𠮷", 101) + `"}`, "too_long"},
	}
	for _, tc := range bad {
		h := bearer(tok)
		h.Set("Idempotency-Key", "cert-text-1")
		r := e.bad().do("POST", certificates, tc.body, h)
		wantProblem(t, r, 400, "request.invalid")
		if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "purpose" || p.Errors[0].Code != tc.code {
			t.Errorf("%s: %s, want a %s error on purpose", tc.name, r.body, tc.code)
		}
	}
	// Text that is not UTF-8 is not JSON: the strict decoder refuses it
	// before any field is read.
	for _, body := range []string{`{"type":"deposit_use","purpose":"购房\ud800贷款"}`,
		"{\"type\":\"deposit_use\",\"purpose\":\"购房\xff贷款\"}"} {
		h := bearer(tok)
		h.Set("Idempotency-Key", "cert-text-1")
		wantProblem(t, e.do("POST", certificates, body, h), 400, "request.malformed_json")
	}
	list := e.meGet(certificates, tok)
	if list.StatusCode != 200 || bytes.Contains(list.body, []byte(`"id"`)) {
		t.Fatalf("refused purposes left certificates: %d %s", list.StatusCode, list.body)
	}

	// The key is still free; a purpose with rare characters is printable.
	r := e.issue(tok, "cert-text-1", map[string]string{"type": "deposit_use", "purpose": "购房贷款（𡈽楼）"})
	if r.StatusCode != 201 || r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("issue %d %s", r.StatusCode, r.body)
	}
	var got issuedCert
	r.json(t, &got)
	pdf := e.do("GET", got.DownloadURL, nil, nil)
	if pdf.StatusCode != 200 || !bytes.HasPrefix(pdf.body, []byte("%PDF")) {
		t.Fatalf("download %d", pdf.StatusCode)
	}
	// The rare characters are drawn from the fallback font and can be
	// copied out: the fonts' ToUnicode maps name them in UTF-16.
	for _, c := range "𪚥𡈽" {
		u := utf16.Encode([]rune{c})
		if !bytes.Contains(pdf.body, fmt.Appendf(nil, "><%04X%04X>\n", u[0], u[1])) {
			t.Errorf("%c is not in the PDF's fonts", c)
		}
	}
	if n := bytes.Count(pdf.body, []byte("/FontFile2")); n != 2 {
		t.Errorf("%d fonts embedded, want the main font and the fallback", n)
	}
	readPDF(t, pdf.body, lin.Name, "𡈽楼")

	// The verify page and API show the masked name, one star a character.
	v := e.do("GET", "/api/v1/verify/"+got.VerifyCode, nil, nil)
	var answer verdict
	v.json(t, &answer)
	if v.StatusCode != 200 || answer.Holder != "林**" {
		t.Fatalf("verify %d %s", v.StatusCode, v.body)
	}
	page := e.do("GET", "/verify/"+got.VerifyCode, nil, nil)
	if page.StatusCode != 200 || !strings.Contains(string(page.body), `class="holder">林**<`) {
		t.Fatalf("verify page %d %s", page.StatusCode, page.body)
	}
	wantNoNameOrID(t, page.body, lin)
}

// readPDF draws the PDF's first page and reads its text back with
// Debian's poppler-utils (make test installs them), as a person's viewer
// would: nothing may fail, and every wanted text must be there.
func readPDF(t *testing.T, pdf []byte, want ...string) {
	t.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Fatal("pdftoppm is missing: make test installs it (apt-get install poppler-utils)")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "certificate.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	draw := exec.Command("pdftoppm", "-png", "-r", "72", "-f", "1", "-l", "1", file, filepath.Join(dir, "page"))
	draw.Stderr = &stderr
	if err := draw.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("pdftoppm: %v %s", err, stderr.String())
	}
	if pages, _ := filepath.Glob(filepath.Join(dir, "page*.png")); len(pages) != 1 {
		t.Fatalf("pdftoppm drew %d pages", len(pages))
	}
	stderr.Reset()
	read := exec.Command("pdftotext", "-enc", "UTF-8", file, "-")
	read.Stderr = &stderr
	text, err := read.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("pdftotext: %v %s", err, stderr.String())
	}
	for _, w := range want {
		if !strings.Contains(string(text), w) {
			t.Errorf("the PDF's text lacks %q", w)
		}
	}
}

// readPDFJoined is readPDF for texts a line may break anywhere (a long
// Chinese sentence): the page's text is read with its line breaks and
// spaces taken out, and so are the wanted texts.
func readPDFJoined(t *testing.T, pdf []byte, want ...string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "certificate.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command("pdftotext", "-enc", "UTF-8", file, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	squeeze := strings.NewReplacer("\n", "", " ", "", "\u3000", "")
	joined := squeeze.Replace(string(text))
	for _, w := range want {
		if !strings.Contains(joined, squeeze.Replace(w)) {
			t.Errorf("the PDF's text lacks %q", w)
		}
	}
}
