package certpdf_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"handheld/locales"
)

// pdfText is the text a person's viewer copies out of pdf, read with
// Debian's poppler-utils (make test installs them).
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext is missing: make test installs it (apt-get install poppler-utils)")
	}
	file := filepath.Join(t.TempDir(), "certificate.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	read := exec.Command("pdftotext", "-enc", "UTF-8", file, "-")
	read.Stderr = &stderr
	text, err := read.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("pdftotext: %v %s", err, stderr.String())
	}
	return string(text)
}

// TestDatesAreTheCentresDays: a certificate issued at 01:32 in Shanghai
// is stored in UTC, where it is still the day before; the PDF prints the
// centre's day, as the API and the verify page do.
func TestDatesAreTheCentresDays(t *testing.T) {
	r := newRenderer(t)
	d := fullDocument()
	d.IssuedAt = time.Date(2026, 11, 24, 17, 32, 0, 0, time.UTC) // 2026-11-25 01:32 CST
	d.ExpiresAt = d.IssuedAt.Add(30 * 24 * time.Hour)
	for lang, c := range map[string]struct{ want, wrong string }{
		locales.ZhCN: {"2026年11月25日", "2026年11月24日"},
		locales.En:   {"25 November 2026", "24 November 2026"},
	} {
		pdf, err := r.Render(d, lang, "")
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(strings.Fields(pdfText(t, pdf)), "")
		want, wrong := strings.ReplaceAll(c.want, " ", ""), strings.ReplaceAll(c.wrong, " ", "")
		if !strings.Contains(text, want) || strings.Contains(text, wrong) {
			t.Errorf("%s: the PDF's text does not date the certificate %s:\n%s", lang, c.want, text)
		}
		if !bytes.Contains(pdf, []byte("/CreationDate (D:20261125013200+08'00')")) {
			t.Errorf("%s: the creation date is not the centre's time", lang)
		}
	}
}
