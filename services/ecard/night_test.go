package ecard

import (
	"context"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/store/storetest"
)

// During the core's maintenance window a card is shown from the last known
// status within StatusMaxAge, and the verifier is told how old it is;
// beyond that age neither is done.
func TestCardFromLastKnownStatus(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	ctx := context.Background()
	card, err := r.Card(ctx, depositor("s_zhang"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Verify(ctx, counter(), card.Payload)
	if err != nil || !res.StatusAsOf.Equal(res.VerifiedAt) {
		t.Fatalf("by day: %+v %v", res, err)
	}

	asOf := start.Add(-3 * time.Hour)
	r.reader.staleAsOf = asOf
	card, err = r.Card(ctx, depositor("s_zhang"))
	if err != nil || !card.StatusAsOf.Equal(asOf) {
		t.Fatalf("remembered status: %+v %v", card, err)
	}
	res, err = r.Verify(ctx, counter(), card.Payload)
	if err != nil || !res.Valid || !res.StatusAsOf.Equal(asOf) {
		t.Fatalf("verify from the remembered status: %+v %v", res, err)
	}

	// Too old: no card; a card minted before is not verified either.
	card, _ = r.Card(ctx, depositor("s_zhang"))
	r.reader.staleAsOf = start.Add(-DefaultStatusMaxAge - time.Minute)
	_, err = r.Card(ctx, depositor("s_zhang"))
	wantCode(t, err, services.CodeECardStatusUnknown)
	_, err = r.Verify(ctx, counter(), card.Payload)
	wantCode(t, err, services.CodeECardStatusUnknown)
	if services.CodeECardStatusUnknown.Status() != 503 {
		t.Fatal("status_unknown must be 503")
	}
	// The refused verification did not use the card up.
	r.reader.staleAsOf = time.Time{}
	if _, err := r.Verify(ctx, counter(), card.Payload); err != nil {
		t.Fatal(err)
	}
}
