package ecard

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"handheld/services"
	"handheld/services/keys"
)

// The compact e-card, in the manner of the EU's HCERT: CBOR claims in an
// untagged COSE_Sign1 (RFC 9052) signed with the centre's e-card key,
// encoded in base45 (RFC 9285) behind CompactPrefix. Base45 is the QR
// alphanumeric alphabet, so a card of at most 180 characters fits a
// version 9 code at medium error correction.
//
//	COSE_Sign1 = [ protected: bstr .cbor {1: -8 (EdDSA), 4: kid4} | {4: kid4},
//	               unprotected: {}, payload: bstr .cbor claims, signature: bstr (64) ]
//
// An Ed25519 card names its algorithm, -8. COSE registers no SM2
// algorithm, and a private-use value would cost four bytes the code cannot
// spare, so an SM2 card (SM2 over SM3 with the default user id, the
// signature r ‖ s) leaves alg out: the verifier takes the algorithm from
// the key the kid names, and holds an alg-less card to an SM2 key and a
// card saying -8 to an Ed25519 key, so neither passes for the other.
//
//	claims     = [ sub, exp, jti, st, ? sa ]
//
// kid4 is the last part of the e-card key's kid (the 8 hex digits of
// ecard-yyyymmdd-<8 hex>) as 4 bytes; sub is the pseudonymous subject,
// packed to its 15 random bytes when it has the usual s_<24 base32> form
// and a text string otherwise; exp is Unix seconds; jti 8 random bytes; st
// the account status at issue (an unsigned integer for a two-digit code,
// text otherwise); sa, only while the status is a remembered one, how many
// seconds before exp the core last confirmed it. The issuer and the kind of
// document are not carried but signed: the COSE external_aad is
// "hpf-ecard:" + the centre code, so a card of another centre, or any other
// COSE the centre signs, fails the signature check.
const (
	// CompactPrefix starts every compact payload and names its version.
	CompactPrefix = "EC1:"
	// FormatCompact and FormatJWS are what Deps.Format may choose to mint;
	// Verify accepts both.
	FormatCompact = "compact"
	FormatJWS     = "jws"

	coseAlgEdDSA   = -8
	coseAlgSM2     = 0 // no alg in the header
	compactKidSize = 4
	compactJTISize = 8
	subjectPrefix  = "s_"
	subjectBytes   = 15
	maxSubjectText = 64
	maxStatusText  = 8
)

