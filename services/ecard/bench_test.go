package ecard

import (
	"context"
	"testing"

	"handheld/services/store/storetest"
)

// BenchmarkCardAndQR320 mints a card and renders it as a 320 px PNG.
func BenchmarkCardAndQR320(b *testing.B) {
	r := newRig(b, storetest.Migrated(b, storetest.SQLiteDSN(b)))
	ctx := context.Background()
	for b.Loop() {
		if _, err := r.QR(ctx, depositor("s_zhang"), 320); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyNoRedis verifies fresh cards with the in-memory one-time
// store (cards are minted outside the timer).
func BenchmarkVerifyNoRedis(b *testing.B) {
	r := newRig(b, storetest.Migrated(b, storetest.SQLiteDSN(b)))
	ctx := context.Background()
	payloads := make([]string, 0, 1024)
	for b.Loop() {
		if len(payloads) == 0 {
			b.StopTimer()
			for range cap(payloads) {
				c, err := r.Card(ctx, depositor("s_zhang"))
				if err != nil {
					b.Fatal(err)
				}
				payloads = append(payloads, c.Payload)
			}
			b.StartTimer()
		}
		p := payloads[len(payloads)-1]
		payloads = payloads[:len(payloads)-1]
		if _, err := r.Verify(ctx, counter(), p); err != nil {
			b.Fatal(err)
		}
	}
}
