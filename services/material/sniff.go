package material

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"handheld/services"
)

// The media types a material may have.
const (
	MediaJPEG = "image/jpeg"
	MediaPNG  = "image/png"
	MediaPDF  = "application/pdf"
)

// JPEGQuality is the quality re-encoded photos are written at: documents
// stay legible, a phone's 4 MB photo shrinks.
const JPEGQuality = 85

// Limits bound what Sanitize accepts (materials.* in the configuration).
type Limits struct {
	MaxBytes    int64
	MaxPixels   int64
	MaxPDFPages int
}

// Clean is an accepted file as it is stored: images re-encoded (no
// metadata), PDFs as uploaded after the checks.
type Clean struct {
	MediaType     string
	Data          []byte
	Width, Height int // images
	Pages         int // PDFs; 1 for an image
}

// The default pdfcpu configuration is read from (and first written to) a
// directory under the user's home; handheld uses its built-in defaults
// and writes nothing there.
func init() { api.DisableConfigDir() }

// Sanitize decides what in is from its bytes alone — never from a file
// name or a Content-Type, which the uploader chooses — and returns what
// may be stored, or a material.* refusal:
//
//   - JPEG and PNG: the header's dimensions are checked against
//     MaxPixels before anything is decoded (a 100000×100000 PNG of a few
//     kilobytes would otherwise ask for 40 GB), then the image is decoded
//     and encoded afresh. Only pixels survive: EXIF (GPS, camera, time),
//     ICC profiles, XMP, PNG text chunks and anything appended after the
//     image's end (a ZIP or PDF riding on a JPEG: a polyglot) are dropped.
//     A JPEG's EXIF orientation is applied to the pixels first, so the
//     photo stays upright without its tag.
//   - PDF: the bytes must start with %PDF-, parse (cross-reference table
//     and trailer, with pdfcpu), have at most MaxPDFPages pages, not be
//     encrypted, end at their last %%EOF, not also be a ZIP archive, and
//     carry no active content: JavaScript, JS, OpenAction, AA, Launch,
//     EmbeddedFile(s), XFA, RichMedia, SubmitForm, ImportData, GoToE.
//     Object and cross-reference streams may inflate to 16 MiB in all
//     (a deflate bomb is refused as unsafe). Every object is loaded and walked, those inside compressed object
//     streams included. A PDF is stored as uploaded (re-writing one would need a full PDF
//     renderer); the checks are what make it safe to hand on.
//
// Anything else, a ZIP renamed .pdf included, is material.unsupported_type.
func Sanitize(in []byte, l Limits) (Clean, error) {
	switch {
	case len(in) == 0:
		return Clean{}, services.E(services.CodeMaterialEmpty)
	case int64(len(in)) > l.MaxBytes:
		return Clean{}, &services.Error{Code: services.CodeMaterialTooLarge, Params: map[string]any{"max_bytes": l.MaxBytes}}
	}
	switch Sniff(in) {
	case MediaJPEG:
		return reencode(in, l, MediaJPEG)
	case MediaPNG:
		return reencode(in, l, MediaPNG)
	case MediaPDF:
		return checkPDF(in, l)
	}
	return Clean{}, unsupported("no JPEG, PNG or PDF signature")
}

// Sniff names the media type of b by its leading bytes, or "" for any
// other. A PDF must start with %PDF- at byte 0: readers that look further
// in (up to 1 KiB) are what lets a file be an image and a PDF at once.
func Sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return MediaJPEG
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return MediaPNG
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return MediaPDF
	}
	return ""
}

func unsupported(why string, args ...any) error {
	return services.Errorf(services.CodeMaterialUnsupportedType, "material: "+why, args...)
}

