package certpdf_test

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"handheld/locales"
	"handheld/services/certificate"
	"handheld/services/certpdf"
)

// plainDocument is a statement long enough for three pages.
func plainDocument() certpdf.Plain {
	p := certpdf.Plain{
		Issuer: "杭州住房公积金管理中心", Title: "住房公积金缴存明细", Subtitle: "期间：2024-01 至 2026-11",
		Intro: "兹证明林晓𪚥的住房公积金贷款已全部还清。",
		Facts: [][2]string{{"姓名", "林晓𪚥"}, {"身份证号码", "330106199108153282"}, {"期初余额（元）", "12,345.60"}},
		Table: &certpdf.PlainTable{Heading: "缴存及提取明细", Columns: []string{"日期", "所属月份", "业务类型", "发生额（元）", "余额（元）"},
			Widths: []float64{0.22, 0.16, 0.18, 0.22, 0.22}, Right: []bool{false, false, false, true, true}, Empty: "本期间没有业务记录"},
		After:   [][2]string{{"期末余额（元）", "99,999.00"}},
		Notes:   []string{"打印时间：2026-12-06 10:15；打印地点：市民中心一楼", "核验说明：打印编号 0123456789abcdef0123456789abcdef。"},
		Footer:  "第 {page} 页，共 {pages} 页",
		Seal:    "杭州住房公积金管理中心",
		Signoff: []string{"杭州住房公积金管理中心", "2026-12-06"},
		Created: time.Date(2026, 12, 6, 2, 15, 0, 0, time.UTC),
	}
	for i := range 80 {
		p.Table.Rows = append(p.Table.Rows, []string{"2025-01-20", "2025-01", "汇缴", strconv.Itoa(1000 + i), "12,345.60"})
	}
	return p
}

// contentStreams inflates every Flate stream of pdf and joins them: the
// page descriptions, where the drawing operators are.
func contentStreams(t *testing.T, pdf []byte) string {
	t.Helper()
	var out strings.Builder
	for _, m := range regexp.MustCompile(`(?s)stream\r?\n(.*?)endstream`).FindAllSubmatch(pdf, -1) {
		r, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			out.Write(m[1]) // not compressed
			continue
		}
		b, _ := io.ReadAll(r)
		out.Write(b)
		out.WriteByte('\n')
	}
	return out.String()
}

// checkPrintStyle asserts what a kiosk printer needs: A4 pages, nothing
// but black, white and gray, and no text smaller than minSize points
// outside the seal.
func checkPrintStyle(t *testing.T, pdf []byte, minSize float64) {
	t.Helper()
	boxes := regexp.MustCompile(`/MediaBox \[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]`).FindAllSubmatch(pdf, -1)
	if len(boxes) == 0 {
		t.Fatal("no MediaBox")
	}
	for _, b := range boxes {
		w, _ := strconv.ParseFloat(string(b[1]), 64)
		h, _ := strconv.ParseFloat(string(b[2]), 64)
		if w < 595 || w > 596 || h < 841 || h > 842 {
			t.Fatalf("MediaBox %sx%s, want A4 (595.28x841.89)", b[1], b[2])
		}
	}
	content := contentStreams(t, pdf)
	colour := regexp.MustCompile(`([0-9.]+) ([0-9.]+) ([0-9.]+) (rg|RG)\b`)
	n := 0
	for _, m := range colour.FindAllStringSubmatch(content, -1) {
		n++
		if m[1] != m[2] || m[2] != m[3] {
			t.Fatalf("colour operator %q is not gray or black", m[0])
		}
	}
	if n == 0 {
		t.Fatal("no rg/RG operators: colours not found")
	}
	if m := regexp.MustCompile(`(?m)^[0-9. ]+ (k|K|sc|SC|scn|SCN)$`).FindString(content); m != "" || bytes.Contains(pdf, []byte("/DeviceCMYK")) {
		t.Fatalf("colour outside DeviceRGB gray: %q", m)
	}
	sizes := regexp.MustCompile(`/F\d+ ([0-9.]+) Tf`).FindAllStringSubmatch(content, -1)
	if len(sizes) == 0 {
		t.Fatal("no font sizes found")
	}
	for _, s := range sizes {
		// Only the seal's ring text (at most 0.22 of its 44 pt radius) and
		// the QR code's caption may be smaller.
		if v, _ := strconv.ParseFloat(s[1], 64); v < minSize && v > 10.5 {
			t.Errorf("text at %s pt, want at least %g", s[1], minSize)
		}
	}
}

