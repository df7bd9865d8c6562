package certpdf

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/signintech/gopdf"

	"handheld/services"
)

// Plain is a document for a kiosk printer that is not a certificate: a
// deposit or loan statement, a settled-loan certificate. Its wording comes
// already in the reader's language (the printing service takes it from the
// locale catalogues); this package only lays it out, in the print style:
// A4, black on white, large type (PlainBody points and more), no colour,
// one column, tables ruled in black. Every text is drawn with the
// certificate fonts, so names with rare characters print as they do on a
// certificate.
type Plain struct {
	Issuer   string      // the centre's name, at the top
	Title    string      // the document's name
	Subtitle string      // e.g. the period, under the title; may be empty
	Intro    string      // a paragraph in body type before the facts; may be empty
	Facts    [][2]string // label and value rows, before the table
	Table    *PlainTable // optional
	After    [][2]string // label and value rows after the table (closing balance)
	Notes    []string    // the verification note and the like, in small type
	Footer   string      // every page's footer; {page} and {pages} are filled
	// Seal draws a black seal outline with this ring text beside the
	// sign-off (a settled-loan certificate); empty: none.
	Seal    string
	Signoff []string // the centre and date, right-aligned at the end
	// Created is the PDF's creation date, written in the centre's zone.
	Created time.Time
}

// PlainTable is a ruled table with a header row repeated on every page.
// Widths are fractions of the text width, one per column, summing to 1;
// Right marks the columns aligned right (amounts).
type PlainTable struct {
	Heading string
	Columns []string
	Widths  []float64
	Right   []bool
	Rows    [][]string
	Empty   string // the one line shown when Rows is empty
}

// Type sizes of the print style, in points: body text of 14 pt reads from
// a step back for people with weaker sight (the kiosk's users include many
// older people).
const (
	PlainTitle   = 22
	PlainHeading = 16
	PlainBody    = 14
	PlainSmall   = 12
	plainMargin  = 48
)

// black is the print style's only ink; white its only fill.
var printColours = colours{ink: rgb{}, accent: rgb{}, rule: rgb{}, shade: rgb{255, 255, 255}, seal: rgb{}}

// RenderPlain lays p out in the print style. The same Plain gives the same
// bytes: nothing random or clock-dependent goes in but p.Created.
func (r *Renderer) RenderPlain(p Plain) ([]byte, error) {
	if strings.TrimSpace(p.Title) == "" || strings.TrimSpace(p.Issuer) == "" {
		return nil, fmt.Errorf("certpdf: plain document without issuer or title")
	}
	if t := p.Table; t != nil {
		if len(t.Columns) == 0 || len(t.Widths) != len(t.Columns) || len(t.Right) != len(t.Columns) {
			return nil, fmt.Errorf("certpdf: plain table needs one width and alignment per column")
		}
		for i, row := range t.Rows {
			if len(row) != len(t.Columns) {
				return nil, fmt.Errorf("certpdf: plain table row %d has %d cells, want %d", i, len(row), len(t.Columns))
			}
		}
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
	l := &layout{file: "plain", Margin: plainMargin,
		Fonts:      fontSizes{Title: PlainTitle, Heading: PlainHeading, Body: PlainBody, Small: PlainSmall},
		PageFooter: text{Literal: p.Footer}}
	w := &writer{
		pdf: pdf, l: l, scale: 1, c: printColours,
		text:   func(t text) string { return t.Literal },
		widths: map[runeAt]float64{}, glyphs: map[rune]int{},
		faces: chain.faces, fonts: chain.fonts, added: make([]bool, len(chain.faces)),
	}
	w.added[0] = true
	w.plain(&p)
	if w.err != nil {
		return nil, fmt.Errorf("certpdf: plain: %w", w.err)
	}
	var buf bytes.Buffer
	if _, err := pdf.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("certpdf: write: %w", err)
	}
	body, err := withUnicodeMaps(buf.Bytes())
	if err != nil {
		return nil, err
	}
	return withInfo(body, info{Title: p.Title, Author: p.Issuer, Subject: p.Subtitle, Created: p.Created.In(services.CentreTime)})
}