// reencode checks an image's size from its header, decodes it and writes
// it again in the same format.
func reencode(in []byte, l Limits, media string) (Clean, error) {
	var (
		cfg image.Config
		err error
	)
	if media == MediaJPEG {
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(in))
	} else {
		cfg, err = png.DecodeConfig(bytes.NewReader(in))
	}
	if err != nil {
		return Clean{}, unsupported("image header: %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Clean{}, unsupported("image of %dx%d", cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > l.MaxPixels {
		return Clean{}, &services.Error{Code: services.CodeMaterialTooManyPixels, Params: map[string]any{"max_pixels": l.MaxPixels},
			Cause: fmt.Errorf("material: image of %dx%d", cfg.Width, cfg.Height)}
	}
	var img image.Image
	if media == MediaJPEG {
		img, err = jpeg.Decode(bytes.NewReader(in))
	} else {
		img, err = png.Decode(bytes.NewReader(in))
	}
	if err != nil {
		return Clean{}, unsupported("image: %v", err)
	}
	if media == MediaJPEG {
		img = orient(img, exifOrientation(in))
	}
	var out bytes.Buffer
	out.Grow(len(in))
	if media == MediaJPEG {
		err = jpeg.Encode(&out, img, &jpeg.Options{Quality: JPEGQuality})
	} else {
		err = (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(&out, img)
	}
	if err != nil {
		return Clean{}, services.Errorf(services.CodeInternal, "material: re-encode: %w", err)
	}
	if int64(out.Len()) > l.MaxBytes {
		// A re-encoded PNG of a noisy JPEG-like picture can grow.
		return Clean{}, &services.Error{Code: services.CodeMaterialTooLarge, Params: map[string]any{"max_bytes": l.MaxBytes}}
	}
	b := img.Bounds()
	return Clean{MediaType: media, Data: out.Bytes(), Width: b.Dx(), Height: b.Dy(), Pages: 1}, nil
}

// unsafeNames are the PDF names that start something on opening or
// carry content other than pages: scripts, actions, attachments, forms.
var unsafeNames = map[string]bool{
	"JavaScript": true, "JS": true, "OpenAction": true, "AA": true, "Launch": true,
	"EmbeddedFile": true, "EmbeddedFiles": true, "XFA": true, "RichMedia": true,
	"SubmitForm": true, "ImportData": true, "GoToE": true,
}

// nameRe finds PDF names in raw bytes; their #xx escapes are decoded
// before the comparison (/J#61vaScript is /JavaScript).
var nameRe = regexp.MustCompile(`/[^\s/<>\[\]()%{}]+`)

// eofTail is what may follow a PDF's last %%EOF: line ends and spaces.
var eofTail = regexp.MustCompile(`^[\r\n\t \x00]*$`)

func checkPDF(in []byte, l Limits) (c Clean, err error) {
	if !regexp.MustCompile(`^%PDF-[12]\.[0-9]`).Match(in) {
		return Clean{}, unsupported("PDF header")
	}
	last := bytes.LastIndex(in, []byte("%%EOF"))
	if last < 0 || !eofTail.Match(in[last+5:]) {
		return Clean{}, unsupported("PDF: bytes after the last %%%%EOF")
	}
	if zr, err := zip.NewReader(bytes.NewReader(in), int64(len(in))); err == nil && len(zr.File) > 0 {
		return Clean{}, unsupported("PDF that is a ZIP archive too")
	}
	// The raw bytes first: names in plain (uncompressed) objects, escaped
	// or not. Names inside object streams are seen in the parsed objects.
	for _, m := range nameRe.FindAll(in, -1) {
		if unsafeNames[decodeName(string(m[1:]))] {
			return Clean{}, services.Errorf(services.CodeMaterialUnsafePDF, "material: PDF names /%s", decodeName(string(m[1:])))
		}
	}
	if err := inflateBudget(in); err != nil {
		return Clean{}, err
	}
	defer func() {
		if r := recover(); r != nil {
			c, err = Clean{}, unsupported("PDF parser: %v", r)
		}
	}()
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	ctx, err := api.ReadContext(bytes.NewReader(in), conf)
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "encrypt") || strings.Contains(strings.ToLower(err.Error()), "password") {
			return Clean{}, services.Errorf(services.CodeMaterialUnsafePDF, "material: encrypted PDF: %w", err)
		}
		return Clean{}, unsupported("PDF: %v", err)
	}
	if ctx.XRefTable.Encrypt != nil || ctx.E != nil {
		return Clean{}, services.Errorf(services.CodeMaterialUnsafePDF, "material: encrypted PDF")
	}
	if err := ctx.EnsurePageCount(); err != nil {
		return Clean{}, unsupported("PDF pages: %v", err)
	}
	if ctx.PageCount < 1 {
		return Clean{}, unsupported("PDF without pages")
	}
	if ctx.PageCount > l.MaxPDFPages {
		return Clean{}, &services.Error{Code: services.CodeMaterialTooManyPages, Params: map[string]any{"max_pages": l.MaxPDFPages},
			Cause: fmt.Errorf("material: PDF of %d pages", ctx.PageCount)}
	}
	// Every object, whether anything reaches it or not: objects in object
	// streams are loaded only when dereferenced, so each is, by number.
	for _, n := range slices.Sorted(maps.Keys(ctx.XRefTable.Table)) {
		e := ctx.XRefTable.Table[n]
		if e == nil || e.Free {
			continue
		}
		gen := 0
		if e.Generation != nil {
			gen = *e.Generation
		}
		o, err := ctx.XRefTable.Dereference(*types.NewIndirectRef(n, gen))
		if err != nil {
			return Clean{}, unsupported("PDF object %d: %v", n, err)
		}
		if o == nil {
			o = e.Object
		}
		if name, bad := unsafeObject(o, 0); bad {
			return Clean{}, services.Errorf(services.CodeMaterialUnsafePDF, "material: PDF object names /%s", name)
		}
	}
	return Clean{MediaType: MediaPDF, Data: in, Pages: ctx.PageCount}, nil
}