// TestPlainPrintStyle: a statement is A4, black and white, in type of 14
// pt for the body (12 for the notes), with every page numbered and its
// text readable as a person's viewer copies it, rare characters included.
func TestPlainPrintStyle(t *testing.T) {
	r := newRenderer(t)
	p := plainDocument()
	pdf, err := r.RenderPlain(p)
	if err != nil {
		t.Fatal(err)
	}
	checkPrintStyle(t, pdf, certpdf.PlainSmall)
	content := contentStreams(t, pdf)
	if !strings.Contains(content, fmt.Sprintf(" %d Tf", certpdf.PlainBody)) && !regexp.MustCompile(`/F\d+ 14(\.0+)? Tf`).MatchString(content) {
		t.Fatal("no 14 pt body text")
	}
	text := pdfText(t, pdf)
	pages := len(regexp.MustCompile(`/Type\s*/Page\b[^s]`).FindAll(pdf, -1))
	if pages < 2 {
		t.Fatalf("%d pages, want the 80 rows to break over several", pages)
	}
	for _, want := range []string{"杭州住房公积金管理中心", "住房公积金缴存明细", "林晓𪚥", "期末余额", "99,999.00",
		fmt.Sprintf("第 1 页，共 %d 页", pages), fmt.Sprintf("第 %d 页，共 %d 页", pages, pages), "市民中心一楼", "日期"} {
		if !strings.Contains(strings.ReplaceAll(text, "\n", ""), want) && !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	again, _ := r.RenderPlain(p)
	if !bytes.Equal(pdf, again) {
		t.Error("the same document rendered twice differs")
	}
	for name, bad := range map[string]func(*certpdf.Plain){
		"no title":       func(p *certpdf.Plain) { p.Title = " " },
		"ragged table":   func(p *certpdf.Plain) { p.Table.Rows[3] = []string{"x"} },
		"missing widths": func(p *certpdf.Plain) { p.Table.Widths = nil },
		"missing issuer": func(p *certpdf.Plain) { p.Issuer = "" },
	} {
		p := plainDocument()
		bad(&p)
		if _, err := r.RenderPlain(p); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
}

// TestPlainEmptyTable: a period without entries prints the empty line.
func TestPlainEmptyTable(t *testing.T) {
	p := plainDocument()
	p.Table.Rows = nil
	pdf, err := newRenderer(t).RenderPlain(p)
	if err != nil {
		t.Fatal(err)
	}
	if text := pdfText(t, pdf); !strings.Contains(text, "本期间没有业务记录") || !strings.Contains(text, "第 1 页，共 1 页") {
		t.Fatalf("text: %s", text)
	}
}

// TestCertificatePrintVariantIsLargeType: the deposit-and-use
// certificate's print variant, which kiosks print, is black and white in
// body type of 14 pt or more.
func TestCertificatePrintVariantIsLargeType(t *testing.T) {
	r := newRenderer(t)
	for _, lang := range []string{locales.ZhCN, locales.En} {
		pdf, err := r.Render(fullDocument(), lang, certpdf.VariantPrint)
		if err != nil {
			t.Fatal(err)
		}
		checkPrintStyle(t, pdf, 11)
		content := contentStreams(t, pdf)
		body := false
		for _, m := range regexp.MustCompile(`/F\d+ ([0-9.]+) Tf`).FindAllStringSubmatch(content, -1) {
			if v, _ := strconv.ParseFloat(m[1], 64); v >= 14 && v < 15 {
				body = true
			}
		}
		if !body {
			t.Errorf("%s: no body text of 14 pt", lang)
		}
		_ = certificate.VariantPrint
	}
}
