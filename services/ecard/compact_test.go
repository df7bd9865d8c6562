package ecard

import (
	"bytes"
	"context"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/skip2/go-qrcode"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/keys"
	"handheld/services/store/storetest"
	"handheld/services/suite"
)

func TestBase45(t *testing.T) {
	// RFC 9285 section 4.
	for in, want := range map[string]string{"": "", "AB": "BB8", "Hello!!": "%69 VD92EX0", "base-45": "UJCLQE7W581", "ietf!": "QED8WEX0"} {
		if got := base45Encode([]byte(in)); got != want {
			t.Errorf("encode %q = %q, want %q", in, got, want)
		}
		back, err := base45Decode(want)
		if err != nil || string(back) != in {
			t.Errorf("decode %q = %q, %v", want, back, err)
		}
	}
	for _, bad := range []string{"A", "QED8WEX", "GGW", "ZZZ", ":::", "qed8wex0", "QED8WE\x00", "QED8WEé"} {
		if b, err := base45Decode(bad); err == nil {
			t.Errorf("decode %q = %x, want an error", bad, b)
		}
	}
}

// canonicalSubject is a subject of the form identity makes: s_ and 24
// lower-case base32 characters.
const canonicalSubject = "s_abcdefghijklmnopqrstuv23"

// withCanonicalHolder gives the rig's core a person behind canonicalSubject.
func withCanonicalHolder(r *rig) {
	id := "p_" + canonicalSubject[2:]
	r.reader.people[id] = core.Person{PersonID: id, Name: "赵敏", IDNumber: "330106199203154321", HasAccount: true}
	r.reader.accounts[id] = core.Account{AccountNumber: "330100200009", Status: core.StatusNormal}
}

func TestCompactRoundTrip(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	withCanonicalHolder(r)
	ctx := context.Background()
	card, err := r.Card(ctx, depositor(canonicalSubject))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(card.Payload, CompactPrefix) || len(card.Payload) > 180 ||
		strings.Trim(card.Payload, base45Alphabet) != "" {
		t.Fatalf("payload %q (%d characters)", card.Payload, len(card.Payload))
	}
	v, err := r.parse(card.Payload)
	if err != nil {
		t.Fatal(err)
	}
	want := verified{Subject: canonicalSubject, ID: v.ID, Issuer: "330100", ExpiresAt: start.Add(DefaultTTL)}
	if v != want || len(v.ID) != 11 {
		t.Fatalf("parsed %+v, want %+v", v, want)
	}
	res, err := r.Verify(ctx, counter(), card.Payload)
	if err != nil || !res.Valid || res.Holder.Name == "赵敏" || res.AccountStatus != core.StatusNormal {
		t.Fatalf("verify: %+v %v", res, err)
	}
	_, err = r.Verify(ctx, kiosk(), card.Payload)
	wantCode(t, err, CodeReplayed)
}

// TestCompactQRVersion encodes the longest compact card (a usual subject,
// the longest TTL, a remembered status of the oldest allowed age) with the
// QR library and reads the version it chose.
func TestCompactQRVersion(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)), func(d *Deps) {
		d.TTL, d.StatusMaxAge = maxTTL, 7*24*time.Hour
	})
	withCanonicalHolder(r)
	for name, stale := range map[string]time.Time{"live": {}, "remembered": start.Add(-7*24*time.Hour + time.Second)} {
		t.Run(name, func(t *testing.T) {
			r.reader.staleAsOf = stale
			card, err := r.Card(context.Background(), depositor(canonicalSubject))
			if err != nil {
				t.Fatal(err)
			}
			if len(card.Payload) > 180 {
				t.Fatalf("%d characters: %s", len(card.Payload), card.Payload)
			}
			q, err := qrcode.New(card.Payload, qrcode.Medium)
			if err != nil {
				t.Fatal(err)
			}
			if q.VersionNumber > 9 {
				t.Fatalf("QR version %d for %d characters", q.VersionNumber, len(card.Payload))
			}
			c := decodeCard(t, card.Payload)
			if !stale.IsZero() && !c.StatusAsOf.Equal(stale) {
				t.Fatalf("status as of %s, want %s", c.StatusAsOf, stale)
			}
		})
	}
}