// subjectB32 is how identity spells a subject's random part.
var subjectB32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// cborEnc writes the one encoding a compact card has (RFC 8949 core
// deterministic); cborDec reads only small, definite, tag-free CBOR.
var (
	cborEnc = must(cbor.CoreDetEncOptions().EncMode())
	cborDec = must(cbor.DecOptions{
		DupMapKey: cbor.DupMapKeyEnforcedAPF, IndefLength: cbor.IndefLengthForbidden, TagsMd: cbor.TagsForbidden,
		MaxNestedLevels: 4, MaxArrayElements: 16, MaxMapPairs: 16, ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}.DecMode())
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// sign1 is an untagged COSE_Sign1.
type sign1 struct {
	_           struct{} `cbor:",toarray"`
	Protected   []byte
	Unprotected cbor.RawMessage
	Payload     []byte
	Signature   []byte
}

// protectedHeader is the only protected header a compact card has.
type protectedHeader struct {
	Alg int    `cbor:"1,keyasint,omitempty"`
	Kid []byte `cbor:"4,keyasint"`
}

// emptyMap is the unprotected header: nothing.
var emptyMap = cbor.RawMessage{0xa0}

// compactClaims is what a compact card says.
type compactClaims struct {
	Subject    string
	ExpiresAt  time.Time
	ID         []byte
	Status     string
	StatusAsOf time.Time // zero unless remembered
}

// compactKid is the 4-byte key id of a full e-card kid.
func compactKid(kid string) ([]byte, error) {
	b, err := hex.DecodeString(keys.KeyIDSuffix(kid))
	if err != nil || len(b) != compactKidSize {
		return nil, fmt.Errorf("ecard: key id %q has no 8 hex digit suffix", kid)
	}
	return b, nil
}

// externalAAD binds a compact card to e-cards of centre.
func externalAAD(centre string) []byte { return []byte("hpf-ecard:" + centre) }

// sigStructure is COSE's Sig_structure for a Signature1.
func sigStructure(protected, aad, payload []byte) ([]byte, error) {
	return cborEnc.Marshal([]any{"Signature1", protected, aad, payload})
}

// encodeClaims writes c as the claims array.
func encodeClaims(c compactClaims) ([]byte, error) {
	var sub any = c.Subject
	if raw, ok := packedSubject(c.Subject); ok {
		sub = raw
	}
	var st any = c.Status
	if len(c.Status) == 2 && isDigit(c.Status[0]) && isDigit(c.Status[1]) {
		st = uint64((c.Status[0]-'0')*10 + c.Status[1] - '0')
	}
	exp := c.ExpiresAt.Unix()
	if exp < 0 {
		return nil, fmt.Errorf("ecard: expiry %s before 1970", c.ExpiresAt)
	}
	items := []any{sub, uint64(exp), c.ID, st}
	if !c.StatusAsOf.IsZero() {
		before := exp - c.StatusAsOf.Unix()
		if before < 0 {
			return nil, fmt.Errorf("ecard: status as of %s after expiry", c.StatusAsOf)
		}
		items = append(items, uint64(before))
	}
	return cborEnc.Marshal(items)
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// packedSubject is the 15 random bytes of an s_<24 lower-case base32>
// subject.
func packedSubject(sub string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(sub, subjectPrefix)
	if !ok || len(rest) != subjectB32.EncodedLen(subjectBytes) || strings.ToLower(rest) != rest {
		return nil, false
	}
	b, err := subjectB32.DecodeString(strings.ToUpper(rest))
	if err != nil || len(b) != subjectBytes {
		return nil, false
	}
	return b, true
}

// decodeClaims reads the claims array; every field is checked for type and
// size, and the input must be exactly what encodeClaims would write.
func decodeClaims(b []byte) (compactClaims, error) {
	var items []cbor.RawMessage
	if err := cborDec.Unmarshal(b, &items); err != nil {
		return compactClaims{}, err
	}
	if len(items) != 4 && len(items) != 5 {
		return compactClaims{}, fmt.Errorf("%d claims", len(items))
	}
	var c compactClaims
	switch items[0][0] >> 5 {
	case 2: // byte string: a packed subject
		var raw []byte
		if err := cborDec.Unmarshal(items[0], &raw); err != nil || len(raw) != subjectBytes {
			return compactClaims{}, fmt.Errorf("packed subject of %d bytes", len(raw))
		}
		c.Subject = subjectPrefix + strings.ToLower(subjectB32.EncodeToString(raw))
	case 3:
		if err := cborDec.Unmarshal(items[0], &c.Subject); err != nil || c.Subject == "" || len(c.Subject) > maxSubjectText {
			return compactClaims{}, fmt.Errorf("subject: %v", err)
		}
	default:
		return compactClaims{}, fmt.Errorf("subject of major type %d", items[0][0]>>5)
	}
	var exp uint64
	if err := cborDec.Unmarshal(items[1], &exp); err != nil || exp > 1<<40 {
		return compactClaims{}, fmt.Errorf("exp: %v", err)
	}
	c.ExpiresAt = time.Unix(int64(exp), 0).UTC()
	if err := cborDec.Unmarshal(items[2], &c.ID); err != nil || len(c.ID) != compactJTISize {
		return compactClaims{}, fmt.Errorf("jti: %v", err)
	}
	switch items[3][0] >> 5 {
	case 0:
		var st uint64
		if err := cborDec.Unmarshal(items[3], &st); err != nil || st > 99 {
			return compactClaims{}, fmt.Errorf("status: %v", err)
		}
		c.Status = fmt.Sprintf("%02d", st)
	case 3:
		if err := cborDec.Unmarshal(items[3], &c.Status); err != nil || c.Status == "" || len(c.Status) > maxStatusText {
			return compactClaims{}, fmt.Errorf("status: %v", err)
		}
	default:
		return compactClaims{}, fmt.Errorf("status of major type %d", items[3][0]>>5)
	}
	if len(items) == 5 {
		var before uint64
		if err := cborDec.Unmarshal(items[4], &before); err != nil || before > exp {
			return compactClaims{}, fmt.Errorf("status as of: %v", err)
		}
		c.StatusAsOf = time.Unix(int64(exp-before), 0).UTC()
	}
	again, err := encodeClaims(c)
	if err != nil || !bytes.Equal(again, b) {
		return compactClaims{}, fmt.Errorf("claims not in their one encoding")
	}
	return c, nil
}

// signCompact makes a compact payload of c with the current e-card key.
func (s *Service) signCompact(c compactClaims) (string, error) {
	payload, err := encodeClaims(c)
	if err != nil {
		return "", services.Errorf(services.CodeInternal, "ecard: claims: %w", err)
	}
	msg, err := sigStructure(s.protected, s.aad, payload)
	if err != nil {
		return "", services.Errorf(services.CodeInternal, "ecard: sign: %w", err)
	}
	sig, err := s.signer.Sign(msg)
	if err != nil {
		return "", services.Errorf(services.CodeInternal, "ecard: sign: %w", err)
	}
	out, err := cborEnc.Marshal(sign1{Protected: s.protected, Unprotected: emptyMap, Payload: payload, Signature: sig})
	if err != nil {
		return "", services.Errorf(services.CodeInternal, "ecard: sign: %w", err)
	}
	return CompactPrefix + base45Encode(out), nil
}

// parseCompact checks a compact payload's shape, then its signature: an
// e-card key of the ring whose algorithm is the header's, this centre's
// external_aad.
func (s *Service) parseCompact(payload string) (verified, error) {
	raw, err := base45Decode(payload[len(CompactPrefix):])
	if err != nil {
		return verified{}, services.Errorf(CodeMalformed, "ecard: compact: %w", err)
	}
	var msg sign1
	if err := cborDec.Unmarshal(raw, &msg); err != nil {
		return verified{}, services.Errorf(CodeMalformed, "ecard: compact: %w", err)
	}
	if again, err := cborEnc.Marshal(msg); err != nil || !bytes.Equal(again, raw) || !bytes.Equal(msg.Unprotected, emptyMap) {
		return verified{}, services.Errorf(CodeMalformed, "ecard: compact: not in its one encoding")
	}
	var h protectedHeader
	if err := cborDec.Unmarshal(msg.Protected, &h); err != nil {
		return verified{}, services.Errorf(CodeMalformed, "ecard: compact header: %w", err)
	}
	if again, err := cborEnc.Marshal(h); err != nil || !bytes.Equal(again, msg.Protected) {
		return verified{}, services.Errorf(CodeMalformed, "ecard: compact header: not in its one encoding")
	}
	c, err := decodeClaims(msg.Payload)
	if err != nil {
		return verified{}, services.Errorf(CodeMalformed, "ecard: compact claims: %w", err)
	}
	switch {
	case h.Alg != coseAlgEdDSA && h.Alg != coseAlgSM2:
		return verified{}, services.Errorf(CodeBadSignature, "ecard: compact alg %d", h.Alg)
	case len(msg.Signature) != keys.SignatureSize:
		return verified{}, services.Errorf(CodeBadSignature, "ecard: compact signature of %d bytes", len(msg.Signature))
	}
	signed, err := sigStructure(msg.Protected, s.aad, msg.Payload)
	if err != nil {
		return verified{}, services.Errorf(CodeMalformed, "ecard: compact: %w", err)
	}
	if !s.verifyCompact(h.Kid, coseAlg[h.Alg], signed, msg.Signature) {
		return verified{}, services.Errorf(CodeBadSignature, "ecard: compact: no e-card key %x verifies", h.Kid)
	}
	return verified{Subject: c.Subject, ID: base64.RawURLEncoding.EncodeToString(c.ID), Issuer: s.CentreCode, ExpiresAt: c.ExpiresAt}, nil
}

// coseAlg names each COSE algorithm a compact card may carry as the keys
// package does.
var coseAlg = map[int]string{coseAlgEdDSA: keys.AlgEdDSA, coseAlgSM2: keys.AlgSM2}

// verifyCompact tries each e-card key of algorithm alg whose kid ends in
// kid's hex digits (one, unless two keys drew the same random part).
func (s *Service) verifyCompact(kid []byte, alg string, msg, sig []byte) bool {
	for _, full := range s.compactKids[string(kid)] {
		key, ok := s.Ring.Public(full)
		if ok && key.Purpose == keys.PurposeECard && key.Alg == alg && key.Verify(msg, sig) {
			return true
		}
	}
	return false
}

// compactIndex maps each e-card key's 4-byte kid to its full kids.
func compactIndex(r *keys.Ring) map[string][]string {
	idx := make(map[string][]string)
	for _, kid := range r.KeyIDs(keys.PurposeECard) {
		if b, err := compactKid(kid); err == nil {
			idx[string(b)] = append(idx[string(b)], kid)
		}
	}
	return idx
}

// newCompactJTI is 64 random bits: unique enough among the cards alive in
// one TTL, and short.
func newCompactJTI() ([]byte, error) {
	b := make([]byte, compactJTISize)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("ecard: jti: %w", err)
	}
	return b, nil
}
