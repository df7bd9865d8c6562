package ecard

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/keys"
	"handheld/services/keys/jwkstest"
	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/suite"
)

func TestCardAndVerify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		card, err := r.Card(ctx, depositor("s_zhang"))
		if err != nil {
			t.Fatal(err)
		}
		if card.Status != core.StatusNormal || !card.ExpiresAt.Equal(start.Add(DefaultTTL)) ||
			!card.RefreshAfter.Equal(card.ExpiresAt.Add(-20*time.Second)) {
			t.Fatalf("card %+v", card)
		}
		if len(card.Payload) > 400 {
			t.Errorf("payload of %d bytes is too long to scan easily", len(card.Payload))
		}
		res, err := r.Verify(ctx, counter(), card.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Valid || res.AccountStatus != core.StatusNormal || res.Holder.Name != "张*" ||
			strings.Contains(res.Holder.IDNumber, "198503") || res.Centre == "" {
			t.Fatalf("result %+v", res)
		}
		_, err = r.Verify(ctx, kiosk(), card.Payload)
		wantCode(t, err, services.CodeECardReplayed)
		if services.CodeECardReplayed.Status() != 409 {
			t.Fatal("replayed must be 409")
		}

		uses, err := r.Usage(ctx, depositor("s_zhang"))
		if err != nil {
			t.Fatal(err)
		}
		if len(uses) != 2 || uses[0].Result != ResultReplayed && uses[1].Result != ResultReplayed {
			t.Fatalf("uses %+v", uses)
		}
		var ok bool
		for _, u := range uses {
			ok = ok || u.Verifier == "verifier:demo-counter" && u.Channel == RoleVerifier && u.Result == ResultOK
		}
		if !ok {
			t.Fatalf("uses %+v: the counter's verification is missing", uses)
		}
		other, err := r.Usage(ctx, depositor("s_wang"))
		if err != nil || len(other) != 0 {
			t.Fatalf("another holder's usage %+v %v", other, err)
		}
		got := strings.Join(r.audit.actions(), ",")
		for _, want := range []string{"read.ecard ok", "ecard.verify ok", "ecard.verify denied", "read.ecard_usage ok"} {
			if !strings.Contains(got, want) {
				t.Errorf("audit %s lacks %s", got, want)
			}
		}
	})
}

func TestCardStatuses(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	ctx := context.Background()
	card, err := r.Card(ctx, depositor("s_wang"))
	if err != nil || card.Status != core.StatusSealed {
		t.Fatalf("sealed: %+v %v", card, err)
	}
	res, err := r.Verify(ctx, kiosk(), card.Payload)
	if err != nil || !res.Valid || res.AccountStatus != core.StatusSealed {
		t.Fatalf("sealed verify: %+v %v", res, err)
	}
	_, err = r.Card(ctx, depositor("s_chen"))
	wantCode(t, err, services.CodeAccountNotFound)
	r.reader.accounts["p_gone"] = core.Account{AccountNumber: "1", Status: core.StatusClosedWithdrawal}
	_, err = r.Card(ctx, depositor("s_gone"))
	wantCode(t, err, services.CodeAccountNotFound)
	_, err = r.Card(ctx, counter())
	wantCode(t, err, services.CodeForbidden)

	// Closed after minting: genuine, but not valid any more.
	card, err = r.Card(ctx, depositor("s_zhang"))
	if err != nil {
		t.Fatal(err)
	}
	r.reader.accounts["p_zhang"] = core.Account{AccountNumber: "330100200001", Status: core.StatusClosedTransfer}
	res, err = r.Verify(ctx, counter(), card.Payload)
	if err != nil || res.Valid || res.AccountStatus != core.StatusClosedTransfer {
		t.Fatalf("closed verify: %+v %v", res, err)
	}
}

