package material

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"image/jpeg"
	"image/png"
	"testing"

	"handheld/services"
)

var testLimits = Limits{MaxBytes: 2 << 20, MaxPixels: 40_000_000, MaxPDFPages: 20}

// TestSanitizeRefusals: every file that lies, bombs or carries active
// content is refused with its stable code.
func TestSanitizeRefusals(t *testing.T) {
	j := jpegOf(t, 64, 48)
	big := make([]byte, testLimits.MaxBytes+1)
	copy(big, j)
	cases := []struct {
		name string
		in   []byte
		want services.Code
	}{
		{"0 bytes", nil, services.CodeMaterialEmpty},
		{"oversize", big, services.CodeMaterialTooLarge},
		{"zip named .pdf", zipOf(t, "a.txt", bytes.Repeat([]byte("0"), 1<<16)), services.CodeMaterialUnsupportedType},
		{"text named .jpg", []byte("hello, this is not a photo"), services.CodeMaterialUnsupportedType},
		{"html", []byte("<html><script>alert(1)</script></html>"), services.CodeMaterialUnsupportedType},
		{"truncated JPEG", j[:len(j)/2], services.CodeMaterialUnsupportedType},
		{"JPEG header only", j[:20], services.CodeMaterialUnsupportedType},
		{"PNG pixel bomb 100000x100000", pngBomb(100000, 100000), services.CodeMaterialTooManyPixels},
		{"JPEG pixel bomb 65000x65000", jpegBomb(t, 65000, 65000), services.CodeMaterialTooManyPixels},
		{"PNG of 0x0", pngBomb(0, 0), services.CodeMaterialUnsupportedType},
		{"PDF with a JPEG header", append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, pdfOf(1, "")...), services.CodeMaterialUnsupportedType},
		{"PDF header late", append([]byte("junk\n"), pdfOf(1, "")...), services.CodeMaterialUnsupportedType},
		{"PDF then ZIP (polyglot)", append(pdfOf(1, ""), zipOf(t, "x.js", []byte("evil"))...), services.CodeMaterialUnsupportedType},
		{"PDF header without a body", []byte("%PDF-1.7\n%%EOF\n"), services.CodeMaterialUnsupportedType},
		{"PDF with /JavaScript", pdfOf(1, "/Names << /JavaScript 4 0 R >>", "<< /Names [(x) 5 0 R] >>", "<< /S /JavaScript /JS (app.alert(1)) >>"), services.CodeMaterialUnsafePDF},
		{"PDF with /OpenAction", pdfOf(1, "/OpenAction << /S /URI /URI (http://example.invalid) >>"), services.CodeMaterialUnsafePDF},
		{"PDF with escaped /J#61vaScript", pdfOf(1, "/OpenAction << /S /J#61vaScript /J#53 (x) >>"), services.CodeMaterialUnsafePDF},
		{"PDF with /Launch", pdfOf(1, "/Outlines << /A << /S /Launch /F (cmd.exe) >> >>"), services.CodeMaterialUnsafePDF},
		{"PDF with /EmbeddedFiles", pdfOf(1, "/Names << /EmbeddedFiles << /Names [] >> >>"), services.CodeMaterialUnsafePDF},
		{"PDF with /AA", pdfOf(1, "/AA << >>"), services.CodeMaterialUnsafePDF},
		{"PDF with XFA", pdfOf(1, "/AcroForm << /XFA 4 0 R /Fields [] >>", "<< >>"), services.CodeMaterialUnsafePDF},
		{"PDF of 21 pages", pdfOf(21, ""), services.CodeMaterialTooManyPages},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Sanitize(c.in, testLimits)
			if code := services.ErrorCode(err); err == nil || code != c.want {
				t.Fatalf("Sanitize = %s (%d bytes), %v; want %s", got.MediaType, len(got.Data), err, c.want)
			}
		})
	}
}

// TestSanitizeAccepts: the type comes from the bytes; images come out
// re-encoded in their own format, PDFs as they were.
func TestSanitizeAccepts(t *testing.T) {
	cases := []struct {
		name  string
		in    []byte
		media string
		pages int
	}{
		{"JPEG", jpegOf(t, 64, 48), MediaJPEG, 1},
		{"PNG (whatever its name says: .pdf)", pngOf(t, 30, 20), MediaPNG, 1},
		{"PDF of 1 page", pdfOf(1, ""), MediaPDF, 1},
		{"PDF of 20 pages", pdfOf(20, ""), MediaPDF, 20},
		{"PDF with a plain link annotation", pdfOf(1, "/PageMode /UseNone"), MediaPDF, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Sanitize(c.in, testLimits)
			if err != nil {
				t.Fatal(err)
			}
			if got.MediaType != c.media || got.Pages != c.pages {
				t.Fatalf("got %s of %d pages, want %s of %d", got.MediaType, got.Pages, c.media, c.pages)
			}
			if Sniff(got.Data) != c.media {
				t.Fatalf("stored bytes sniff as %q", Sniff(got.Data))
			}
		})
	}
}

