package certpdf

import (
	"fmt"
	"math"
	"strings"

	"github.com/signintech/gopdf"
	qrcode "github.com/skip2/go-qrcode"

	"handheld/services/certificate"
)

// Sizes of the verification block, in points at scale 1.
const (
	qrSide   = 84
	sealR    = 44
	blockGap = 10
)

// verification draws the closing block: on the left the QR code to the
// verify page with the verify code under it and how to use it beside it;
// on the right the issuer's sign-off (centre, date, validity) with the
// e-seal next to it, clear of the text.
func (w *writer) verification(d *certificate.Document) {
	l := w.l
	small, body := w.pt(l.Fonts.Small), w.pt(l.Fonts.Body)
	side := float64(qrSide)

	w.font(body, w.c.ink)
	var signoff []string
	signoffW := 0.0
	for _, t := range l.Signoff {
		for _, ln := range w.wrap(w.text(t), w.width()/3) {
			signoff = append(signoff, ln)
			signoffW = max(signoffW, w.measure(ln))
		}
	}
	signoffH := float64(len(signoff)) * lineH(body)
	sealX := w.right() - signoffW - w.pt(8) - sealR
	textX := w.left() + side + w.pt(10)
	textW := sealX - sealR - w.pt(12) - textX
	w.font(small, w.c.ink)
	hint := w.wrap(w.text(l.Verify.Hint), textW)
	code := strings.Split(w.text(l.Verify.Code), "\n")

	h := max(side+w.pt(4)+float64(len(code))*lineH(small), float64(len(hint))*lineH(small), 2*sealR, signoffH)
	w.y += w.pt(blockGap)
	w.ensure(h)
	top := w.y

	w.fail(w.qr(d.VerifyURL, w.left(), top, side))
	for i, ln := range code {
		w.font(small, w.c.ink)
		if cw := w.measure(ln); cw > side { // shrink a long code to the QR's width
			w.font(small*side/cw, w.c.ink)
		}
		w.line(w.left(), top+side+w.pt(4)+float64(i)*lineH(small), side, ln, gopdf.Center)
	}
	w.font(small, w.c.ink)
	for i, ln := range hint {
		w.line(textX, top+float64(i)*lineH(small), textW, ln, gopdf.Left)
	}

	w.seal(sealX, top+h/2, sealR, w.text(l.Seal.Ring), w.text(l.Seal.Bottom))
	w.font(body, w.c.ink)
	for i, ln := range signoff {
		w.line(w.right()-signoffW, top+(h-signoffH)/2+float64(i)*lineH(body), signoffW, ln, gopdf.Right)
	}
	w.y = top + h
}

// qr draws the QR code of url as vector squares (one rectangle per run of
// dark modules): sharp at any print size, and no image to encode.
// Medium recovery survives a crease or a smudge on a printed copy.
func (w *writer) qr(url string, x, y, side float64) error {
	q, err := qrcode.New(url, qrcode.Medium)
	if err != nil {
		return fmt.Errorf("qr: %w", err)
	}
	q.DisableBorder = true
	bm := q.Bitmap()
	m := side / float64(len(bm))
	w.pdf.SetFillColor(0, 0, 0) // black in every variant: scanners want contrast
	for r, modules := range bm {
		for c := 0; c < len(modules); {
			if !modules[c] {
				c++
				continue
			}
			start := c
			for c < len(modules) && modules[c] {
				c++
			}
			// A hair taller than a module, so no seam shows between rows.
			w.pdf.RectFromUpperLeftWithStyle(x+float64(start)*m, y+float64(r)*m, float64(c-start)*m, m+0.05, "F")
		}
	}
	return nil
}

// seal draws the e-seal mark: a ring, the centre's name along the top of
// it, a five-pointed star and a line under the star, all in the seal
// colour (red, or black when printed). It marks the issuer for a reader;
// the proof is the signature, not this drawing.
func (w *writer) seal(cx, cy, r float64, ring, bottom string) {
	c := w.c.seal
	w.pdf.SetStrokeColor(c[0], c[1], c[2])
	w.pdf.SetFillColor(c[0], c[1], c[2])
	w.pdf.SetLineWidth(r * 0.055)
	w.pdf.Oval(cx-r, cy-r, cx+r, cy+r)

	star := make([]gopdf.Point, 10)
	outer, inner := r*0.3, r*0.3*0.382
	for i := range star {
		rad := outer
		if i%2 == 1 {
			rad = inner
		}
		a := math.Pi/2 + float64(i)*math.Pi/5
		star[i] = gopdf.Point{X: cx + rad*math.Cos(a), Y: cy - r*0.02 - rad*math.Sin(a)}
	}
	w.pdf.Polygon(star, "F")

	runes := []rune(ring)
	if n := len(runes); n > 0 {
		span := 250.0 // degrees of the ring the name takes
		size := min(r*0.22, (r*0.7)*(span*math.Pi/180)/float64(n)*0.95)
		textR := r - r*0.055 - size*0.65
		span = min(span, float64(n)*(size*1.12/textR)*180/math.Pi)
		w.font(size, c)
		for i, ch := range runes {
			deg := 90 + span/2 - span*(float64(i)+0.5)/float64(n)
			a := deg * math.Pi / 180
			px, py := cx+textR*math.Cos(a), cy-textR*math.Sin(a)
			w.pdf.Rotate(deg-90, px, py)
			s := string(ch)
			w.draw(px-w.measure(s)/2, py+size*0.36, s)
			w.pdf.RotateReset()
		}
	}
	if bottom != "" {
		size := min(r*0.15, r*1.3/float64(max(len([]rune(bottom)), 1)))
		w.font(size, c)
		w.line(cx-r, cy+r*0.38, 2*r, bottom, gopdf.Center)
	}
}