func TestVerifyRejects(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)), jws)
	ctx := context.Background()
	card, err := r.Card(ctx, depositor("s_zhang"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(card.Payload, ".")
	other, err := keys.Ensure(t.TempDir(), start, suite.Env(), keys.PurposeECard)
	if err != nil {
		t.Fatal(err)
	}
	otherKey := other.Signer(keys.PurposeECard)
	otherKid := otherKey.KID
	tokensKey := r.ring.Signer(keys.PurposeTokens)
	tokensKid := tokensKey.KID
	stranger, err := keys.Ensure(t.TempDir(), start, suite.Env(), keys.PurposeECard)
	if err != nil {
		t.Fatal(err)
	}
	strangerKey := stranger.Signer(keys.PurposeECard)
	c := claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "330100", Subject: "s_zhang", ID: "AAAAAAAAAAAAAAAA",
		IssuedAt: jwt.NewNumericDate(start), ExpiresAt: jwt.NewNumericDate(start.Add(time.Minute))}, Status: "01"}
	signed := func(key keys.Signer, kid, typ string) string {
		m, k := key.JWT()
		tok := jwt.NewWithClaims(m, c)
		tok.Header["kid"], tok.Header["typ"] = kid, typ
		out, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	hs256 := func(kid string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		tok.Header["kid"], tok.Header["typ"] = kid, JWSType
		out, err := tok.SignedString([]byte(kid))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	otherAlg := keys.AlgSM2
	if suite.Env() == suite.SM {
		otherAlg = keys.AlgEdDSA
	}
	header := func(h string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(h)) + "." + parts[1] + "." + parts[2]
	}
	cases := map[string]struct {
		payload string
		code    services.Code
	}{
		"empty":                  {"", CodeMalformed},
		"garbage":                {"hello world", CodeMalformed},
		"two segments":           {parts[0] + "." + parts[1], CodeMalformed},
		"four segments":          {card.Payload + ".x", CodeMalformed},
		"oversized":              {card.Payload + strings.Repeat("A", MaxPayload), CodeMalformed},
		"padding":                {card.Payload + "=", CodeMalformed},
		"not json":               {"YWJj.YWJj.YWJj", CodeMalformed},
		"no signature":           {parts[0] + "." + parts[1] + ".", CodeMalformed},
		"bad signature":          {parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-4] + "AAAA", CodeBadSignature},
		"alg none":               {header(`{"alg":"none","typ":"hpf-ecard+jwt","kid":"` + r.signer.KID + `"}`), CodeBadSignature},
		"alg HS256":              {hs256(r.signer.KID), CodeBadSignature},
		"alg of the other suite": {header(`{"alg":"` + otherAlg + `","typ":"hpf-ecard+jwt","kid":"` + r.signer.KID + `"}`), CodeBadSignature},
		"foreign key":            {signed(otherKey, otherKid, JWSType), CodeBadSignature},
		"stranger key":           {signed(strangerKey, r.signer.KID, JWSType), CodeBadSignature},
		"tokens key":             {signed(tokensKey, tokensKid, JWSType), CodeBadSignature},
		"certificate typ":        {signed(r.signer, r.signer.KID, "hpf-cert+jwt"), CodeBadSignature},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := r.Verify(ctx, counter(), tc.payload)
			wantCode(t, err, tc.code)
		})
	}
	t.Run("truncated", func(t *testing.T) {
		for n := 1; n < len(card.Payload); n += 7 {
			_, err := r.Verify(ctx, counter(), card.Payload[:n])
			if code := services.ErrorCode(err); code != CodeMalformed && code != CodeBadSignature {
				t.Fatalf("truncated to %d: %v", n, err)
			}
		}
	})
	t.Run("wrong centre", func(t *testing.T) {
		c.Issuer = "110000"
		_, err := r.Verify(ctx, counter(), signed(r.signer, r.signer.KID, JWSType))
		wantCode(t, err, CodeBadSignature)
	})
	t.Run("depositor may not verify", func(t *testing.T) {
		_, err := r.Verify(ctx, depositor("s_wang"), card.Payload)
		wantCode(t, err, services.CodeForbidden)
	})
	// Nothing above used the genuine card up.
	if _, err := r.Verify(ctx, counter(), card.Payload); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyExpired(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	ctx := context.Background()
	card, err := r.Card(ctx, depositor("s_zhang"))
	if err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(DefaultTTL)
	_, err = r.Verify(ctx, counter(), card.Payload)
	wantCode(t, err, CodeExpired)
	if s := CodeExpired.Status(); s < 400 || s >= 500 {
		t.Fatalf("expired is %d", s)
	}
	uses, err := r.Usage(ctx, depositor("s_zhang"))
	if err != nil || len(uses) != 1 || uses[0].Result != ResultExpired {
		t.Fatalf("uses %+v %v", uses, err)
	}
}

