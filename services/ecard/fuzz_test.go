package ecard

import (
	"context"
	"testing"

	"handheld/services"
	"handheld/services/store/storetest"
)

// FuzzVerifyPayload: no input makes Verify panic, succeed, or answer with
// anything but a client error.
func FuzzVerifyPayload(f *testing.F) {
	r := newRig(f, storetest.Migrated(f, storetest.SQLiteDSN(f)))
	card, err := r.Card(context.Background(), depositor("s_zhang"))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"", ".", "..", "a.b.c", card.Payload[:len(card.Payload)-1], card.Payload + "x",
		"eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJFZERTQSJ9.e30.AAAA"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		if payload == card.Payload {
			return
		}
		_, err := r.Verify(context.Background(), counter(), payload)
		if err == nil {
			t.Fatalf("%q verified", payload)
		}
		if s := services.AsError(err).Code.Status(); s < 400 || s >= 500 {
			t.Fatalf("%q: %v (%d)", payload, err, s)
		}
	})
}
