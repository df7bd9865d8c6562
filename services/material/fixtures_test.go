package material

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

// picture is a w×h image with some structure, so that encoders work.
func picture(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), uint8((x ^ y) * 3), 255})
		}
	}
	return img
}

func jpegOf(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, picture(w, h), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngOf(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, picture(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// gpsMarker is in the EXIF GPS block of withGPS; it must not survive.
const gpsMarker = "GPS-30.274084N-120.155070E"

// withGPS puts an APP1 Exif segment with a GPS IFD (latitude 30°16'N,
// and a text marker in GPSProcessingMethod) right after the JPEG's SOI,
// where cameras and phones write it.
func withGPS(j []byte) []byte {
	le := binary.LittleEndian
	var tiff bytes.Buffer
	tiff.WriteString("II*\x00")
	binary.Write(&tiff, le, uint32(8))
	// IFD0: one entry, the GPS IFD pointer (0x8825) -> offset 26.
	binary.Write(&tiff, le, uint16(1))
	binary.Write(&tiff, le, []uint16{0x8825, 4})
	binary.Write(&tiff, le, []uint32{1, 26})
	binary.Write(&tiff, le, uint32(0))
	// GPS IFD at 26: LatitudeRef 'N', ProcessingMethod (ASCII at 56).
	binary.Write(&tiff, le, uint16(2))
	binary.Write(&tiff, le, []uint16{0x0001, 2})
	binary.Write(&tiff, le, uint32(2))
	tiff.WriteString("N\x00\x00\x00")
	binary.Write(&tiff, le, []uint16{0x001B, 2})
	binary.Write(&tiff, le, uint32(len(gpsMarker)+1))
	binary.Write(&tiff, le, uint32(56))
	binary.Write(&tiff, le, uint32(0))
	for tiff.Len() < 56 {
		tiff.WriteByte(0)
	}
	tiff.WriteString(gpsMarker + "\x00")
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, j[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, j[2:]...)
}

// pngChunk is one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// withText puts a tEXt chunk after the PNG's IHDR.
func withText(p []byte, key, value string) []byte {
	ihdrEnd := 8 + 8 + 13 + 4
	out := append([]byte{}, p[:ihdrEnd]...)
	out = append(out, pngChunk("tEXt", []byte(key+"\x00"+value))...)
	return append(out, p[ihdrEnd:]...)
}

// pngBomb claims w×h in its header with a few bytes of body.
func pngBomb(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(out, pngChunk("IEND", nil)...)
}

// jpegBomb rewrites a JPEG's SOF dimensions to w×h.
func jpegBomb(t testing.TB, w, h uint16) []byte {
	j := jpegOf(t, 16, 16)
	i := bytes.Index(j, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0")
	}
	binary.BigEndian.PutUint16(j[i+5:], h)
	binary.BigEndian.PutUint16(j[i+7:], w)
	return j
}

func zipOf(t testing.TB, name string, content []byte) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	f, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(content)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pdfOf writes a well-formed PDF with pages empty pages; catalogExtra goes
// into the catalog dictionary and extra objects after the pages.
func pdfOf(pages int, catalogExtra string, extra ...string) []byte {
	var objs []string
	kids := make([]string, pages)
	first := 3
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", first+i)
	}
	objs = append(objs, "<< /Type /Catalog /Pages 2 0 R "+catalogExtra+" >>")
	objs = append(objs, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages))
	for range pages {
		objs = append(objs, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>")
	}
	objs = append(objs, extra...)
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// pdfWithObjectStream writes a PDF 1.5 whose catalog, page tree and one
// more dictionary (extra) sit in a compressed object stream, with a
// cross-reference stream: nothing in them shows in the raw bytes.
// catalogExtra goes into the compressed catalog; extra is object 5.
func pdfWithObjectStream(t testing.TB, catalogExtra, extra string) []byte {
	inner := []string{
		"<< /Type /Catalog /Pages 2 0 R " + catalogExtra + " >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		extra,
	}
	nums := []int{1, 2, 5}
	var head, body bytes.Buffer
	for i, o := range inner {
		fmt.Fprintf(&head, "%d %d ", nums[i], body.Len())
		body.WriteString(o + "\n")
	}
	var packed bytes.Buffer
	zw := zlib.NewWriter(&packed)
	zw.Write(append(head.Bytes(), body.Bytes()...))
	zw.Close()

	var b bytes.Buffer
	b.WriteString("%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
	off3 := b.Len()
	b.WriteString("3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>\nendobj\n")
	off4 := b.Len()
	fmt.Fprintf(&b, "4 0 obj\n<< /Type /ObjStm /N 3 /First %d /Filter /FlateDecode /Length %d >>\nstream\n", head.Len(), packed.Len())
	b.Write(packed.Bytes())
	b.WriteString("\nendstream\nendobj\n")
	off6 := b.Len()
	entry := func(typ byte, f2 uint32, f3 uint16) []byte {
		e := []byte{typ, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(e[1:], f2)
		binary.BigEndian.PutUint16(e[5:], f3)
		return e
	}
	var xs bytes.Buffer
	xs.Write(entry(0, 0, 65535))
	xs.Write(entry(2, 4, 0))
	xs.Write(entry(2, 4, 1))
	xs.Write(entry(1, uint32(off3), 0))
	xs.Write(entry(1, uint32(off4), 0))
	xs.Write(entry(2, 4, 2))
	xs.Write(entry(1, uint32(off6), 0))
	fmt.Fprintf(&b, "6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n", xs.Len())
	b.Write(xs.Bytes())
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", off6)
	return b.Bytes()
}
