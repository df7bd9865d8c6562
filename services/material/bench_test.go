package material

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"

	"handheld/services/store/storetest"
)

// photo1MB is a JPEG of about 1 MB (1600x1200), as a phone's photo of a paper at a
// modest resolution comes out: a noisy picture at quality 92.
func photo1MB(b testing.TB) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, 1600, 1200))
	for y := range 1200 {
		for x := range 1600 {
			v := uint8(140 + rng.IntN(110))
			if (x/40+y/30)%7 == 0 {
				v = uint8(rng.IntN(60))
			}
			img.Set(x, y, color.RGBA{v, v, uint8(int(v) * 9 / 10), 255})
		}
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: 92}); err != nil {
		b.Fatal(err)
	}
	return out.Bytes()
}

// BenchmarkUpload is a whole upload of a 1 MB photo on the embedded
// profile's store: sniff, decode, re-encode, seal, write the blob, insert
// the row. Compare BenchmarkPlainWrite: the same bytes written to the
// same blob store as they came. README § Figures has the ratio.
func BenchmarkUpload(b *testing.B) {
	photo := photo1MB(b)
	blobs, err := NewFileBlobs(filepath.Join(b.TempDir(), "blobs"))
	if err != nil {
		b.Fatal(err)
	}
	svc, err := New(Deps{Store: storetest.Migrated(b, storetest.SQLiteDSN(b)), Blobs: blobs, Audit: &fakeAudit{}, Policy: DefaultPolicy()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(int64(len(photo)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Upload(ctx, zhang, "diagnosis", photo); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
}

// BenchmarkPlainWrite writes the same photo's bytes to the same kind of
// store with nothing else: the floor an upload is measured against.
func BenchmarkPlainWrite(b *testing.B) {
	photo := photo1MB(b)
	blobs, err := NewFileBlobs(filepath.Join(b.TempDir(), "blobs"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(int64(len(photo)))
	i := 0
	for b.Loop() {
		i++
		key := strconv.FormatInt(int64(i), 16)
		key = string(bytes.Repeat([]byte("0"), 32-len(key))) + key
		if err := blobs.Put(ctx, key, photo); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
}

// TestPhoto1MBIsAboutAMegabyte keeps the benchmark honest about its size.
func TestPhoto1MBIsAboutAMegabyte(t *testing.T) {
	if n := len(photo1MB(t)); n < 700<<10 || n > 1400<<10 {
		t.Fatalf("the benchmark photo is %d bytes", n)
	}
}