// TestMetadataStripped: the GPS position in a photo's EXIF, a PNG's text
// chunk and a ZIP riding on a JPEG (a polyglot) are gone after the
// re-encode; the picture itself is still there.
func TestMetadataStripped(t *testing.T) {
	photo := withGPS(jpegOf(t, 64, 48))
	if !bytes.Contains(photo, []byte(gpsMarker)) || !bytes.Contains(photo, []byte("Exif\x00\x00")) {
		t.Fatal("fixture without its EXIF")
	}
	if _, err := jpeg.Decode(bytes.NewReader(photo)); err != nil {
		t.Fatalf("fixture does not decode: %v", err)
	}
	got, err := Sanitize(photo, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{gpsMarker, "Exif", "GPS"} {
		if bytes.Contains(got.Data, []byte(leak)) {
			t.Errorf("re-encoded JPEG still holds %q", leak)
		}
	}
	if got.Width != 64 || got.Height != 48 {
		t.Errorf("size %dx%d", got.Width, got.Height)
	}

	pic := withText(pngOf(t, 20, 10), "Comment", "张三 330106198503124134")
	if _, err := png.Decode(bytes.NewReader(pic)); err != nil {
		t.Fatalf("fixture does not decode: %v", err)
	}
	got, err = Sanitize(pic, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(got.Data, []byte("tEXt")) || bytes.Contains(got.Data, []byte("330106198503124134")) {
		t.Error("re-encoded PNG still holds its text chunk")
	}

	poly := append(jpegOf(t, 32, 32), zipOf(t, "payload.js", []byte("alert(1)"))...)
	got, err = Sanitize(poly, testLimits)
	if err != nil {
		t.Fatalf("JPEG+ZIP polyglot: %v (neutralised by the re-encode, not refused)", err)
	}
	if bytes.Contains(got.Data, []byte("PK\x03\x04")) || bytes.Contains(got.Data, []byte("payload.js")) {
		t.Error("the ZIP half of the polyglot survived")
	}
}

// TestUnsafeInsideObjectStream: active content hidden in a compressed
// object stream (invisible to a scan of the raw bytes) is found in the
// parsed objects; the same file without it is accepted.
func TestUnsafeInsideObjectStream(t *testing.T) {
	clean := pdfWithObjectStream(t, "", "<< /Producer (scanner) >>")
	got, err := Sanitize(clean, testLimits)
	if err != nil || got.Pages != 1 {
		t.Fatalf("clean object-stream PDF: %+v, %v", got.Pages, err)
	}
	for name, pdf := range map[string][]byte{
		"OpenAction to JavaScript": pdfWithObjectStream(t, "/OpenAction 5 0 R", "<< /S /JavaScript /JS (app.alert(1)) >>"),
		"Launch action":            pdfWithObjectStream(t, "/Outlines 5 0 R", "<< /A << /S /Launch /F (cmd.exe) >> >>"),
		"embedded file":            pdfWithObjectStream(t, "/Names 5 0 R", "<< /EmbeddedFiles << /Names [] >> >>"),
	} {
		if bytes.Contains(pdf, []byte("JavaScript")) || bytes.Contains(pdf, []byte("Launch")) || bytes.Contains(pdf, []byte("Embedded")) {
			t.Fatalf("%s: the fixture shows its name in the raw bytes", name)
		}
		_, err := Sanitize(pdf, testLimits)
		if services.ErrorCode(err) != services.CodeMaterialUnsafePDF {
			t.Errorf("%s: %v, want material.unsafe_pdf", name, err)
		}
	}
}

// TestDeflateBombInObjectStream: an object stream that inflates to 64 MiB
// of zeros is refused before the parser expands it.
func TestDeflateBombInObjectStream(t *testing.T) {
	var packed bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&packed, zlib.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 64 {
		zw.Write(zeros)
	}
	zw.Close()
	pdf := []byte(fmt.Sprintf("%%PDF-1.5\n4 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n", packed.Len()))
	pdf = append(pdf, packed.Bytes()...)
	pdf = append(pdf, "\nendstream\nendobj\n"...)
	pdf = append(pdf, pdfOf(1, "")[len("%PDF-1.4\n"):]...)
	if len(pdf) > 1<<20 {
		t.Fatalf("the bomb is %d bytes", len(pdf))
	}
	_, err := Sanitize(pdf, testLimits)
	if services.ErrorCode(err) != services.CodeMaterialUnsafePDF {
		t.Fatalf("deflate bomb: %v", err)
	}
}

// TestOrientationApplied: a phone's portrait photo, stored landscape with
// EXIF Orientation 6 (turn 90° clockwise), comes out upright (taller than
// wide) and without the tag.
func TestOrientationApplied(t *testing.T) {
	j := jpegOf(t, 64, 48)
	le := binary.LittleEndian
	var tiff bytes.Buffer
	tiff.WriteString("II*\x00")
	binary.Write(&tiff, le, uint32(8))
	binary.Write(&tiff, le, uint16(1))
	binary.Write(&tiff, le, []uint16{0x0112, 3})
	binary.Write(&tiff, le, uint32(1))
	binary.Write(&tiff, le, []uint16{6, 0})
	binary.Write(&tiff, le, uint32(0))
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	photo := append([]byte{0xFF, 0xD8, 0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}, payload...)
	photo = append(photo, j[2:]...)
	if o := exifOrientation(photo); o != 6 {
		t.Fatalf("orientation %d", o)
	}
	got, err := Sanitize(photo, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	if got.Width != 48 || got.Height != 64 {
		t.Fatalf("%dx%d, want 48x64 (turned upright)", got.Width, got.Height)
	}
	if exifOrientation(got.Data) != 1 || bytes.Contains(got.Data, []byte("Exif")) {
		t.Fatal("the tag survived")
	}
	for o := 1; o <= 8; o++ {
		img := orient(picture(5, 3), o)
		if w, h := img.Bounds().Dx(), img.Bounds().Dy(); (o >= 5) != (w == 3 && h == 5) {
			t.Errorf("orientation %d: %dx%d", o, w, h)
		}
	}
}
