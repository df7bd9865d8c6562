package certpdf

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// info is the PDF document information dictionary this package writes.
// The signature (a compact JWS over the certificate's claims) goes in
// Keywords: every PDF tool shows it (pdfinfo, exiftool, a viewer's document
// properties), so a verifier can take it out and check it offline against
// the centre's published keys.
type info struct {
	Title, Author, Subject, Keywords string
	Created                          time.Time
}

// producer names the software in the Producer entry.
const producer = "handheld certpdf (gopdf)"

var (
	startxrefRe = regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`)
	sizeRe      = regexp.MustCompile(`/Size (\d+)`)
	keywordsRe  = regexp.MustCompile(`/Keywords \(([A-Za-z0-9._-]*)\)`)
)

// withInfo appends the information dictionary to the PDF gopdf wrote, as an
// incremental update (a new object, an xref section for it and a trailer
// pointing back to gopdf's): gopdf has no Keywords entry and writes its own
// dictionary inline, which the PDF standard does not allow. The update is
// the standard way to add to a finished PDF and changes nothing before it.
func withInfo(pdf []byte, in info) ([]byte, error) {
	m := startxrefRe.FindSubmatch(pdf)
	if m == nil {
		return nil, fmt.Errorf("certpdf: no startxref in the PDF")
	}
	prev := string(m[1])
	trailer := pdf[bytes.LastIndex(pdf, []byte("trailer")):]
	s := sizeRe.FindSubmatch(trailer)
	if s == nil {
		return nil, fmt.Errorf("certpdf: no /Size in the PDF trailer")
	}
	obj, err := strconv.Atoi(string(s[1]))
	if err != nil {
		return nil, fmt.Errorf("certpdf: /Size: %w", err)
	}
	var b bytes.Buffer
	b.Write(pdf)
	offset := b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<<\n", obj)
	fmt.Fprintf(&b, "/Title %s\n/Author %s\n/Subject %s\n", pdfString(in.Title), pdfString(in.Author), pdfString(in.Subject))
	if in.Keywords != "" {
		fmt.Fprintf(&b, "/Keywords (%s)\n", in.Keywords) // jwsCharset: nothing to escape
	}
	fmt.Fprintf(&b, "/Producer (%s)\n", producer)
	if !in.Created.IsZero() {
		fmt.Fprintf(&b, "/CreationDate (%s)\n/ModDate (%s)\n", pdfDate(in.Created), pdfDate(in.Created))
	}
	b.WriteString(">>\nendobj\n")
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \n", obj, offset)
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R /Prev %s >>\nstartxref\n%d\n%%%%EOF\n", obj+1, obj, prev, xref)
	return b.Bytes(), nil
}

// SignatureOf takes the signature back out of a PDF Render wrote, so that
// a verifier (or a test) needs no PDF library: it reads the last Keywords
// entry, which is the one the final incremental update carries.
func SignatureOf(pdf []byte) (string, bool) {
	all := keywordsRe.FindAllSubmatch(pdf, -1)
	if len(all) == 0 {
		return "", false
	}
	sig := string(all[len(all)-1][1])
	return sig, sig != ""
}

// pdfString encodes a text string as UTF-16BE hex with a byte-order mark,
// the form PDF readers take for any script.
func pdfString(s string) string {
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteString(">")
	return b.String()
}

// pdfDate is a PDF date, D:YYYYMMDDHHmmSS+HH'mm', in t's own zone.
func pdfDate(t time.Time) string {
	zone := t.Format("-07:00")
	if zone == "+00:00" {
		return t.Format("D:20060102150405") + "Z"
	}
	return t.Format("D:20060102150405") + strings.Replace(zone, ":", "'", 1) + "'"
}
