package certpdf

import (
	"fmt"
	"strconv"

	"github.com/signintech/gopdf"

	"handheld/services"
	"handheld/services/certificate"
)

// valueFunc formats a Document field for reading (see Renderer.value).
type valueFunc func(field, format string) string

// cellPad is the padding inside table cells, in points at scale 1.
const cellPad = 3

// document lays out the whole certificate, top to bottom.
func (w *writer) document(d *certificate.Document, value valueFunc) error {
	if d.VerifyURL == "" || d.VerifyCode == "" {
		return fmt.Errorf("no verify URL or code to print")
	}
	w.newPage()
	l := w.l

	w.paragraph(w.text(l.Issuer), w.pt(l.Fonts.Heading), w.c.accent, gopdf.Center, 0)
	w.y += w.pt(2)
	w.paragraph(w.text(l.Title), w.pt(l.Fonts.Title), w.c.accent, gopdf.Center, 0)
	w.y += w.pt(4)
	w.pdf.SetStrokeColor(w.c.accent[0], w.c.accent[1], w.c.accent[2])
	w.pdf.SetLineWidth(1.2)
	w.pdf.Line(w.left(), w.y, w.right(), w.y)
	w.pdf.SetLineWidth(0.4)
	w.pdf.Line(w.left(), w.y+2.5, w.right(), w.y+2.5)
	w.y += w.pt(6)
	w.paragraph(w.text(l.Number), w.pt(l.Fonts.Small), w.c.ink, gopdf.Right, 0)
	if !l.Intro.empty() {
		w.y += w.pt(4)
		w.paragraph(w.text(l.Intro), w.pt(l.Fonts.Body), w.c.ink, gopdf.Left, 0)
	}
	for _, s := range l.Sections {
		if s.If != "" && !truthy(raw(d, s.If)) {
			continue
		}
		w.heading(w.text(s.Heading))
		switch s.Kind {
		case "facts":
			w.facts(s, d, value)
		case "months":
			w.months(s, d.Months)
		case "remittances":
			var months []certificate.UnitMonthRow
			if d.Unit != nil {
				months = d.Unit.Months
			}
			w.remittances(s, months)
		case "text":
			w.paragraph(w.text(s.Text), w.pt(l.Fonts.Body), w.c.ink, gopdf.Left, w.pt(cellPad))
		}
	}
	if len(l.Notes) > 0 {
		w.y += w.pt(6)
		small := w.pt(l.Fonts.Small)
		if !l.NotesTitle.empty() {
			w.ensure(3 * lineH(small))
			w.paragraph(w.text(l.NotesTitle), small, w.c.ink, gopdf.Left, 0)
		}
		for i, n := range l.Notes {
			w.paragraph(fmt.Sprintf("%d. %s", i+1, w.text(n)), small, w.c.ink, gopdf.Left, 0)
		}
	}
	w.verification(d)
	w.footers()
	return w.err
}

// heading starts a section: an accent bar and the heading text, kept on
// the same page as at least two rows after it.
func (w *writer) heading(s string) {
	size := w.pt(w.l.Fonts.Heading)
	w.y += w.pt(7)
	w.ensure(lineH(size) + 2*lineH(w.pt(w.l.Fonts.Body)) + 4*w.pt(cellPad))
	w.pdf.SetFillColor(w.c.accent[0], w.c.accent[1], w.c.accent[2])
	w.pdf.RectFromUpperLeftWithStyle(w.left(), w.y+lineH(size)*0.18, w.pt(3), lineH(size)*0.64, "F")
	w.font(size, w.c.accent)
	w.line(w.left()+w.pt(8), w.y, w.width(), s, gopdf.Left)
	w.y += lineH(size) + w.pt(3)
}

// cell is a piece of a table row: its text, width and look.
type cell struct {
	text   string
	width  float64
	label  bool
	align  int
	colour rgb
}

// tableRow draws cells side by side as one row tall enough for the
// longest wrapped text, on a new page if it does not fit; before is called
// after a page break (to repeat a header).
func (w *writer) tableRow(cells []cell, before func()) {
	size := w.pt(w.l.Fonts.Body)
	pad := w.pt(cellPad)
	w.font(size, w.c.ink)
	lines := make([][]string, len(cells))
	n := 1
	for i, c := range cells {
		lines[i] = w.wrap(c.text, c.width-2*pad)
		n = max(n, len(lines[i]))
	}
	h := float64(n)*lineH(size) + 2*pad
	if w.y+h > w.bottom() {
		w.newPage()
		if before != nil {
			before()
		}
	}
	x := w.left()
	for i, c := range cells {
		w.box(x, w.y, c.width, h, c.label)
		w.font(size, c.colour)
		top := w.y + pad + (float64(n-len(lines[i]))*lineH(size))/2
		for j, ln := range lines[i] {
			w.line(x+pad, top+float64(j)*lineH(size), c.width-2*pad, ln, c.align)
		}
		x += c.width
	}
	w.y += h
}

