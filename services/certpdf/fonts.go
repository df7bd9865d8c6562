package certpdf

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"unicode"

	"github.com/signintech/gopdf/fontmaker/core"

	"handheld/services/usertext"
)

// FallbackFontPath is where the fallback font lives in templates.FS: a
// subset of Hanazono Mincho (HanaMinA and HanaMinB, Hanazono Font License,
// see fonts/LICENSE-hanazono.txt) holding every CJK Extension B ideograph
// and what the main font lacks of Extension A, the other BMP ideographs
// and the common symbols. Rare characters in names (生僻字 such as 𠮷, 𡈽 or
// 䶮) are drawn from it glyph by glyph. It is stored gzipped (15 MB instead
// of 27 MB); ReadFont unpacks it, once per process
// where the wiring point reads it, in the background (see New). fonts/make_fallback.py
// rebuilds it.
const FallbackFontPath = "fonts/hanazono-fallback.ttf.gz"

// Missing is what a certificate prints for a character no font draws, or
// that is not a printable character (a control, format or private-use
// code point coming from the core in a name): 〓 (U+3013, GETA MARK), the
// mark Chinese and Japanese typesetting has long used for a character the
// type case lacks. The certificate is still issued; the reader sees that a
// character is there and could not be printed, never a silent gap.
const Missing = '〓'

// maxFontSize bounds what ReadFont unpacks, so that a corrupt or hostile
// file cannot fill memory at start-up.
const maxFontSize = 64 << 20

// ReadFont reads a TrueType font from fsys, unpacking it when its name
// ends in .gz.
func ReadFont(fsys fs.FS, name string) ([]byte, error) {
	raw, err := fs.ReadFile(fsys, name)
	if err != nil || !strings.HasSuffix(name, ".gz") {
		return raw, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	font, err := io.ReadAll(io.LimitReader(zr, maxFontSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(font) > maxFontSize {
		return nil, fmt.Errorf("%s: larger than %d bytes unpacked", name, maxFontSize)
	}
	return font, nil
}

// face is one font of the chain a certificate is drawn with: its family
// name inside the PDF and its character map, for choosing a font glyph by
// glyph before gopdf is asked to draw.
type face struct {
	family string
	bmp    map[int]uint // cmap format 4: BMP rune → glyph
	groups []core.CmapFormat12GroupingTable
}

// newFace parses the character map of a font.
func newFace(family string, font []byte) (face, error) {
	var p core.TTFParser
	if err := p.ParseFontData(font); err != nil {
		return face{}, err
	}
	return face{family: family, bmp: p.Chars(), groups: p.GroupingTables()}, nil
}

// has reports whether the font has a glyph (other than .notdef) for r.
func (f face) has(r rune) bool {
	if r <= 0xFFFF {
		return f.bmp[int(r)] != 0
	}
	for _, g := range f.groups {
		if uint(r) >= g.StartCharCode && uint(r) <= g.EndCharCode {
			return g.GlyphID+uint(r)-g.StartCharCode != 0
		}
	}
	return false
}

// faces is the font chain, the main font first.
type faces []face

// of is the index of the first font that draws r, or -1 when none does or
// r is not a character to print (see Missing).
func (fs faces) of(r rune) int {
	if !printable(r) {
		return -1
	}
	for i, f := range fs {
		if f.has(r) {
			return i
		}
	}
	return -1
}

// printable reports the runes a certificate draws as they are: what
// usertext accepts in typed text (no controls, format characters such as
// bidi overrides, private-use or unassigned code points, noncharacters or
// U+FFFD, which stands for something lost before it got here), and
// combining marks, which a name from the core may carry and are drawn
// after their letter.
func printable(r rune) bool { return !usertext.Refused(r) || unicode.Is(unicode.M, r) }

// Unprintable returns the distinct characters of s that no font of the
// certificate draws, in order: what would print as Missing. The
// certificate service refuses a purpose that has any, rather than print a
// mark where the person typed something.
func (r *Renderer) Unprintable(s string) []rune {
	chain, _ := r.chain() // without its fallbacks, the main font's characters
	var out []rune
	for _, c := range s {
		if c != '\n' && chain.faces.of(c) < 0 && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}
