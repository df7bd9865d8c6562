package certificate

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"handheld/services/keys"
)

// JWSType is the JOSE typ of a certificate's signature. Checking it keeps
// any other JWT the centre signs (an access token, an e-card payload) from
// passing for a certificate, on top of the keys being per purpose.
const JWSType = "hpf-cert+jwt"

// Claims are what a certificate's signature vouches for: enough to tell a
// genuine certificate and its main facts without the PDF, and nothing that
// names the holder outright (the name is masked, the ID number keyed-hashed).
// A person's certificate carries Facts; a unit's carries Unit instead.
type Claims struct {
	Issuer string // iss: the centre code
	Number string // number: the certificate number
	Type   string // type: deposit_use, loan_elsewhere or unit_deposit
	Holder string // holder: masked name, e.g. 张*, or masked unit name, 杭州****面馆
	// IDHash is HMAC-SHA256 (hex) of the ID number, or of a unit's unified
	// social credit code; the centre can check one against it.
	IDHash    string       // id_hash
	Facts     FactsSummary // facts: a person's certificate
	Unit      *UnitSummary // unit: a unit's certificate, nil on a person's
	IssuedAt  time.Time    // iat
	ExpiresAt time.Time    // exp
	// PDFSHA256 is the SHA-256 (hex) of the PDF rendered without the
	// signature: the signature cannot be inside the bytes it signs, so it
	// covers the document as it reads, and the renderer embeds it after.
	PDFSHA256 string // pdf_sha256
	// ToCentre is the lending centre a loan_elsewhere certificate is
	// addressed to (to_centre), so the signature vouches for the
	// addressee too; "" (absent) on every other type.
	ToCentre string
}

// FactsSummary is the certificate's gist, signed with it.
type FactsSummary struct {
	Status           string `json:"status"` // account status code, e.g. 02 sealed
	BalanceFen       int64  `json:"balance_fen"`
	ContinuousMonths int    `json:"continuous_months"`
	HasLoan          bool   `json:"has_loan"`
}

// UnitSummary is a unit certificate's gist, signed with it.
type UnitSummary struct {
	Status         string `json:"status"`          // unit status code, e.g. 01
	StaffDeposited int    `json:"staff_deposited"` // staff deposited for
	MonthlyFen     int64  `json:"monthly_fen"`
	PaidUpTo       string `json:"paid_up_to"` // YYYY-MM
	InArrears      bool   `json:"in_arrears"`
	ArrearsMonths  int    `json:"arrears_months"`
}

// wireClaims is the JWS payload: registered claims for what JWT tools
// understand (iss, iat, exp), the rest under their own names.
type wireClaims struct {
	jwt.RegisteredClaims
	Number    string        `json:"number"`
	Type      string        `json:"type"`
	Holder    string        `json:"holder"`
	IDHash    string        `json:"id_hash"`
	Facts     *FactsSummary `json:"facts,omitempty"` // a person's: always present, as before units
	Unit      *UnitSummary  `json:"unit,omitempty"`  // a unit's
	PDFSHA256 string        `json:"pdf_sha256"`
	ToCentre  string        `json:"to_centre,omitempty"`
}

// sign makes the JWS (compact, EdDSA, with kid and typ) and returns the
// payload as signed, which is stored as the canonical claims.
func (s *Service) sign(c Claims) (jws string, payload []byte, err error) {
	w := wireClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    c.Issuer,
			IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
			ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
		},
		Number: c.Number, Type: c.Type, Holder: c.Holder, IDHash: c.IDHash, Unit: c.Unit, PDFSHA256: c.PDFSHA256,
		ToCentre: c.ToCentre,
	}
	if c.Unit == nil {
		w.Facts = &c.Facts
	}
	method, key := s.signer.JWT()
	tok := jwt.NewWithClaims(method, w)
	tok.Header["kid"] = s.signer.KID
	tok.Header["typ"] = JWSType
	jws, err = tok.SignedString(key)
	if err != nil {
		return "", nil, fmt.Errorf("certificate: sign: %w", err)
	}
	parts := strings.Split(jws, ".")
	payload, err = base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", nil, fmt.Errorf("certificate: sign: payload: %w", err)
	}
	return jws, payload, nil
}

// VerifyJWS checks a certificate's signature with the ring's certificates
// keys and returns its claims. It does not judge expiry or revocation:
// those change after signing and are the verify page's to tell.
func VerifyJWS(ring *keys.Ring, jws string) (Claims, error) {
	var w wireClaims
	parser := jwt.NewParser(jwt.WithValidMethods(keys.JWTAlgs), jwt.WithoutClaimsValidation())
	_, err := parser.ParseWithClaims(jws, &w, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != JWSType {
			return nil, fmt.Errorf("typ %q is not %s", typ, JWSType)
		}
		return ring.JWTKey(t, keys.PurposeCertificates)
	})
	if err != nil {
		return Claims{}, fmt.Errorf("certificate: verify signature: %w", err)
	}
	if w.IssuedAt == nil || w.ExpiresAt == nil {
		return Claims{}, errors.New("certificate: verify signature: iat and exp are required")
	}
	c := Claims{Issuer: w.Issuer, Number: w.Number, Type: w.Type, Holder: w.Holder, IDHash: w.IDHash, Unit: w.Unit,
		IssuedAt: w.IssuedAt.Time, ExpiresAt: w.ExpiresAt.Time, PDFSHA256: w.PDFSHA256, ToCentre: w.ToCentre}
	if w.Facts != nil {
		c.Facts = *w.Facts
	}
	return c, nil
}

// idHash keys the ID number (or a unit's code) so the claims can carry it
// without giving it away: 18 characters with a check digit are few enough
// to try them all against a plain hash.
func (s *Service) idHash(idNumber string) string {
	return hex.EncodeToString(s.idKey.Sum([]byte(idNumber)))
}

// sha256Hex is the hex SHA-256 of b.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
