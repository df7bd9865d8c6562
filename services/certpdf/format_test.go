package certpdf

import (
	"io/fs"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/signintech/gopdf"

	"handheld/templates"
)

func TestPDFDate(t *testing.T) {
	cases := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 3, 5, 10, 30, 0, 0, time.FixedZone("CST", 8*3600)), "D:20260305103000+08'00'"},
		{time.Date(2026, 3, 5, 2, 30, 0, 0, time.UTC), "D:20260305023000Z"},
		{time.Date(2026, 3, 5, 2, 30, 0, 0, time.FixedZone("NPT", 5*3600+45*60)), "D:20260305023000+05'45'"},
	}
	for _, tc := range cases {
		if got := pdfDate(tc.t); got != tc.want {
			t.Errorf("pdfDate(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

// newTestWriter is a writer on a blank page with the font at size 10, where
// every CJK character is exactly 10 points wide.
func newTestWriter(t *testing.T) *writer {
	t.Helper()
	font, err := fs.ReadFile(templates.FS, FontPath)
	if err != nil {
		t.Fatal(err)
	}
	f, err := newFace(fontFamily, font)
	if err != nil {
		t.Fatal(err)
	}
	fc := &gopdf.FontContainer{}
	if err := fc.AddTTFFontData(fontFamily, font); err != nil {
		t.Fatal(err)
	}
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4, Unit: gopdf.UnitPT})
	pdf.AddPage()
	w := &writer{pdf: pdf, widths: map[runeAt]float64{}, glyphs: map[rune]int{},
		faces: faces{f}, fonts: fc, added: []bool{false}}
	w.font(10, rgb{})
	return w
}

func TestWrap(t *testing.T) {
	w := newTestWriter(t)
	cases := []struct {
		name  string
		text  string
		width float64
		want  []string
	}{
		{"CJK breaks anywhere", "一二三四五六七", 30, []string{"一二三", "四五六", "七"}},
		{"closing punctuation stays with the character before", "一二三，四", 30, []string{"一二", "三，四"}},
		{"opening bracket does not end a line", "一二（三）", 30, []string{"一二", "（三）"}},
		{"Latin breaks at spaces", "valid until next year", 60, []string{"valid until", "next year"}},
		{"URL breaks after a slash", "https://gjj.example.gov.cn/verify/7KQ2M9XD", 150, []string{"https://gjj.example.gov.cn/", "verify/7KQ2M9XD"}},
		{"newline forces a break", "核验码\n7KQ2", 100, []string{"核验码", "7KQ2"}},
		{"fits", "张三", 100, []string{"张三"}},
	}
	for _, tc := range cases {
		got := w.wrap(tc.text, tc.width)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: wrap(%q, %v) (-want +got):\n%s", tc.name, tc.text, tc.width, diff)
		}
		for _, ln := range got {
			if lw := w.measure(ln); lw > tc.width+0.01 {
				t.Errorf("%s: line %q is %.1f wide, more than %v", tc.name, ln, lw, tc.width)
			}
		}
	}
	if w.err != nil {
		t.Fatal(w.err)
	}
}

func TestPlaceholders(t *testing.T) {
	got := placeholders("第 {page} 页 / 共 {pages} 页 {unclosed")
	if diff := cmp.Diff([]string{"page", "pages"}, got); diff != "" {
		t.Errorf("placeholders (-want +got):\n%s", diff)
	}
}
