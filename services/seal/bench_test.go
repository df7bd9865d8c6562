package seal_test

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"handheld/services/store"
)

// BenchmarkSealOpen is what sealing costs a write and a read: seal then
// open a typical certificate PDF (77 KB, the size services/certpdf renders
// for a full deposit-and-use certificate) and a card number, reported with
// its ratio to a plain copy of the same value measured in the same run
// (x-copy), the least a write and a read of it cost without sealing.
func BenchmarkSealOpen(b *testing.B) {
	r := newRing(b, "sealing-20260101-00000001", "sealing-20260101-00000001")
	pdf := make([]byte, 76_865)
	_, _ = rand.Read(pdf)
	at := store.Place{Table: "certificates", Column: "pdf", Row: "c_0123456789abcdef"}
	b.Run("pdf-77KB", func(b *testing.B) {
		b.SetBytes(int64(len(pdf)))
		b.ReportAllocs()
		for b.Loop() {
			sealed, err := r.Seal(pdf, at)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.Open(sealed, at); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(perOp(b)/copyCost(func() { _ = bytes.Clone(bytes.Clone(pdf)) }), "x-copy")
	})
	b.Run("card", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sealed, err := r.SealText(card, place)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.OpenText(sealed, place); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(perOp(b)/copyCost(func() { _ = strings.Clone(strings.Clone(card)) }), "x-copy")
	})
}

// perOp is the loop's nanoseconds per operation.
func perOp(b *testing.B) float64 { return float64(b.Elapsed().Nanoseconds()) / float64(b.N) }

// copyCost is the nanoseconds per call of copy, over enough calls to
// measure (a write and a read, hence two copies in each call).
func copyCost(copy func()) float64 {
	const n = 2000
	start := time.Now()
	for range n {
		copy()
	}
	return max(float64(time.Since(start).Nanoseconds())/n, 1)
}
