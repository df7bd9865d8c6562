package ecard

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"handheld/services/keys/jwkstest"
	"handheld/services/store/storetest"
	"handheld/services/suite"
)

func TestCompactExpiredAndReplayed(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	ctx := context.Background()
	first, err := r.Card(ctx, depositor("s_zhang"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.Card(ctx, depositor("s_zhang"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Verify(ctx, counter(), second.Payload); err != nil {
		t.Fatal(err)
	}
	_, err = r.Verify(ctx, kiosk(), second.Payload)
	wantCode(t, err, CodeReplayed)
	r.clock.Advance(DefaultTTL)
	_, err = r.Verify(ctx, counter(), first.Payload)
	wantCode(t, err, CodeExpired)
	uses, err := r.uses(ctx, "s_zhang")
	if err != nil {
		t.Fatal(err)
	}
	var results []string
	for _, u := range uses {
		results = append(results, u.Result)
	}
	if got := strings.Join(results, " "); got != "expired replayed ok" {
		t.Fatalf("uses %q", got)
	}
}

// TestJWSStillVerifies: a JWS card minted before the switch verifies, once,
// on a service that mints compact cards, and the switch back is a setting.
func TestJWSStillVerifies(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	ctx := context.Background()
	r.Format = FormatJWS
	old, err := r.Card(ctx, depositor("s_zhang"))
	if err != nil {
		t.Fatal(err)
	}
	r.Format = FormatCompact
	if strings.Count(old.Payload, ".") != 2 || strings.HasPrefix(old.Payload, CompactPrefix) {
		t.Fatalf("old payload %q", old.Payload)
	}
	fresh, err := r.Card(ctx, depositor("s_zhang"))
	if err != nil || !strings.HasPrefix(fresh.Payload, CompactPrefix) {
		t.Fatalf("fresh payload %q, %v", fresh.Payload, err)
	}
	for _, p := range []string{old.Payload, fresh.Payload} {
		if res, err := r.Verify(ctx, counter(), p); err != nil || !res.Valid {
			t.Fatalf("%.20s: %+v %v", p, res, err)
		}
		_, err := r.Verify(ctx, counter(), p)
		wantCode(t, err, CodeReplayed)
	}
	d := r.Deps
	d.Format = "cose"
	if _, err := New(d); err == nil {
		t.Fatal("format cose accepted")
	}
}

// TestCompactOfflineWithJWKSOnly checks a compact card as a verifier
// without network access would: base45, CBOR, the JWKS key whose kid ends
// in the card's 4-byte kid, and the COSE Sig_structure with the centre's
// external_aad.
func TestCompactOfflineWithJWKSOnly(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	card, err := r.Card(context.Background(), depositor("s_zhang"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base45Decode(strings.TrimPrefix(card.Payload, "EC1:"))
	if err != nil {
		t.Fatal(err)
	}
	var msg []cbor.RawMessage
	if err := cbor.Unmarshal(raw, &msg); err != nil || len(msg) != 4 {
		t.Fatalf("%d elements, %v", len(msg), err)
	}
	var prot, payload, sig []byte
	for i, dst := range map[int]*[]byte{0: &prot, 2: &payload, 3: &sig} {
		if err := cbor.Unmarshal(msg[i], dst); err != nil {
			t.Fatal(err)
		}
	}
	var header map[int]any
	if err := cbor.Unmarshal(prot, &header); err != nil {
		t.Fatal(err)
	}
	kid, _ := header[4].([]byte)
	var wantAlg any = int64(-8)
	if suite.Env() == suite.SM {
		wantAlg = nil // an SM2 card's alg is its key's
	}
	if header[1] != wantAlg || len(kid) != 4 {
		t.Fatalf("header %v", header)
	}
	var set struct {
		Keys []struct{ Kid string } `json:"keys"`
	}
	if err := json.Unmarshal(r.ring.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	var full string
	for _, k := range set.Keys {
		if strings.HasPrefix(k.Kid, "ecard-") && strings.HasSuffix(k.Kid, "-"+hex.EncodeToString(kid)) {
			full = k.Kid
		}
	}
	signed, err := cbor.Marshal([]any{"Signature1", prot, []byte("hpf-ecard:330100"), payload})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jwkstest.Verify(r.ring.JWKS(), full, signed, sig); err != nil {
		t.Fatalf("signature does not verify with the JWKS key %s: %v", full, err)
	}
	var claims []any
	if err := cbor.Unmarshal(payload, &claims); err != nil || len(claims) != 4 {
		t.Fatalf("claims %v, %v", claims, err)
	}
	if claims[0] != "s_zhang" || claims[1] != uint64(start.Add(DefaultTTL).Unix()) || claims[3] != uint64(1) {
		t.Fatalf("claims %v", claims)
	}
}