func TestVerifyCoreDown(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	ctx := context.Background()
	card, err := r.Card(ctx, depositor("s_zhang"))
	if err != nil {
		t.Fatal(err)
	}
	r.reader.err = services.E(services.CodeCoreUnavailable)
	_, err = r.Verify(ctx, counter(), card.Payload)
	wantCode(t, err, services.CodeCoreUnavailable)
	r.reader.err = nil
	// The card was not used up by the failed attempt.
	if _, err := r.Verify(ctx, counter(), card.Payload); err != nil {
		t.Fatal(err)
	}
}

func TestQR(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	ctx := context.Background()
	for _, size := range []int{-1, 1, 127, 1025, 100000} {
		_, err := r.QR(ctx, depositor("s_zhang"), size)
		wantCode(t, err, services.CodeInvalid)
		if e := services.AsError(err); len(e.Fields) != 1 || e.Fields[0].Field != "size" {
			t.Fatalf("size %d: %+v", size, e)
		}
	}
	for _, size := range []int{0, 128, 1024} {
		png, err := r.QR(ctx, depositor("s_zhang"), size)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("size %d: not a PNG", size)
		}
	}
	_, err := r.QR(ctx, depositor("s_chen"), 0)
	wantCode(t, err, services.CodeAccountNotFound)
}

func TestAuditDownWithholdsCard(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	r.audit.fail = true
	_, err := r.Card(context.Background(), depositor("s_zhang"))
	wantCode(t, err, services.CodeInternal)
}

func TestNewChecks(t *testing.T) {
	ring, err := keys.Ensure(t.TempDir(), start, suite.Env(), keys.PurposeTokens)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Deps{}); err == nil {
		t.Fatal("no deps accepted")
	}
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	d := r.Deps
	d.Ring = ring
	if _, err := New(d); err == nil {
		t.Fatal("a ring without an e-card key accepted")
	}
	d = r.Deps
	d.TTL = time.Second
	if _, err := New(d); err == nil {
		t.Fatal("a 1 s TTL accepted")
	}
}

// TestVerifyOfflineWithJWKSOnly checks a JWS payload as a verifier without
// network access would: with the published JWKS and the algorithm alone.
func TestVerifyOfflineWithJWKSOnly(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)), jws)
	card, err := r.Card(context.Background(), depositor("s_zhang"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(card.Payload, ".")
	rawHeader, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var header struct{ Alg, Typ, Kid string }
	if err := json.Unmarshal(rawHeader, &header); err != nil {
		t.Fatal(err)
	}
	if header.Alg != suite.Env().Signature() || header.Typ != JWSType || !strings.HasPrefix(header.Kid, keys.PurposeECard+"-") {
		t.Fatalf("header %+v", header)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	if alg, err := jwkstest.Verify(r.ring.JWKS(), header.Kid, []byte(parts[0]+"."+parts[1]), sig); err != nil || alg != header.Alg {
		t.Fatalf("signature does not verify with the JWKS: %s %v", alg, err)
	}
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"iss", "sub", "st", "iat", "exp", "jti"} {
		if _, ok := c[k]; !ok {
			t.Errorf("claim %s missing from %s", k, body)
		}
	}
	if c["sub"] != "s_zhang" || c["iss"] != "330100" {
		t.Fatalf("claims %s", body)
	}
}
