// Package certpdf renders a certificate.Document as an A4 PDF: Chinese
// font embedded as a subset, an e-seal mark, a QR code to the verify page
// and the signature in the document information, so that a printed or
// forwarded copy can be checked. Wording and geometry come from layout
// files (templates/certificate.<type>.<lang>.json) and the locale
// catalogues; this package only interprets them.
package certpdf

import (
	"bytes"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/signintech/gopdf"

	"handheld/services"
	"handheld/services/certificate"
)

// Texts is the message catalogue a layout's {"key": ...} texts and status
// labels come from; *locales.Catalogs satisfies it. An unknown key must come
// back unchanged, which is how New finds keys a layout names but the
// catalogue lacks.
type Texts interface {
	T(lang, key string, params map[string]any) string
}

// Variants: "" (or "standard", as the certificate service names it) is the
// colour certificate that is stored and downloaded; "print" is for kiosk
// printers (larger type, black and white).
const (
	VariantStandard = ""
	VariantPrint    = "print"
)

// The certificate types, languages and variants every deployment must have
// a layout for. Read-only tables.
var (
	types = []string{certificate.TypeDepositUse, certificate.TypeUnitDeposit, certificate.TypeLoanElsewhere,
		certificate.TypeLoanSettled}
	languages = []string{"zh-CN", "en"}
	variants  = []string{"standard", "print"}
)

// FontPath is where the main certificate font lives in templates.FS, for
// the wiring point to read and pass to New: WenQuanYi Micro Hei (Apache-2.0
// or GPL-3 with the font exception, see fonts/LICENSE-wqy-microhei.txt),
// which covers GB 18030's common characters. What it lacks comes from the
// fallback fonts (FallbackFontPath), glyph by glyph.
const FontPath = "fonts/wqy-microhei.ttf"

// fontFamily is the name the main font goes by inside a PDF; the
// six-letter tag marks it as a subset, as the PDF standard asks. Fallback
// fonts are fallbackFamily followed by their place in the chain.
const (
	fontFamily     = "HHCERT+WenQuanYiMicroHei"
	fallbackFamily = "HHCERF+Fallback"
)

// Renderer turns Documents into PDFs. It is built once at start-up and is
// safe for concurrent use: every Render builds its own PDF and only reads
// the parsed fonts and layouts (and a small, locked cache of recent bodies).
type Renderer struct {
	// chain is the parsed font chain, the main font first, then the
	// fallbacks, which New leaves to load in the background (see New);
	// everything that reads a font goes through it.
	chain   func() (fontChain, error)
	layouts map[string]*layout // by layoutFile(type, lang)
	cat     Texts
	bodies  bodyCache
}

// fontChain is the fonts a certificate is drawn with, ready to use.
type fontChain struct {
	fonts *gopdf.FontContainer
	faces faces // the main font, then the fallbacks
}

// Font gives the bytes of a font, for New to read when it needs them.
type Font func() ([]byte, error)

// New parses the main font and every layout once, so that a bad font, a
// missing layout or a layout naming an unknown key, field or locale message
// fails start-up with the file named, not the first issuance. font is the
// main font; fallbacks, in order, draw the characters it lacks (the wiring
// point passes the one at FallbackFontPath). Those are large (the usual
// one unpacks to 27 MB, over half a second) and needed by the first
// certificate, not by the start: they are read and parsed on a goroutine
// started here, and the first render waits for them. A fallback that
// fails to load fails every render with its error; Unprintable then
// counts only the main font's characters.
func New(font []byte, layouts fs.FS, cat Texts, fallbacks ...Font) (*Renderer, error) {
	if cat == nil {
		return nil, fmt.Errorf("certpdf: no message catalogue")
	}
	main := fontChain{fonts: &gopdf.FontContainer{}}
	if err := main.add(fontFamily, FontPath, font); err != nil {
		return nil, err
	}
	if main.faces.of(Missing) != 0 {
		return nil, fmt.Errorf("certpdf: font (%s) has no glyph for the missing-character mark %c", FontPath, Missing)
	}
	r := &Renderer{layouts: map[string]*layout{}, cat: cat}
	for _, typ := range types {
		for _, lang := range languages {
			l, err := loadLayout(layouts, typ, lang, cat)
			if err != nil {
				return nil, err
			}
			r.layouts[layoutFile(typ, lang)] = l
		}
	}
	r.chain = sync.OnceValues(func() (fontChain, error) {
		for i, load := range fallbacks {
			name := fmt.Sprintf("fallback font %d", i+1)
			data, err := load()
			if err == nil {
				err = main.add(fallbackFamily+strconv.Itoa(i+1), name, data)
			}
			if err != nil {
				return fontChain{fonts: main.fonts, faces: main.faces[:1]}, fmt.Errorf("certpdf: %s: %w", name, err)
			}
		}
		return main, nil
	})
	go r.chain()
	return r, nil
}

// add parses data as the next font of the chain, under family.
func (c *fontChain) add(family, name string, data []byte) error {
	if err := c.fonts.AddTTFFontData(family, data); err != nil {
		return fmt.Errorf("certpdf: font (%s): %w", name, err)
	}
	f, err := newFace(family, data)
	if err != nil {
		return fmt.Errorf("certpdf: font (%s): %w", name, err)
	}
	c.faces = append(c.faces, f)
	return nil
}

