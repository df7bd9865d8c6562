package transfer

import (
	"context"
	"strconv"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/kv"
	"handheld/services/suite"
)

func TestCallbackSignatureWindowAndNonce(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	secret := []byte("platform-secret-0123456789abcdef0123")
	s := &Service{Deps: Deps{CallbackKeys: map[string][]byte{"platform": secret}, Nonces: kv.NewMemory(func() time.Time { return now }, services.NewHashKey([]byte("k"), suite.Env())),
		Now: func() time.Time { return now }}}
	body := []byte(`{"platform_ref":"PT1","transfer_ref":"tr_x","status":"sent","updated_at":"x","sequence":1}`)
	signed := func(key string, sec []byte, at time.Time, nonce string) Signed {
		ts := at.Unix()
		return Signed{Method: "POST", Path: PathCallback, KeyID: key, Timestamp: strconv.FormatInt(ts, 10), Nonce: nonce,
			Signature: core.Sign(sec, "POST", PathCallback, ts, nonce, body), Body: body}
	}
	ctx := context.Background()
	tampered := signed("platform", secret, now, "nonce-tampered-000001")
	tampered.Body = []byte(`{"sequence":9}`)
	for name, r := range map[string]Signed{
		"unknown key":     signed("someone", secret, now, "nonce-unknown-key-0001"),
		"forged":          signed("platform", []byte("another-secret-0123456789abcdef012345"), now, "nonce-forged-00000001"),
		"stale":           signed("platform", secret, now.Add(-6*time.Minute), "nonce-stale-000000001"),
		"from the future": signed("platform", secret, now.Add(6*time.Minute), "nonce-future-00000001"),
		"short nonce":     signed("platform", secret, now, "short"),
		"tampered body":   tampered,
	} {
		if err := s.verify(ctx, r); services.ErrorCode(err) != services.CodeCallbackBadSignature {
			t.Errorf("%s: %v", name, err)
		}
	}
	good := signed("platform", secret, now.Add(-4*time.Minute), "nonce-good-0000000001")
	if err := s.verify(ctx, good); err != nil {
		t.Fatalf("a good callback: %v", err)
	}
	if err := s.verify(ctx, good); services.ErrorCode(err) != services.CodeCallbackBadSignature {
		t.Errorf("replayed: %v", err)
	}
}