// facts draws label and value cells, Columns pairs to a line; a wide row
// takes a line of its own.
func (w *writer) facts(s section, d *certificate.Document, value valueFunc) {
	pair := w.width() / float64(s.Columns)
	labelW := pair * s.LabelWidth
	var pending []cell
	flush := func() {
		if len(pending) == 0 {
			return
		}
		for len(pending) < 2*s.Columns { // an odd last line keeps the grid
			pending = append(pending, cell{width: labelW, label: true}, cell{width: pair - labelW})
		}
		w.tableRow(pending, nil)
		pending = nil
	}
	for _, r := range s.Rows {
		if r.If != "" && !truthy(raw(d, r.If)) {
			continue
		}
		v := value(r.Field, r.Format)
		if !r.Unit.empty() {
			v += w.text(r.Unit)
		}
		label := cell{text: w.text(r.Label), width: labelW, label: true, align: gopdf.Left, colour: w.c.ink}
		if r.Wide {
			flush()
			w.tableRow([]cell{label, {text: v, width: w.width() - labelW, align: gopdf.Left, colour: w.c.ink}}, nil)
			continue
		}
		pending = append(pending, label, cell{text: v, width: pair - labelW, align: gopdf.Left, colour: w.c.ink})
		if len(pending) == 2*s.Columns {
			flush()
		}
	}
	flush()
}

// months draws the remittance table, Columns month/amount pairs to a line,
// filled down then across so that it reads newest first like a list.
func (w *writer) months(s section, months []certificate.MonthRow) {
	pair := w.width() / float64(s.Columns)
	header := func() {
		var cells []cell
		for range s.Columns {
			cells = append(cells,
				cell{text: w.text(s.Month), width: pair * 0.45, label: true, align: gopdf.Center, colour: w.c.ink},
				cell{text: w.text(s.Amount), width: pair * 0.55, label: true, align: gopdf.Center, colour: w.c.ink})
		}
		w.tableRow(cells, nil)
	}
	header()
	rows := (len(months) + s.Columns - 1) / s.Columns
	for r := range rows {
		var cells []cell
		for c := range s.Columns {
			month, amount, colour := "", "", w.c.ink
			if i := c*rows + r; i < len(months) {
				m := months[i]
				month = reformat(m.Month, "2006-01", w.l.MonthFormat)
				amount = services.Yuan(m.AmountFen, ",")
				if m.AmountFen == 0 {
					amount, colour = w.text(s.Gap), w.c.accent
				}
			}
			cells = append(cells,
				cell{text: month, width: pair * 0.45, align: gopdf.Center, colour: w.c.ink},
				cell{text: amount, width: pair * 0.55, align: gopdf.Right, colour: colour})
		}
		w.tableRow(cells, header)
	}
}

// remittances draws a unit's months, one to a line, newest first: the
// month, the headcount remitted for, the amount and the month's state; a
// month owed stands out in the accent colour. No months: one line saying
// so (Gap).
func (w *writer) remittances(s section, months []certificate.UnitMonthRow) {
	widths := []float64{0.25, 0.2, 0.3, 0.25}
	for i := range widths {
		widths[i] *= w.width()
	}
	header := func() {
		var cells []cell
		for i, t := range []text{s.Month, s.Headcount, s.Amount, s.State} {
			cells = append(cells, cell{text: w.text(t), width: widths[i], label: true, align: gopdf.Center, colour: w.c.ink})
		}
		w.tableRow(cells, nil)
	}
	header()
	if len(months) == 0 {
		w.tableRow([]cell{{text: w.text(s.Gap), width: w.width(), align: gopdf.Center, colour: w.c.ink}}, header)
		return
	}
	for _, m := range months {
		colour := w.c.ink
		if m.Status == "overdue" || m.Status == "failed" {
			colour = w.c.accent
		}
		state := m.Status
		if t, ok := s.States[m.Status]; ok {
			state = w.text(t)
		}
		w.tableRow([]cell{
			{text: reformat(m.Month, "2006-01", w.l.MonthFormat), width: widths[0], align: gopdf.Center, colour: w.c.ink},
			{text: strconv.Itoa(m.Headcount), width: widths[1], align: gopdf.Center, colour: w.c.ink},
			{text: services.Yuan(m.AmountFen, ","), width: widths[2], align: gopdf.Right, colour: w.c.ink},
			{text: state, width: widths[3], align: gopdf.Center, colour: colour},
		}, header)
	}
}
