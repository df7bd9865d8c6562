package certpdf

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/signintech/gopdf"
)

// A4 in points.
const (
	pageW = 595.28
	pageH = 841.89
)

// rgb is a colour a palette names.
type rgb [3]uint8

// colours is a palette's colours, parsed.
type colours struct{ ink, accent, rule, shade, seal rgb }

// colours parses the palette's #rrggbb values.
func (p palette) colours() (colours, error) {
	var c colours
	for _, f := range []struct {
		name string
		in   string
		out  *rgb
	}{{"ink", p.Ink, &c.ink}, {"accent", p.Accent, &c.accent}, {"rule", p.Rule, &c.rule}, {"shade", p.Shade, &c.shade}, {"seal", p.Seal, &c.seal}} {
		v, err := strconv.ParseUint(strings.TrimPrefix(f.in, "#"), 16, 32)
		if err != nil || len(f.in) != 7 || f.in[0] != '#' {
			return c, fmt.Errorf("%s: want #rrggbb, got %q", f.name, f.in)
		}
		*f.out = rgb{uint8(v >> 16), uint8(v >> 8), uint8(v)}
	}
	return c, nil
}

// writer draws one certificate: it keeps the cursor (y, from the top of the
// page in points), breaks pages and wraps text.
type writer struct {
	pdf   *gopdf.GoPdf
	l     *layout
	scale float64
	c     colours
	text  func(text) string

	y      float64
	pages  int
	size   float64
	widths map[runeAt]float64
	glyphs map[rune]int // the face that draws the rune, -1 for none
	err    error        // the first drawing error, which Render returns

	faces faces                // the font chain, main font first
	fonts *gopdf.FontContainer // the parsed fonts, added to the PDF on first use
	added []bool               // which faces this PDF has
	cur   int                  // the face gopdf draws with now
}

// runeAt keys the width cache: a rune at a type size.
type runeAt struct {
	r    rune
	size float64
}

func (w *writer) left() float64   { return w.l.Margin }
func (w *writer) right() float64  { return pageW - w.l.Margin }
func (w *writer) width() float64  { return w.right() - w.left() }
func (w *writer) bottom() float64 { return pageH - w.l.Margin - 12*w.scale }

// pt scales a layout size to the variant.
func (w *writer) pt(size float64) float64 { return size * w.scale }

// lineH is the line height for a type size.
func lineH(size float64) float64 { return size * 1.4 }

func (w *writer) fail(err error) {
	if w.err == nil && err != nil {
		w.err = err
	}
}

func (w *writer) font(size float64, c rgb) {
	w.size = size
	w.cur = -1
	w.face(0)
	w.pdf.SetTextColor(c[0], c[1], c[2])
}

// face makes font i of the chain the one gopdf draws and measures with, at
// the current size. A fallback font goes into the PDF only when a character
// needs it, so a certificate without rare characters carries the main font
// alone.
func (w *writer) face(i int) {
	if i == w.cur {
		return
	}
	if !w.added[i] {
		w.fail(w.pdf.AddTTFFontFromFontContainer(w.faces[i].family, w.fonts))
		w.added[i] = true
	}
	w.fail(w.pdf.SetFont(w.faces[i].family, "", w.size))
	w.cur = i
}

// faceOf is the face that draws r, remembered: -1 when r prints as Missing.
func (w *writer) faceOf(r rune) int {
	i, ok := w.glyphs[r]
	if !ok {
		i = w.faces.of(r)
		w.glyphs[r] = i
	}
	return i
}

// drawn is the rune as printed and the face it is printed with.
func (w *writer) drawn(r rune) (rune, int) {
	if i := w.faceOf(r); i >= 0 {
		return r, i
	}
	return Missing, 0
}

// newPage starts a page with the frame drawn; the footer comes at the end,
// when the number of pages is known.
func (w *writer) newPage() {
	w.pdf.AddPage()
	w.pages++
	m := w.l.Margin
	w.pdf.SetStrokeColor(w.c.accent[0], w.c.accent[1], w.c.accent[2])
	w.pdf.SetLineWidth(1.4)
	w.pdf.RectFromUpperLeft(m-22, m-22, pageW-2*(m-22), pageH-2*(m-22))
	w.pdf.SetLineWidth(0.5)
	w.pdf.RectFromUpperLeft(m-18, m-18, pageW-2*(m-18), pageH-2*(m-18))
	w.y = m
}

// ensure starts a new page unless h more points fit on this one.
func (w *writer) ensure(h float64) {
	if w.y+h > w.bottom() {
		w.newPage()
	}
}

// measure is the width of s at the current size, summed rune by rune (the
// fonts are used without kerning, so the sum is exact) in the face each
// rune is drawn with, and cached.
func (w *writer) measure(s string) float64 {
	var total float64
	for _, r := range s {
		r, i := w.drawn(r)
		k := runeAt{r, w.size}
		v, ok := w.widths[k]
		if !ok {
			was := w.cur
			w.face(i)
			var err error
			v, err = w.pdf.MeasureTextWidth(string(r))
			w.fail(err)
			w.face(was)
			w.widths[k] = v
		}
		total += v
	}
	return total
}