// plain draws the whole document, top to bottom.
func (w *writer) plain(p *Plain) {
	w.newPage()
	w.paragraph(p.Issuer, PlainHeading, w.c.ink, gopdf.Center, 0)
	w.y += 2
	w.paragraph(p.Title, PlainTitle, w.c.ink, gopdf.Center, 0)
	if p.Subtitle != "" {
		w.paragraph(p.Subtitle, PlainBody, w.c.ink, gopdf.Center, 0)
	}
	w.y += 4
	w.pdf.SetStrokeColor(0, 0, 0)
	w.pdf.SetLineWidth(1.2)
	w.pdf.Line(w.left(), w.y, w.right(), w.y)
	w.y += 8
	if p.Intro != "" {
		w.paragraph(p.Intro, PlainBody, w.c.ink, gopdf.Left, 0)
		w.y += 8
	}
	w.plainFacts(p.Facts)
	if t := p.Table; t != nil {
		w.plainTable(t)
	}
	if len(p.After) > 0 {
		w.y += 6
		w.plainFacts(p.After)
	}
	if len(p.Signoff) > 0 {
		w.plainSignoff(p.Signoff, p.Seal)
	}
	if len(p.Notes) > 0 {
		w.y += 8
		for _, n := range p.Notes {
			w.paragraph(n, PlainSmall, w.c.ink, gopdf.Left, 0)
		}
	}
	w.footers()
}

// plainFacts draws label and value rows, one pair to a line.
func (w *writer) plainFacts(rows [][2]string) {
	labelW := w.width() * 0.36
	for _, r := range rows {
		w.tableRow([]cell{
			{text: r[0], width: labelW, align: gopdf.Left, colour: w.c.ink},
			{text: r[1], width: w.width() - labelW, align: gopdf.Left, colour: w.c.ink},
		}, nil)
	}
}

// plainTable draws the table with its header repeated after page breaks.
func (w *writer) plainTable(t *PlainTable) {
	if t.Heading != "" {
		w.heading(t.Heading)
	}
	header := func() {
		cells := make([]cell, len(t.Columns))
		for i, c := range t.Columns {
			cells[i] = cell{text: c, width: t.Widths[i] * w.width(), align: gopdf.Center, colour: w.c.ink}
		}
		w.tableRow(cells, nil)
	}
	header()
	if len(t.Rows) == 0 {
		w.tableRow([]cell{{text: t.Empty, width: w.width(), align: gopdf.Center, colour: w.c.ink}}, header)
		return
	}
	for _, row := range t.Rows {
		cells := make([]cell, len(row))
		for i, v := range row {
			align := gopdf.Left
			if t.Right[i] {
				align = gopdf.Right
			}
			cells[i] = cell{text: v, width: t.Widths[i] * w.width(), align: align, colour: w.c.ink}
		}
		w.tableRow(cells, header)
	}
}

// plainSignoff draws the sign-off lines right-aligned, with a black seal
// outline to their left when ring is set.
func (w *writer) plainSignoff(lines []string, ring string) {
	w.font(PlainBody, w.c.ink)
	width := 0.0
	for _, ln := range lines {
		width = max(width, w.measure(ln))
	}
	width = min(width, w.width()/2)
	h := float64(len(lines)) * lineH(PlainBody)
	if ring != "" {
		h = max(h, 2*sealR)
	}
	w.y += 12
	w.ensure(h)
	top := w.y
	if ring != "" {
		w.seal(w.right()-width-12-sealR, top+h/2, sealR, ring, "")
	}
	w.font(PlainBody, w.c.ink)
	for i, ln := range lines {
		w.line(w.right()-width, top+(h-float64(len(lines))*lineH(PlainBody))/2+float64(i)*lineH(PlainBody), width, ln, gopdf.Right)
	}
	w.y = top + h
}