// unsafeObject walks a parsed object for an unsafe key or name value.
func unsafeObject(o types.Object, depth int) (string, bool) {
	if depth > 32 {
		return "", false
	}
	switch v := o.(type) {
	case types.Dict:
		for k, x := range v {
			if unsafeNames[decodeName(k)] {
				return k, true
			}
			if n, bad := unsafeObject(x, depth+1); bad {
				return n, true
			}
		}
	case types.StreamDict:
		return unsafeObject(v.Dict, depth+1)
	case types.Array:
		for _, x := range v {
			if n, bad := unsafeObject(x, depth+1); bad {
				return n, true
			}
		}
	case types.Name:
		if unsafeNames[decodeName(string(v))] {
			return string(v), true
		}
	}
	return "", false
}

// decodeName undoes a PDF name's #xx escapes.
func decodeName(s string) string {
	if !strings.Contains(s, "#") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && i+2 < len(s)+0 && i+2 <= len(s)-1 {
			var x byte
			if _, err := fmt.Sscanf(s[i+1:i+3], "%02x", &x); err == nil {
				b.WriteByte(x)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// maxInflated bounds what the parser may inflate of a PDF's object and
// cross-reference streams, all together: a scanner's PDF has a few KiB of
// them; a deflate bomb (a 10 MiB stream of zeros is 10 GiB inflated)
// would otherwise be expanded in memory by the parser.
const maxInflated = 16 << 20

// inflateBudget inflates every object and cross-reference stream the
// parser would, up to maxInflated in total, and refuses the file beyond.
// Streams that do not inflate are left to the parser to judge.
func inflateBudget(in []byte) error {
	// Where a dictionary names an object or cross-reference stream, and
	// where each stream's data starts: one pass each, then a merge, so a
	// hostile file costs time linear in its size.
	var markers []int
	for _, m := range [][]byte{[]byte("/ObjStm"), []byte("/XRef")} {
		for at := 0; ; {
			i := bytes.Index(in[at:], m)
			if i < 0 {
				break
			}
			markers = append(markers, at+i)
			at += i + len(m)
		}
	}
	slices.Sort(markers)
	budget := int64(maxInflated)
	mi, last := 0, -1
	for at := 0; ; {
		i := bytes.Index(in[at:], []byte("stream"))
		if i < 0 {
			return nil
		}
		start := at + i
		at = start + len("stream")
		if start >= 3 && string(in[start-3:start]) == "end" {
			continue
		}
		for mi < len(markers) && markers[mi] < start {
			mi++
		}
		prevStream := last
		last = start
		if mi == 0 || markers[mi-1] <= prevStream || start-markers[mi-1] > 1024 {
			continue // not an object or cross-reference stream's dictionary
		}
		data := at
		if data < len(in) && in[data] == '\r' {
			data++
		}
		if data < len(in) && in[data] == '\n' {
			data++
		}
		zr, err := zlib.NewReader(bytes.NewReader(in[data:]))
		if err != nil {
			continue
		}
		n, _ := io.Copy(io.Discard, io.LimitReader(zr, budget+1))
		zr.Close()
		if budget -= n; budget < 0 {
			return services.Errorf(services.CodeMaterialUnsafePDF, "material: PDF object streams inflate past %d bytes", maxInflated)
		}
	}
}
