package ecard

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/skip2/go-qrcode"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
)

// Card is the holder's current e-card: the payload to show (as a QR code),
// when it stops being accepted, when to fetch the next one, and the
// account status it was minted with (01 normal, 02 sealed, 06 frozen, ...).
type Card struct {
	Payload      string
	ExpiresAt    time.Time
	RefreshAfter time.Time
	Status       string
	// StatusAsOf is when the core last confirmed Status: now-ish by day,
	// the remembered answer's time during the core's maintenance window.
	StatusAsOf time.Time
}

// claims is the JWS format's signed payload, kept short so the QR code stays easy to
// scan: iss, sub, iat, exp, jti and st (the account status at issue).
type claims struct {
	jwt.RegisteredClaims
	Status string `json:"st"`
	// StatusAsOf (sa, Unix seconds) is set only when the status is a
	// remembered one: the verifier is told how old it is.
	StatusAsOf int64 `json:"sa,omitempty"`
}

// Card mints a fresh e-card for p. A sealed or frozen account gets a card
// that says so; a person without an account, or with a closed one, gets
// account.not_found. The read is audited (read.ecard).
func (s *Service) Card(ctx context.Context, p services.Principal) (Card, error) {
	if err := p.Depositor(); err != nil {
		return Card{}, err
	}
	card, jti, err := s.card(ctx, p)
	rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: auditChannel(p), Action: ActionCard, Target: "ecard:" + jti}
	if err := s.audited(ctx, rec, err); err != nil {
		return Card{}, err
	}
	return card, nil
}

// QR is p's fresh e-card as a PNG QR code of size×size pixels (0 means
// DefaultQRSize); a size outside MinQRSize..MaxQRSize is request.invalid.
func (s *Service) QR(ctx context.Context, p services.Principal, size int) ([]byte, error) {
	if size == 0 {
		size = DefaultQRSize
	}
	if size < MinQRSize || size > MaxQRSize {
		return nil, services.Invalid(services.FieldError{Field: "size", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": MinQRSize, "max": MaxQRSize}})
	}
	card, err := s.Card(ctx, p)
	if err != nil {
		return nil, err
	}
	q, err := qrcode.New(card.Payload, qrcode.Medium)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "ecard: qr: %w", err)
	}
	img, err := qrPNG(q.Bitmap(), size)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "ecard: qr png: %w", err)
	}
	return img, nil
}

func (s *Service) card(ctx context.Context, p services.Principal) (Card, string, error) {
	personID, err := s.People.PersonID(ctx, p.Subject)
	if err != nil {
		return Card{}, "", err
	}
	acc, accF, err := s.Reader.Account(ctx, personID)
	switch {
	case err != nil:
		return Card{}, "", err
	case acc.AccountNumber == "" || closed(acc.Status):
		return Card{}, "", services.Errorf(services.CodeAccountNotFound, "ecard: no open account")
	}
	if err := s.statusUsable(accF); err != nil {
		return Card{}, "", err
	}
	asOf := accF.AsOf.Truncate(time.Second)
	if asOf.IsZero() {
		asOf = s.Now().Truncate(time.Second)
	}
	// Whole seconds: the payload carries Unix seconds.
	iat := s.Now().Truncate(time.Second)
	exp := iat.Add(s.TTL)
	var payload, jti string
	if s.Format == FormatJWS {
		payload, jti, err = s.mintJWS(p.Subject, acc.Status, iat, exp, accF.Stale, asOf)
	} else {
		payload, jti, err = s.mintCompact(p.Subject, acc.Status, exp, accF.Stale, asOf)
	}
	if err != nil {
		return Card{}, jti, err
	}
	return Card{Payload: payload, ExpiresAt: exp, RefreshAfter: exp.Add(-RefreshBefore), Status: acc.Status, StatusAsOf: asOf}, jti, nil
}

// mintCompact makes a compact payload; the jti it returns is the one the
// verifier records (base64url of the 8 bytes).
func (s *Service) mintCompact(subject, status string, exp time.Time, stale bool, asOf time.Time) (payload, jti string, err error) {
	id, err := newCompactJTI()
	if err != nil {
		return "", "", services.AsError(err)
	}
	c := compactClaims{Subject: subject, ExpiresAt: exp, ID: id, Status: status}
	if stale {
		c.StatusAsOf = asOf
	}
	jti = base64.RawURLEncoding.EncodeToString(id)
	payload, err = s.signCompact(c)
	return payload, jti, err
}

// mintJWS makes the older compact JWS payload.
func (s *Service) mintJWS(subject, status string, iat, exp time.Time, stale bool, asOf time.Time) (payload, jti string, err error) {
	var sa int64
	if stale {
		sa = asOf.Unix()
	}
	jti, err = newJTI()
	if err != nil {
		return "", "", services.AsError(err)
	}
	payload, err = s.sign(claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: s.CentreCode, Subject: subject,
		IssuedAt: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(exp), ID: jti}, Status: status, StatusAsOf: sa})
	return payload, jti, err
}

// statusUsable refuses a remembered account status older than
// StatusMaxAge: a card, and a verification, may stand on the last known
// status during the core's window, not on a status of last week.
func (s *Service) statusUsable(f core.Freshness) error {
	if f.Stale && s.Now().Sub(f.AsOf) > s.StatusMaxAge {
		return services.Errorf(CodeStatusUnknown, "ecard: account status as of %s is older than %s", f.AsOf, s.StatusMaxAge)
	}
	return nil
}

// sign makes the compact JWS: the current e-card key's alg and kid, typ.
func (s *Service) sign(c claims) (string, error) {
	method, key := s.signer.JWT()
	tok := jwt.NewWithClaims(method, c)
	tok.Header["kid"] = s.signer.KID
	tok.Header["typ"] = JWSType
	out, err := tok.SignedString(key)
	if err != nil {
		return "", services.Errorf(services.CodeInternal, "ecard: sign: %w", err)
	}
	return out, nil
}

// newJTI is 96 random bits, base64url: 16 characters.
func newJTI() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("ecard: jti: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
