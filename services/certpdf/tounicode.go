package certpdf

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf16"
)

var (
	toUnicodeRefRe = regexp.MustCompile(`/ToUnicode (\d+) 0 R`)
	bfrangeRe      = regexp.MustCompile(`(?m)^<([0-9A-F]{4})><([0-9A-F]{4})><([0-9A-F]+)>$`)
	rootRe         = regexp.MustCompile(`/Root (\d+) 0 R`)
)

// withUnicodeMaps corrects what gopdf writes in a font's ToUnicode map for
// characters outside the Basic Multilingual Plane: the code point in hex
// (<20BB7>), where the PDF standard asks for UTF-16BE (<D842DFB7>). The
// page draws right either way, but without the correction a reader that
// copies, searches or reads aloud the text gets garbage for CJK Extension B
// characters, such as a name's 𠮷. Each map that needs it is written again
// as an incremental update (the standard way to replace an object of a
// finished PDF, as withInfo adds the information dictionary); a PDF without
// such characters comes back unchanged.
func withUnicodeMaps(pdf []byte) ([]byte, error) {
	var fixed [][2]int // object number, offset of its new version
	var b bytes.Buffer
	for _, m := range toUnicodeRefRe.FindAllSubmatch(pdf, -1) {
		obj, _ := strconv.Atoi(string(m[1]))
		stream, ok := objectStream(pdf, obj)
		if !ok {
			return nil, fmt.Errorf("certpdf: ToUnicode object %d not found", obj)
		}
		cmap, changed := utf16Ranges(stream)
		if !changed {
			continue
		}
		if b.Len() == 0 {
			b.Write(pdf)
		}
		fixed = append(fixed, [2]int{obj, b.Len()})
		fmt.Fprintf(&b, "%d 0 obj\n<<\n/Length %d\n>>\nstream\n%sendstream\nendobj\n", obj, len(cmap), cmap)
	}
	if len(fixed) == 0 {
		return pdf, nil
	}
	m := startxrefRe.FindSubmatch(pdf)
	trailer := pdf[bytes.LastIndex(pdf, []byte("trailer")):]
	size, root := sizeRe.FindSubmatch(trailer), rootRe.FindSubmatch(trailer)
	if m == nil || size == nil || root == nil {
		return nil, fmt.Errorf("certpdf: no startxref, /Size or /Root in the PDF")
	}
	xref := b.Len()
	b.WriteString("xref\n0 1\n0000000000 65535 f \n")
	for _, f := range fixed {
		fmt.Fprintf(&b, "%d 1\n%010d 00000 n \n", f[0], f[1])
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %s /Root %s 0 R /Prev %s >>\nstartxref\n%d\n%%%%EOF\n", size[1], root[1], m[1], xref)
	return b.Bytes(), nil
}

// objectStream is the content of stream object obj, as gopdf writes it.
func objectStream(pdf []byte, obj int) ([]byte, bool) {
	start := bytes.Index(pdf, fmt.Appendf(nil, "\n%d 0 obj\n", obj))
	if start < 0 {
		return nil, false
	}
	rest := pdf[start:]
	s := bytes.Index(rest, []byte("stream\n"))
	e := bytes.Index(rest, []byte("endstream"))
	if s < 0 || e < s {
		return nil, false
	}
	return rest[s+len("stream\n") : e], true
}

// utf16Ranges rewrites a ToUnicode CMap's one-glyph bfrange lines whose
// destination is a code point above U+FFFF as UTF-16BE surrogate pairs,
// and reports whether any was.
func utf16Ranges(cmap []byte) ([]byte, bool) {
	changed := false
	out := bfrangeRe.ReplaceAllFunc(cmap, func(line []byte) []byte {
		m := bfrangeRe.FindSubmatch(line)
		if len(m[3]) <= 4 {
			return line
		}
		cp, err := strconv.ParseUint(string(m[3]), 16, 32)
		if err != nil || cp > 0x10FFFF {
			return line
		}
		changed = true
		dst := ""
		for _, u := range utf16.Encode([]rune{rune(cp)}) {
			dst += fmt.Sprintf("%04X", u)
		}
		return fmt.Appendf(nil, "<%s><%s><%s>", m[1], m[2], dst)
	})
	return out, changed
}
