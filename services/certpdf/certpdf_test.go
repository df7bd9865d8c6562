package certpdf_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"handheld/locales"
	"handheld/services/certificate"
	"handheld/services/certpdf"
	"handheld/templates"
)

// signature is shaped like the compact JWS the certificate service signs.
const signature = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsyMDI2In0.eyJudW0iOiIzMzAxMDAtMjAyNi0wMDAxMjMiLCJzdWIiOiJhYmMifQ.MEUCIQDx-_9k3Jp2q0vYw8n1cQ"

// fallbackFont is the fallback font unpacked once for all tests.
var fallbackFont = sync.OnceValues(func() ([]byte, error) {
	return certpdf.ReadFont(templates.FS, certpdf.FallbackFontPath)
})

// mainFont is the main certificate font and the message catalogue, as
// the wiring point passes them to New.
func mainFont(t testing.TB) ([]byte, *locales.Catalogs) {
	t.Helper()
	font, err := fs.ReadFile(templates.FS, certpdf.FontPath)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	return font, cat
}

// newRenderer is a Renderer as the wiring point builds it: the main font
// and the fallback.
func newRenderer(t testing.TB) *certpdf.Renderer {
	t.Helper()
	font, cat := mainFont(t)
	r, err := certpdf.New(font, templates.FS, cat, fallbackFont)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// inUnicodeMap reports whether a font's ToUnicode map in pdf maps a glyph
// to r, in UTF-16BE as the PDF standard asks (a surrogate pair above
// U+FFFF).
func inUnicodeMap(pdf []byte, r rune) bool {
	var hex strings.Builder
	for _, u := range utf16.Encode([]rune{r}) {
		fmt.Fprintf(&hex, "%04X", u)
	}
	return bytes.Contains(pdf, []byte("><"+hex.String()+">\n"))
}

// fullDocument has every part: a loan, a purpose, 14 months, no gaps.
func fullDocument() certificate.Document {
	cst := time.FixedZone("CST", 8*3600)
	d := certificate.Document{
		Type:        certificate.TypeDepositUse,
		Number:      "330100-2026-000123",
		Purpose:     "异地购房贷款申请（上海市住房公积金管理中心）",
		CentreName:  "杭州住房公积金管理中心",
		HolderName:  "张三",
		IDNumber:    "11010119900307123X",
		AccountNo:   "330100123456789",
		StatusCode:  "01",
		UnitName:    "杭州市西湖区某某信息技术有限公司（含分支机构及驻外办事处）",
		OpenedOn:    "2014-07-01",
		BaseFen:     1_250_000,
		PersonalFen: 150_000,
		UnitFen:     150_000,
		BalanceFen:  12_345_678,
		Continuous:  140,
		Loan:        certificate.LoanUse{HasLoan: true, PrincipalFen: 80_000_000, OutstandingFen: 51_234_567},
		IssuedAt:    time.Date(2026, 3, 5, 10, 30, 0, 0, cst),
		ExpiresAt:   time.Date(2026, 4, 4, 23, 59, 59, 0, cst),
		VerifyURL:   "https://gjj.example.gov.cn/verify/7KQ2M9XD4T8WJ3HR",
		VerifyCode:  "7KQ2-M9XD-4T8W-J3HR",
		Signature:   signature,
	}
	for i := range 14 {
		m := time.Date(2026, time.Month(2-i), 1, 0, 0, 0, 0, time.UTC)
		d.Months = append(d.Months, certificate.MonthRow{Month: m.Format("2006-01"), AmountFen: 300_000})
	}
	return d
}

// variations are the shapes the tests render besides the full document.
func variations() map[string]certificate.Document {
	noLoan := fullDocument()
	noLoan.Loan = certificate.LoanUse{}
	noLoan.Purpose = ""

	gaps := fullDocument()
	gaps.StatusCode = "02"
	gaps.Continuous = 3
	gaps.Months[3].AmountFen, gaps.Months[7].AmountFen = 0, 0
	gaps.Gaps = []string{gaps.Months[3].Month, gaps.Months[7].Month}

	compound := fullDocument()
	compound.HolderName = "欧阳晓"
	compound.Loan.Settled, compound.Loan.OutstandingFen = true, 0

	long := fullDocument()
	for i := 14; i < 36; i++ {
		m := time.Date(2026, time.Month(2-i), 1, 0, 0, 0, 0, time.UTC)
		long.Months = append(long.Months, certificate.MonthRow{Month: m.Format("2006-01"), AmountFen: 280_050})
	}
	return map[string]certificate.Document{
		"full": fullDocument(), "no-loan": noLoan, "gaps": gaps, "compound-surname": compound, "36-months": long,
	}
}

func TestRender(t *testing.T) {
	r := newRenderer(t)
	for name, d := range variations() {
		for _, lang := range []string{locales.ZhCN, locales.En} {
			for _, variant := range []string{certpdf.VariantStandard, certpdf.VariantPrint} {
				t.Run(fmt.Sprintf("%s/%s/%q", name, lang, variant), func(t *testing.T) {
					t.Parallel()
					pdf, err := r.Render(d, lang, variant)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
						t.Fatalf("output starts %q, want %%PDF-", pdf[:min(8, len(pdf))])
					}
					if len(pdf) >= 100_000 {
						t.Errorf("PDF is %d bytes, want < 100 KB (is the font subset?)", len(pdf))
					}
					if !bytes.Contains(pdf, []byte("/FontFile2")) {
						t.Error("the font is not embedded")
					}
					for _, r := range d.HolderName + d.CentreName {
						// The ToUnicode map lists every character drawn.
						if !inUnicodeMap(pdf, r) {
							t.Errorf("%q is not in the PDF's font", r)
						}
					}
					if dir := os.Getenv("CERTPDF_OUT"); dir != "" {
						name := fmt.Sprintf("%s/%s-%s-%s.pdf", dir, name, lang, map[string]string{"": "standard", "print": "print"}[variant])
						if err := os.WriteFile(name, pdf, 0o644); err != nil {
							t.Fatal(err)
						}
					}
				})
			}
		}
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	r := newRenderer(t)
	for _, lang := range []string{locales.ZhCN, locales.En} {
		first, err := r.Render(fullDocument(), lang, "")
		if err != nil {
			t.Fatal(err)
		}
		second, err := newRenderer(t).Render(fullDocument(), lang, "")
		if err != nil {
			t.Fatal(err)
		}
		if a, b := sha256.Sum256(first), sha256.Sum256(second); a != b {
			t.Errorf("%s: two renders differ: %x vs %x", lang, a, b)
		}
		changed := fullDocument()
		changed.BalanceFen++
		third, err := r.Render(changed, lang, "")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(first, third) {
			t.Errorf("%s: a different balance rendered the same bytes", lang)
		}
	}
}

// TestSigningKeepsTheBody follows issuance: render unsigned, then signed.
// The signed PDF must be what a fresh renderer makes of the signed
// document (the body cache changes nothing), and differ from the unsigned
// one only after the body.
func TestSigningKeepsTheBody(t *testing.T) {
	r := newRenderer(t)
	unsigned := fullDocument()
	unsigned.Signature = ""
	first, err := r.Render(unsigned, locales.ZhCN, "standard")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := r.Render(fullDocument(), locales.ZhCN, "standard")
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := newRenderer(t).Render(fullDocument(), locales.ZhCN, certpdf.VariantStandard)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(signed, fresh) {
		t.Fatal("signed after unsigned differs from a fresh render of the signed document")
	}
	body := bytes.Index(first, []byte("%%EOF\n")) + len("%%EOF\n")
	if !bytes.HasPrefix(signed, first[:body]) {
		t.Fatal("signing changed the PDF body")
	}
}

func TestSignatureRoundTrip(t *testing.T) {
	r := newRenderer(t)
	pdf, err := r.Render(fullDocument(), locales.ZhCN, certpdf.VariantPrint)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := certpdf.SignatureOf(pdf); !ok || got != signature {
		t.Fatalf("SignatureOf = %q, %v; want %q, true", got, ok, signature)
	}

	unsigned := fullDocument()
	unsigned.Signature = ""
	pdf, err = r.Render(unsigned, locales.ZhCN, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := certpdf.SignatureOf(pdf); ok {
		t.Fatalf("unsigned PDF: SignatureOf = %q, true", got)
	}
	if _, ok := certpdf.SignatureOf([]byte("%PDF-1.7 not ours")); ok {
		t.Fatal("SignatureOf found a signature in a PDF without one")
	}
}

func TestRenderRejects(t *testing.T) {
	r := newRenderer(t)
	bad := func(mutate func(*certificate.Document)) certificate.Document {
		d := fullDocument()
		mutate(&d)
		return d
	}
	cases := []struct {
		name          string
		d             certificate.Document
		lang, variant string
	}{
		{"unknown type", bad(func(d *certificate.Document) { d.Type = "income" }), locales.ZhCN, ""},
		{"unknown language", fullDocument(), "fr", ""},
		{"unknown variant", fullDocument(), locales.ZhCN, "sepia"},
		{"signature not a JWS", bad(func(d *certificate.Document) { d.Signature = "a) /Keywords (forged" }), locales.ZhCN, ""},
		{"no verify URL", bad(func(d *certificate.Document) { d.VerifyURL = "" }), locales.En, ""},
	}
	for _, tc := range cases {
		if _, err := r.Render(tc.d, tc.lang, tc.variant); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// BenchmarkRender renders a different document each time (nothing cached):
// the cost of the first render of an issuance.
func BenchmarkRender(b *testing.B) {
	r := newRenderer(b)
	d := fullDocument()
	var size int
	b.ReportAllocs()
	for b.Loop() {
		d.BalanceFen++
		pdf, err := r.Render(d, locales.ZhCN, "")
		if err != nil {
			b.Fatal(err)
		}
		size = len(pdf)
	}
	b.ReportMetric(float64(size), "pdf-bytes")
}

// BenchmarkIssue renders as issuance does: unsigned, then signed.
func BenchmarkIssue(b *testing.B) {
	r := newRenderer(b)
	d := fullDocument()
	b.ReportAllocs()
	for b.Loop() {
		d.BalanceFen++
		d.Signature = ""
		if _, err := r.Render(d, locales.ZhCN, "standard"); err != nil {
			b.Fatal(err)
		}
		d.Signature = signature
		if _, err := r.Render(d, locales.ZhCN, "standard"); err != nil {
			b.Fatal(err)
		}
	}
}
