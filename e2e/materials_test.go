package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"handheld/bff"
	"handheld/bff/depositor"
	"handheld/services/store"
)

const myMaterials = "/api/v1/me/materials"

// materialUpload is a multipart upload of file as filename, with a
// Content-Type for the part that may lie.
func materialUpload(tok, key, kind, filename, partType string, file []byte) ([]byte, http.Header) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if kind != "" {
		_ = w.WriteField("kind", kind)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+filename+`"`)
	h.Set("Content-Type", partType)
	part, _ := w.CreatePart(h)
	_, _ = part.Write(file)
	_ = w.Close()
	hd := idempotent(tok, key)
	hd.Set("Content-Type", w.FormDataContentType())
	hd.Set("Accept-Language", "en")
	return b.Bytes(), hd
}

func testImage(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 9), uint8(y * 7), 90, 255})
		}
	}
	return img
}

// photoWithGPS is a JPEG with an EXIF block that names a place.
func photoWithGPS(t *testing.T) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(40, 30), nil); err != nil {
		t.Fatal(err)
	}
	j := b.Bytes()
	payload := []byte("Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00GPSLatitude 30.274084N GPSLongitude 120.155070E")
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append(append(append([]byte{}, j[:2]...), seg...), payload...)
	return append(out, j[2:]...)
}