// decodeCard reads a compact card's claims without checking anything.
func decodeCard(t *testing.T, payload string) compactClaims {
	t.Helper()
	raw, err := base45Decode(strings.TrimPrefix(payload, CompactPrefix))
	if err != nil {
		t.Fatal(err)
	}
	var msg sign1
	if err := cbor.Unmarshal(raw, &msg); err != nil {
		t.Fatal(err)
	}
	c, err := decodeClaims(msg.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompactQRPNG(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	for _, size := range []int{MinQRSize, 321, MaxQRSize} {
		b, err := r.QR(context.Background(), depositor("s_zhang"), size)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if got := img.Bounds().Size(); got.X != size || got.Y != size {
			t.Fatalf("size %v, want %d", got, size)
		}
	}
	// Every pixel is the module under it.
	q, err := qrcode.New("EC1:TEST", qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	bitmap := q.Bitmap()
	m := len(bitmap)
	for _, size := range []int{m - 1, m, 128, 333} {
		b, err := qrPNG(bitmap, size)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		n := max(size, m)
		if got := img.Bounds().Size(); got.X != n || got.Y != n {
			t.Fatalf("size %v, want %d", got, n)
		}
		for y := range n {
			for x := range n {
				g, _, _, _ := img.At(x, y).RGBA()
				if dark := bitmap[y*m/n][x*m/n]; dark != (g == 0) {
					t.Fatalf("size %d: pixel %d,%d is %d", n, x, y, g)
				}
			}
		}
	}
}

// compactForger signs compact cards the way the service does, with any
// key, kid, algorithm or centre.
type compactForger struct {
	key    keys.Signer
	kid    []byte
	alg    int
	centre string
}

func (f compactForger) sign(t *testing.T, c compactClaims) string {
	t.Helper()
	prot, err := cborEnc.Marshal(protectedHeader{Alg: f.alg, Kid: f.kid})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := encodeClaims(c)
	if err != nil {
		t.Fatal(err)
	}
	return f.seal(t, prot, payload)
}

func (f compactForger) seal(t *testing.T, prot, payload []byte) string {
	t.Helper()
	msg, err := sigStructure(prot, externalAAD(f.centre), payload)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := f.key.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cborEnc.Marshal(sign1{Protected: prot, Unprotected: emptyMap, Payload: payload, Signature: sig})
	if err != nil {
		t.Fatal(err)
	}
	return CompactPrefix + base45Encode(out)
}

func TestCompactRejects(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	ctx := context.Background()
	card, err := r.Card(ctx, depositor("s_zhang"))
	if err != nil {
		t.Fatal(err)
	}
	kid4, _ := compactKid(r.signer.KID)
	ourAlg, otherAlg := coseAlgEdDSA, coseAlgSM2
	if suite.Env() == suite.SM {
		ourAlg, otherAlg = otherAlg, ourAlg
	}
	genuine := compactForger{key: r.signer, kid: kid4, alg: ourAlg, centre: "330100"}
	other, err := keys.Ensure(t.TempDir(), start, suite.Env(), keys.PurposeECard)
	if err != nil {
		t.Fatal(err)
	}
	otherKey := other.Signer(keys.PurposeECard)
	otherKid := otherKey.KID
	otherKid4, _ := compactKid(otherKid)
	tokensKey := r.ring.Signer(keys.PurposeTokens)
	tokensKid := tokensKey.KID
	tokensKid4, _ := compactKid(tokensKid)
	stranger, err := keys.Ensure(t.TempDir(), start, suite.Env(), keys.PurposeECard)
	if err != nil {
		t.Fatal(err)
	}
	strangerKey := stranger.Signer(keys.PurposeECard)
	c := compactClaims{Subject: "s_zhang", ExpiresAt: start.Add(time.Minute), ID: []byte("12345678"), Status: "01"}
	forge := func(change func(*compactForger)) string {
		f := genuine
		change(&f)
		return f.sign(t, c)
	}
	raw, err := base45Decode(card.Payload[len(CompactPrefix):])
	if err != nil {
		t.Fatal(err)
	}
	var msg sign1
	if err := cbor.Unmarshal(raw, &msg); err != nil {
		t.Fatal(err)
	}
	encode := func(v any) string {
		b, err := cbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return CompactPrefix + base45Encode(b)
	}
	tagged, _ := cbor.Marshal(cbor.Tag{Number: 18, Content: msg})
	flipped := bytes.Clone(raw)
	flipped[len(flipped)-1] ^= 1
	withField := func(i int, v any) string { // the genuine claims with one field replaced, signed
		var items []any
		if err := cbor.Unmarshal(msg.Payload, &items); err != nil {
			t.Fatal(err)
		}
		items[i] = v
		b, _ := cborEnc.Marshal(items)
		prot, _ := cborEnc.Marshal(protectedHeader{Alg: ourAlg, Kid: kid4})
		return genuine.seal(t, prot, b)
	}
	for name, tc := range map[string]struct {
		payload string
		code    services.Code
	}{
		"prefix only":            {CompactPrefix, CodeMalformed},
		"lower case":             {strings.ToLower(card.Payload), CodeMalformed},
		"not base45":             {CompactPrefix + "ÄÖ", CodeMalformed},
		"base45 group too big":   {CompactPrefix + "ZZZ", CodeMalformed},
		"trailing character":     {card.Payload + "0", CodeMalformed},
		"oversize":               {CompactPrefix + strings.Repeat("0", MaxPayload), CodeMalformed},
		"not CBOR":               {CompactPrefix + base45Encode([]byte{0xff, 0xff, 0xff}), CodeMalformed},
		"trailing CBOR":          {CompactPrefix + base45Encode(append(bytes.Clone(raw), 0)), CodeMalformed},
		"tagged":                 {CompactPrefix + base45Encode(tagged), CodeMalformed},
		"three elements":         {encode([]any{msg.Protected, map[int]int{}, msg.Payload}), CodeMalformed},
		"unprotected header":     {encode(sign1{Protected: msg.Protected, Unprotected: cbor.RawMessage{0xa1, 0x04, 0x41, 0x00}, Payload: msg.Payload, Signature: msg.Signature}), CodeMalformed},
		"indefinite payload":     {CompactPrefix + base45Encode(append([]byte{0x84}, append(append(mustEnc(t, msg.Protected), 0xa0, 0x5f), append(append(mustEnc(t, msg.Payload), 0xff), mustEnc(t, msg.Signature)...)...)...)), CodeMalformed},
		"claims not an array":    {withField(0, nil)[:0] + genuine.seal(t, mustEnc(t, protectedHeader{Alg: ourAlg, Kid: kid4})[1:], []byte{0xa0}), CodeMalformed},
		"empty claims":           {genuine.seal(t, mustEnc(t, protectedHeader{Alg: ourAlg, Kid: kid4}), []byte{0x80}), CodeMalformed},
		"subject a number":       {withField(0, 7), CodeMalformed},
		"subject empty":          {withField(0, ""), CodeMalformed},
		"packed subject short":   {withField(0, []byte{1, 2, 3}), CodeMalformed},
		"subject text, packable": {withField(0, canonicalSubject), CodeMalformed},
		"expiry text":            {withField(1, "soon"), CodeMalformed},
		"expiry negative":        {withField(1, -1), CodeMalformed},
		"jti short":              {withField(2, []byte{1}), CodeMalformed},
		"status 100":             {withField(3, 100), CodeMalformed},
		"status packable":        {withField(3, "01"), CodeMalformed},
		"status a map":           {withField(3, map[int]int{1: 1}), CodeMalformed},
		"header a list":          {genuine.seal(t, []byte{0x80}, msg.Payload), CodeMalformed},
		"header extra field":     {genuine.seal(t, mustEnc(t, map[int]any{1: ourAlg, 4: kid4, 16: "x"}), msg.Payload), CodeMalformed},
		"flipped signature bit":  {CompactPrefix + base45Encode(flipped), CodeBadSignature},
		"alg ES256":              {forge(func(f *compactForger) { f.alg = -7 }), CodeBadSignature},
		"alg of the other suite": {forge(func(f *compactForger) { f.alg = otherAlg }), CodeBadSignature},
		"foreign key":            {forge(func(f *compactForger) { f.key, f.kid = otherKey, otherKid4 }), CodeBadSignature},
		"foreign key, our kid":   {forge(func(f *compactForger) { f.key = otherKey }), CodeBadSignature},
		"stranger key":           {forge(func(f *compactForger) { f.key = strangerKey }), CodeBadSignature},
		"tokens key":             {forge(func(f *compactForger) { f.key, f.kid = tokensKey, tokensKid4 }), CodeBadSignature},
		"unknown kid":            {forge(func(f *compactForger) { f.kid = []byte{0, 0, 0, 0} }), CodeBadSignature},
		"kid of 8 bytes":         {forge(func(f *compactForger) { f.kid = append(bytes.Clone(kid4), kid4...) }), CodeBadSignature},
		"wrong centre":           {forge(func(f *compactForger) { f.centre = "110000" }), CodeBadSignature},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := r.Verify(ctx, counter(), tc.payload)
			wantCode(t, err, tc.code)
		})
	}
	t.Run("every byte tampered", func(t *testing.T) {
		for i := range raw {
			b := bytes.Clone(raw)
			b[i] ^= 0x10
			_, err := r.Verify(ctx, counter(), CompactPrefix+base45Encode(b))
			if code := services.ErrorCode(err); code != CodeMalformed && code != CodeBadSignature {
				t.Fatalf("byte %d tampered: %v", i, err)
			}
		}
	})
	t.Run("truncated", func(t *testing.T) {
		for n := 1; n < len(card.Payload); n++ {
			_, err := r.Verify(ctx, counter(), card.Payload[:n])
			if code := services.ErrorCode(err); code != CodeMalformed && code != CodeBadSignature {
				t.Fatalf("truncated to %d: %v", n, err)
			}
		}
	})
	t.Run("forged with our key verifies", func(t *testing.T) {
		// The forger itself is right: the rejections above are for what they changed.
		if _, err := r.Verify(ctx, counter(), genuine.sign(t, c)); err != nil {
			t.Fatal(err)
		}
	})
	// Nothing above used the genuine card up.
	if _, err := r.Verify(ctx, counter(), card.Payload); err != nil {
		t.Fatal(err)
	}
}

func mustEnc(t *testing.T, v any) []byte {
	t.Helper()
	b, err := cborEnc.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