// Render draws d in lang ("zh-CN" or "en") and variant ("" or "standard"
// for the colour certificate, "print" for kiosk printers). The same
// Document always gives the same bytes: the creation date is d.IssuedAt in
// the centre's zone (as every date on the page) and nothing random goes in, so a stored hash can be checked by rendering
// again. The signature only changes the information dictionary at the end
// of the file (see SignatureOf).
func (r *Renderer) Render(d certificate.Document, lang, variant string) ([]byte, error) {
	l, ok := r.layouts[layoutFile(d.Type, lang)]
	if !ok {
		return nil, fmt.Errorf("certpdf: no layout for type %q in language %q", d.Type, lang)
	}
	if variant == VariantStandard {
		variant = "standard"
	}
	pal, ok := l.Variants[variant]
	if !ok {
		return nil, fmt.Errorf("certpdf: unknown variant %q", variant)
	}
	if !jwsCharset(d.Signature) {
		return nil, fmt.Errorf("certpdf: signature is not a compact JWS")
	}
	key, err := bodyKey(d, lang, variant)
	if err != nil {
		return nil, fmt.Errorf("certpdf: %w", err)
	}
	body, ok := r.bodies.get(key)
	if !ok {
		if body, err = r.body(&d, l, pal, lang); err != nil {
			return nil, err
		}
		r.bodies.put(key, body)
	}
	return withInfo(body, info{
		Title:    r.text(l, &d, lang, l.Title),
		Author:   d.CentreName,
		Subject:  d.Number,
		Keywords: d.Signature,
		Created:  d.IssuedAt.In(services.CentreTime),
	})
}

// body lays the certificate out and writes it with gopdf: everything but
// the information dictionary.
func (r *Renderer) body(d *certificate.Document, l *layout, pal palette, lang string) ([]byte, error) {
	colours, err := pal.colours()
	if err != nil {
		return nil, err
	}
	chain, err := r.chain()
	if err != nil {
		return nil, err
	}
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4, Unit: gopdf.UnitPT})
	if err := pdf.AddTTFFontFromFontContainer(fontFamily, chain.fonts); err != nil {
		return nil, fmt.Errorf("certpdf: font: %w", err)
	}
	w := &writer{
		pdf: pdf, l: l, scale: pal.Scale, c: colours,
		text:   func(t text) string { return r.text(l, d, lang, t) },
		widths: map[runeAt]float64{}, glyphs: map[rune]int{},
		faces: chain.faces, fonts: chain.fonts, added: make([]bool, len(chain.faces)),
	}
	w.added[0] = true
	if err := w.document(d, func(field, format string) string { return r.value(l, d, lang, field, format) }); err != nil {
		return nil, fmt.Errorf("certpdf: %s: %w", l.file, err)
	}
	var buf bytes.Buffer
	if _, err := pdf.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("certpdf: write: %w", err)
	}
	return withUnicodeMaps(buf.Bytes())
}

// text resolves a layout text and fills its {field} placeholders.
func (r *Renderer) text(l *layout, d *certificate.Document, lang string, t text) string {
	s := t.Literal
	if t.Key != "" {
		s = r.cat.T(lang, t.Key, nil)
	}
	if !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		j := strings.IndexByte(s[max(i, 0):], '}')
		if i < 0 || j < 0 {
			b.WriteString(s)
			return b.String()
		}
		name := s[i+1 : i+j]
		b.WriteString(s[:i])
		if _, ok := fieldKinds[name]; ok {
			b.WriteString(r.value(l, d, lang, name, ""))
		} else {
			b.WriteString(s[i : i+j+1]) // {page} and {pages}, filled later
		}
		s = s[i+j+1:]
	}
}

// value formats a field for reading.
func (r *Renderer) value(l *layout, d *certificate.Document, lang, field, format string) string {
	if fieldKinds[field] == kindMonth {
		format = "month"
	}
	switch v := raw(d, field).(type) {
	case string:
		switch format {
		case "status", "unit_status":
			key := "status.account." + v
			if format == "unit_status" {
				key = "status.unit." + v
			}
			if s := r.cat.T(lang, key, nil); s != key {
				return s
			}
		case "date":
			return reformat(v, time.DateOnly, l.DateFormat)
		case "month":
			if v == "" {
				return r.text(l, d, lang, l.None)
			}
			return reformat(v, "2006-01", l.MonthFormat)
		}
		return v
	case time.Time:
		// The centre's day, whatever zone the time came in (stored
		// times are UTC, and 01:32 in Shanghai is the day before in UTC).
		return v.In(services.CentreTime).Format(l.DateFormat)
	case int64:
		return services.Yuan(v, ",")
	case bool:
		if v {
			return r.text(l, d, lang, l.Yes)
		}
		return r.text(l, d, lang, l.No)
	case int:
		if format == "percent" {
			return percent(v)
		}
		return strconv.Itoa(v)
	case []string:
		if len(v) == 0 {
			return r.text(l, d, lang, l.None)
		}
		out := make([]string, len(v))
		for i, m := range v {
			out[i] = reformat(m, "2006-01", l.MonthFormat)
		}
		return strings.Join(out, l.ListSeparator)
	}
	return ""
}

// jwsCharset reports whether s can be a compact JWS (base64url parts joined
// by dots), so it goes into the PDF as a plain literal SignatureOf finds.
func jwsCharset(s string) bool {
	for _, c := range s {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