// TestMaterialsUpload: through the app with PostgreSQL: a photo's GPS is
// stripped and the blob on disk is sealed; a PNG called .pdf is a PNG; a
// ZIP called .pdf, an empty file, a PDF with JavaScript and an oversize
// file are refused with their codes and store nothing; the list is the
// owner's; another person's id is 404 like an unknown one; a material
// in use is not deleted; deletion removes row and blob.
func TestMaterialsUpload(t *testing.T) {
	t.Parallel()
	blobDir := filepath.Join(t.TempDir(), "blobs")
	e := start(t, func(c *bff.Config) { c.MaterialsDir = blobDir })
	zhang, li := e.persona("depositor", "张伟"), e.persona("depositor", "李娜")
	a := e.bindWeChat("oMaterialZhang1", zhang).AccessToken
	b := e.bindWeChat("oMaterialLiNa01", li).AccessToken

	r := e.bad().do("POST", myMaterials, nil, nil)
	if r.StatusCode != 401 {
		t.Fatalf("anonymous upload %d", r.StatusCode)
	}
	// The photo: 201, re-encoded, no EXIF anywhere.
	body, h := materialUpload(a, "m1", "diagnosis", "张伟-诊断书.jpg", "image/jpeg", photoWithGPS(t))
	r = e.do("POST", myMaterials, body, h)
	if r.StatusCode != 201 {
		t.Fatalf("upload %d %s", r.StatusCode, r.body)
	}
	var photo depositor.MaterialBody
	r.json(t, &photo)
	if photo.MediaType != "image/jpeg" || photo.Kind != "diagnosis" || photo.InUse || r.Header.Get("Location") != myMaterials+"/"+photo.ID {
		t.Fatalf("material %+v", photo)
	}
	if strings.Contains(string(r.body), "诊断书") {
		t.Fatal("the file name came back")
	}
	// A retry with the same key is the same material.
	r = e.do("POST", myMaterials, body, h)
	var again depositor.MaterialBody
	r.json(t, &again)
	if r.StatusCode != 201 || again.ID != photo.ID || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %d %+v", r.StatusCode, again)
	}
	// The blob on disk is sealed: no JPEG, no EXIF, no GPS.
	var blobs [][]byte
	filepath.WalkDir(blobDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			raw, _ := os.ReadFile(p)
			blobs = append(blobs, raw)
		}
		return nil
	})
	if len(blobs) != 1 {
		t.Fatalf("%d blobs", len(blobs))
	}
	for _, leak := range []string{"\xFF\xD8\xFF", "JFIF", "Exif", "GPSLatitude"} {
		if bytes.Contains(blobs[0], []byte(leak)) {
			t.Fatalf("the stored blob holds %q", leak)
		}
	}

	// A PNG named .pdf, sent as application/pdf, is a PNG.
	var p bytes.Buffer
	_ = png.Encode(&p, testImage(12, 12))
	body, h = materialUpload(a, "m2", "property_registration", "deed.pdf", "application/pdf", p.Bytes())
	r = e.do("POST", myMaterials, body, h)
	var deed depositor.MaterialBody
	r.json(t, &deed)
	if r.StatusCode != 201 || deed.MediaType != "image/png" {
		t.Fatalf("png as pdf: %d %s", r.StatusCode, r.body)
	}

	// Refusals, each with its code, nothing stored.
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	f, _ := zw.Create("bomb.txt")
	f.Write(bytes.Repeat([]byte{0}, 1<<20))
	zw.Close()
	jsPDF := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	for _, c := range []struct {
		name, kind string
		file       []byte
		status     int
		code       string
	}{
		{"zip named .pdf", "diagnosis", z.Bytes(), 415, "material.unsupported_type"},
		{"empty", "diagnosis", nil, 400, "material.empty"},
		{"PDF with JavaScript", "diagnosis", jsPDF, 422, "material.unsafe_pdf"},
		{"oversize", "diagnosis", append([]byte("%PDF-1.4\n"), make([]byte, 10<<20)...), 413, "material.too_large"},
		{"unknown kind", "selfie", p.Bytes(), 400, "request.invalid"},
		{"no kind", "", p.Bytes(), 400, "request.invalid"},
	} {
		body, h := materialUpload(a, "bad-"+strings.ReplaceAll(c.name, " ", "-"), c.kind, "x.pdf", "application/pdf", c.file)
		r := e.bad().do("POST", myMaterials, body, h)
		if r.StatusCode != c.status || r.problem(t).Code != c.code {
			t.Errorf("%s: %d %s", c.name, r.StatusCode, r.body)
		}
	}

	// The list is the owner's, newest first; li sees none of it.
	var list depositor.MaterialList
	e.do("GET", myMaterials+"?limit=1", nil, bearer(a)).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != deed.ID || list.NextCursor == "" {
		t.Fatalf("list %+v", list)
	}
	e.do("GET", myMaterials, nil, bearer(b)).json(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("li sees %+v", list)
	}
	// Another person's id is 404 exactly like an unknown one.
	unknown := strings.Repeat("0", 32)
	for _, id := range []string{photo.ID, unknown} {
		for _, m := range []string{"GET", "DELETE"} {
			r := e.do(m, myMaterials+"/"+id, nil, bearer(b))
			if r.StatusCode != 404 || r.problem(t).Code != "material.not_found" {
				t.Fatalf("%s another's %s: %d %s", m, id, r.StatusCode, r.body)
			}
		}
	}

	// In use (claimed by an application): 409, still there.
	s, err := store.Open(context.Background(), e.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Exec(context.Background(), `UPDATE materials SET used_by = 'app-e2e' WHERE id = $1`, photo.ID); err != nil {
		t.Fatal(err)
	}
	r = e.do("DELETE", myMaterials+"/"+photo.ID, nil, bearer(a))
	if r.StatusCode != 409 || r.problem(t).Code != "material.in_use" {
		t.Fatalf("delete in use: %d %s", r.StatusCode, r.body)
	}
	var got depositor.MaterialBody
	if r = e.do("GET", myMaterials+"/"+photo.ID, nil, bearer(a)); r.StatusCode != 200 {
		t.Fatalf("get %d", r.StatusCode)
	}
	r.json(t, &got)
	if !got.InUse {
		t.Fatal("in_use false")
	}
	// Deleting an unused one: 204, then 404.
	if r = e.do("DELETE", myMaterials+"/"+deed.ID, nil, bearer(a)); r.StatusCode != 204 {
		t.Fatalf("delete %d %s", r.StatusCode, r.body)
	}
	if r = e.do("GET", myMaterials+"/"+deed.ID, nil, bearer(a)); r.StatusCode != 404 {
		t.Fatalf("after delete %d", r.StatusCode)
	}
	var n int
	if err := s.QueryRow(context.Background(), `SELECT COUNT(*) FROM materials`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rows left, %v", n, err)
	}
}
