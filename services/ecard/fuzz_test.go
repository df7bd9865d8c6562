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
	r.Format = FormatJWS
	old, err := r.Card(context.Background(), depositor("s_zhang"))
	if err != nil {
		f.Fatal(err)
	}
	r.Format = FormatCompact
	for _, seed := range []string{"", ".", "..", "a.b.c", card.Payload[:len(card.Payload)-1], card.Payload + "x",
		"eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJFZERTQSJ9.e30.AAAA",
		old.Payload[:len(old.Payload)-1], old.Payload + "x", CompactPrefix, CompactPrefix + "0", CompactPrefix + "ZZZ",
		CompactPrefix + card.Payload[len(CompactPrefix)+3:], card.Payload[:len(card.Payload)-3]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		if payload == card.Payload || payload == old.Payload {
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
