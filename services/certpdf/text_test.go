package certpdf_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"handheld/locales"
	"handheld/services/certpdf"
	"handheld/templates"
)

// fontFiles counts the fonts embedded in pdf.
func fontFiles(pdf []byte) int { return bytes.Count(pdf, []byte("/FontFile2")) }

// TestRareCharactersInNames: names from the core with characters the main
// font lacks (生僻字 in CJK Extensions A and B) print from the fallback
// font, glyph by glyph, and can be copied out of the PDF as they are.
func TestRareCharactersInNames(t *testing.T) {
	r := newRenderer(t)
	for _, name := range []string{"吉𠮷", "王䶮", "𡈽𪚥", "欧阳𠮷祥"} {
		for _, lang := range []string{locales.ZhCN, locales.En} {
			d := fullDocument()
			d.HolderName = name
			d.Purpose = "购房" + name // purposes may hold the same characters
			pdf, err := r.Render(d, lang, "")
			if err != nil {
				t.Fatalf("%s/%s: %v", name, lang, err)
			}
			for _, c := range name {
				if !inUnicodeMap(pdf, c) {
					t.Errorf("%s/%s: %q (U+%04X) is not in the PDF's fonts", name, lang, c, c)
				}
			}
			if inUnicodeMap(pdf, certpdf.Missing) {
				t.Errorf("%s/%s: a character printed as the missing mark", name, lang)
			}
			if n := fontFiles(pdf); n != 2 {
				t.Errorf("%s/%s: %d fonts embedded, want the main font and the fallback", name, lang, n)
			}
			// gopdf subsets a font's glyphs but keeps its per-glyph tables
			// (metrics and locations, ≈ 50 KB compressed for the fallback's
			// 54,716 glyphs); the whole fallback would be 15 MB.
			if len(pdf) >= 150_000 {
				t.Errorf("%s/%s: PDF is %d bytes, want < 150 KB (is the fallback subset?)", name, lang, len(pdf))
			}
			if dir := os.Getenv("CERTPDF_OUT"); dir != "" && lang == locales.ZhCN {
				if err := os.WriteFile(dir+"/rare-"+name+".pdf", pdf, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// TestRareNamesConcurrently: renders share the parsed fonts; each PDF
// takes its own copy of the fallback when it needs it (run with -race).
func TestRareNamesConcurrently(t *testing.T) {
	r := newRenderer(t)
	later := fullDocument()
	later.BalanceFen += 100 // not rendered before: no cached body
	want, err := newRenderer(t).Render(later, locales.ZhCN, certpdf.VariantPrint)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"吉𠮷", "王䶮", "𡈽𪚥", "张三"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := fullDocument()
			d.HolderName = name
			d.BalanceFen += int64(i) // no two share a cached body
			if _, err := r.Render(d, locales.ZhCN, certpdf.VariantPrint); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(func() {
		again, err := r.Render(later, locales.ZhCN, certpdf.VariantPrint)
		if err != nil || !bytes.Equal(again, want) {
			t.Errorf("rendering rare names changed a later render: %v", err)
		}
	})
}

// TestCommonCertificateCarriesOneFont: the fallback goes into a PDF only
// when a character needs it.
func TestCommonCertificateCarriesOneFont(t *testing.T) {
	pdf, err := newRenderer(t).Render(fullDocument(), locales.ZhCN, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := fontFiles(pdf); n != 1 {
		t.Errorf("%d fonts embedded in a certificate without rare characters, want 1", n)
	}
}

// TestUnprintableNamesStillPrint: a name from the core with characters no
// font draws, or that are no printable characters at all, still gives a
// certificate, with the missing mark where each such character is.
func TestUnprintableNamesStillPrint(t *testing.T) {
	r := newRenderer(t)
	for name, holder := range map[string]string{
		"emoji":            "张😀",
		"bidi override":    "张\u202E三",
		"private use":      "张\uE000",
		"control":          "张\t三",
		"noncharacter":     "张\uFFFF",
		"replacement":      "张\uFFFD",
		"unassigned":       "张\u0378",
		"zero-width joint": "张\u200D三",
		"CJK Extension G":  "张\U00030000",
	} {
		d := fullDocument()
		d.HolderName = holder
		pdf, err := r.Render(d, locales.ZhCN, "")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !inUnicodeMap(pdf, certpdf.Missing) {
			t.Errorf("%s: no missing mark printed", name)
		}
		for _, c := range holder {
			if c != '张' && c != '三' && inUnicodeMap(pdf, c) {
				t.Errorf("%s: U+%04X went into the PDF as it is", name, c)
			}
		}
	}
}

func TestUnprintable(t *testing.T) {
	r := newRenderer(t)
	cases := []struct {
		text string
		want []rune
	}{
		{"购房贷款 loan ①㎡℃ 吉𠮷 䶮 〇", nil},
		{"买房😀😀", []rune{'😀'}},
		{"a\u202Eb\u200Dc", []rune{0x202E, 0x200D}},
		{"\uE000\uFFFF\uFFFD\u0378\U00030000", []rune{0xE000, 0xFFFF, 0xFFFD, 0x378, 0x30000}},
	}
	for _, tc := range cases {
		if got := r.Unprintable(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("Unprintable(%+q) = %U, want %U", tc.text, got, tc.want)
		}
	}
}

// The fallback fonts load in the background; one that fails to load
// leaves start-up alone and fails each render with its error, and
// Unprintable then counts only what the main font draws.
func TestFallbackThatFailsToLoad(t *testing.T) {
	font, cat := mainFont(t)
	for name, fallback := range map[string]certpdf.Font{
		"unreadable": func() ([]byte, error) { return nil, errors.New("no such font") },
		"not a font": func() ([]byte, error) { return []byte("not a font"), nil },
	} {
		r, err := certpdf.New(font, templates.FS, cat, fallback)
		if err != nil {
			t.Fatalf("%s: New: %v", name, err)
		}
		if _, err := r.Render(fullDocument(), locales.ZhCN, ""); err == nil || !strings.Contains(err.Error(), "fallback font 1") {
			t.Errorf("%s: Render: %v, want the fallback's error", name, err)
		}
		if got := r.Unprintable("张三吉𠮷"); !slices.Equal(got, []rune{'𠮷'}) {
			t.Errorf("%s: Unprintable = %U, want only what the main font lacks", name, got)
		}
	}
}

func TestReadFont(t *testing.T) {
	raw := []byte("not really a font")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	fsys := fstest.MapFS{"a.ttf": {Data: raw}, "a.ttf.gz": {Data: gz.Bytes()}, "bad.ttf.gz": {Data: raw}}
	for _, name := range []string{"a.ttf", "a.ttf.gz"} {
		if got, err := certpdf.ReadFont(fsys, name); err != nil || !bytes.Equal(got, raw) {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
	for _, name := range []string{"bad.ttf.gz", "missing.ttf"} {
		if _, err := certpdf.ReadFont(fsys, name); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// fallbackFont is certpdf.ReadFont(templates.FS, certpdf.FallbackFontPath),
	// read once for every test of the binary: unpacking the 15 MB font
	// costs seconds under -race.
	if _, err := fallbackFont(); err != nil {
		t.Errorf("the committed fallback font: %v", err)
	}
}