// noLineStart are the characters Chinese typesetting keeps off the start of
// a line (避头): they stay with the character before them.
const noLineStart = "，。、；：？！）》」』】〉,.;:?!)%"

// noLineEnd are the opening brackets kept off the end of a line (避尾).
const noLineEnd = "（《「『【〈("

// wrap breaks s into lines no wider than width, rune by rune: CJK text
// breaks anywhere but before closing punctuation, Latin text at the last
// space when there is one. "\n" forces a break.
func (w *writer) wrap(s string, width float64) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		line := []rune{}
		var used float64
		for _, r := range para {
			rw := w.measure(string(r))
			if used+rw > width && len(line) > 0 && !unicode.IsSpace(r) {
				cut := len(line)
				if b := lastBreak(line); b > 0 && isLatin(r) {
					cut = b + 1
				} else if strings.ContainsRune(noLineStart, r) && len(line) > 1 {
					cut = len(line) - 1
				}
				for cut > 1 && strings.ContainsRune(noLineEnd, line[cut-1]) {
					cut--
				}
				lines = append(lines, strings.TrimRightFunc(string(line[:cut]), unicode.IsSpace))
				line = append([]rune{}, line[cut:]...)
				used = w.measure(string(line))
			}
			if len(line) == 0 && unicode.IsSpace(r) && len(lines) > 0 {
				continue
			}
			line = append(line, r)
			used += rw
		}
		lines = append(lines, string(line))
	}
	return lines
}

// lastBreak is where the Latin word at the end of line may break: after
// its last space or slash (URLs), or -1.
func lastBreak(line []rune) int {
	for i := len(line) - 1; i >= 0; i-- {
		if line[i] == ' ' || line[i] == '/' && i < len(line)-1 {
			return i
		}
		if !isLatin(line[i]) {
			return -1
		}
	}
	return -1
}

// isLatin reports runes that belong to words broken only at spaces.
func isLatin(r rune) bool { return r < 0x2E80 && !unicode.IsSpace(r) }

// line draws one line of text in the box [x, x+width] with its top at top;
// align is gopdf.Left, gopdf.Center or gopdf.Right.
func (w *writer) line(x, top, width float64, s string, align int) {
	switch align {
	case gopdf.Center:
		x += (width - w.measure(s)) / 2
	case gopdf.Right:
		x += width - w.measure(s)
	}
	w.draw(x, top+(lineH(w.size)-w.size)/2+w.size*0.86, s)
}

// draw writes s with its baseline at y from x on, in runs of the runes one
// face draws: the main font where it has the glyph, a fallback where it
// does not, Missing where none does.
func (w *writer) draw(x, y float64, s string) {
	var run []rune
	runFace := 0
	flush := func() {
		if len(run) == 0 {
			return
		}
		text := string(run)
		width := w.measure(text)
		w.face(runFace)
		w.pdf.SetXY(x, y)
		w.fail(w.pdf.Text(text))
		x += width
		run = run[:0]
	}
	for _, r := range s {
		r, i := w.drawn(r)
		if i != runFace {
			flush()
			runFace = i
		}
		run = append(run, r)
	}
	flush()
	w.face(0)
}

// paragraph draws wrapped text across the content width at the cursor,
// breaking pages between lines.
func (w *writer) paragraph(s string, size float64, c rgb, align int, indent float64) {
	w.font(size, c)
	for _, ln := range w.wrap(s, w.width()-indent) {
		w.ensure(lineH(size))
		w.font(size, c)
		w.line(w.left()+indent, w.y, w.width()-indent, ln, align)
		w.y += lineH(size)
	}
}

// box fills and outlines a table cell.
func (w *writer) box(x, y, width, h float64, shaded bool) {
	w.pdf.SetStrokeColor(w.c.rule[0], w.c.rule[1], w.c.rule[2])
	w.pdf.SetLineWidth(0.6)
	style := "D"
	if shaded {
		w.pdf.SetFillColor(w.c.shade[0], w.c.shade[1], w.c.shade[2])
		style = "FD"
	}
	w.pdf.RectFromUpperLeftWithStyle(x, y, width, h, style)
}

// footers writes every page's footer once the page count is known.
func (w *writer) footers() {
	for p := 1; p <= w.pages; p++ {
		w.fail(w.pdf.SetPage(p))
		s := strings.NewReplacer("{page}", strconv.Itoa(p), "{pages}", strconv.Itoa(w.pages)).Replace(w.text(w.l.PageFooter))
		w.font(w.pt(w.l.Fonts.Small), w.c.ink)
		w.line(w.left(), pageH-w.l.Margin-lineH(w.size)+4, w.width(), s, gopdf.Center)
	}
}
