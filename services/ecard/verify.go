package ecard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/keys"
	"handheld/services/mask"
)

// Holder is the card holder as a verifier sees them: masked.
type Holder struct {
	Name     string
	IDNumber string
}

// Result is the answer to a verification. Valid is true for a genuine,
// current, unused card whose account is not closed; AccountStatus is the
// core's live status (a sealed or frozen account is valid and says so).
type Result struct {
	Valid         bool
	Holder        Holder
	AccountStatus string
	Centre        string
	VerifiedAt    time.Time
	// StatusAsOf is when the core last confirmed AccountStatus: the
	// verification's time by day, the remembered answer's time during the
	// core's maintenance window ("status as of ...").
	StatusAsOf time.Time
}

// ResultClosed is recorded when the card is genuine but the account has
// closed since it was minted.
const ResultClosed = "closed"

// replayPrefix keys the one-time check of a payload's jti.
const replayPrefix = "ecard:used:"

// Verify checks a scanned payload for a verifier (role verifier) or a kiosk
// device (role kiosk): anyone else is auth.forbidden. A payload of more than
// MaxPayload bytes, or that is neither a well-formed compact card (EC1:...)
// nor a compact JWS, is ecard.malformed; one not signed by an e-card key of
// this centre, or of another type (JOSE typ, COSE external_aad) or
// algorithm, ecard.bad_signature; an expired one ecard.expired; a second
// verification of the same payload ecard.replayed. The holder is read live
// from the core and masked. Every attempt is audited (ecard.verify), and
// every attempt on a genuine payload is recorded for its holder.
func (s *Service) Verify(ctx context.Context, verifier services.Principal, payload string) (Result, error) {
	who, channel, err := verifierOf(verifier)
	if err != nil {
		return Result{}, err
	}
	rec := audit.Record{Actor: who, Channel: auditChannel(verifier), Action: ActionVerify, Target: "ecard"}
	c, err := s.parse(payload)
	if err != nil {
		return Result{}, s.audited(ctx, rec, err)
	}
	rec.Subject, rec.Target = c.Subject, "ecard:"+c.ID
	res, result, err := s.verify(ctx, c)
	if result != "" {
		if rerr := s.recordUse(ctx, c.Subject, who, channel, result); rerr != nil {
			if err != nil {
				s.Logger.ErrorContext(ctx, "ecard use lost", "request_id", services.RequestID(ctx), "err", rerr)
			} else {
				err = rerr
			}
		}
	}
	if err := s.audited(ctx, rec, err); err != nil {
		return Result{}, err
	}
	return res, nil
}

// verify judges a genuinely signed payload and says what to record for
// its holder ("" when nothing: the core could not be asked).
func (s *Service) verify(ctx context.Context, c verified) (Result, string, error) {
	now := s.Now()
	switch {
	case c.Issuer != s.CentreCode:
		return Result{}, ResultWrongCentre, services.Errorf(CodeBadSignature, "ecard: issuer %q", c.Issuer)
	case !now.Before(c.ExpiresAt):
		return Result{}, ResultExpired, services.Errorf(CodeExpired, "ecard: expired at %s", c.ExpiresAt)
	}
	personID, err := s.People.PersonID(ctx, c.Subject)
	if err != nil {
		if services.AsError(err).Code.Status() >= 500 {
			return Result{}, "", err
		}
		return Result{}, ResultNoAccount, services.Errorf(services.CodeAccountNotFound, "ecard: subject: %w", err)
	}
	acc, accF, err := s.Reader.Account(ctx, personID)
	if err == nil {
		err = s.statusUsable(accF)
	}
	if err != nil {
		if services.ErrorCode(err) == services.CodeAccountNotFound {
			return Result{}, ResultNoAccount, err
		}
		return Result{}, "", err
	}
	person, _, err := s.Reader.Person(ctx, personID)
	if err != nil {
		return Result{}, "", err
	}
	// One time: the first verification takes the jti until the payload
	// expires anyway (plus a second of NumericDate rounding).
	fresh, err := s.KV.SetNX(ctx, replayPrefix+c.ID, []byte{1}, c.ExpiresAt.Sub(now)+time.Second)
	switch {
	case err != nil:
		return Result{}, "", services.Errorf(services.CodeInternal, "ecard: replay check: %w", err)
	case !fresh:
		return Result{}, ResultReplayed, services.Errorf(CodeReplayed, "ecard: jti used")
	}
	asOf := now
	if accF.Stale {
		asOf = accF.AsOf.Truncate(time.Second)
	}
	res := Result{Valid: !closed(acc.Status), AccountStatus: acc.Status, Centre: s.CentreName, VerifiedAt: now, StatusAsOf: asOf,
		Holder: Holder{
			Name:     s.Mask.Apply(mask.Name, maskChannel, person.Name),
			IDNumber: s.Mask.Apply(mask.IDNumber, maskChannel, person.IDNumber),
		}}
	if !res.Valid {
		return res, ResultClosed, nil
	}
	return res, ResultOK, nil
}

// verified is what a genuinely signed payload of either format says:
// whose card it is, its one-time id, issuer and expiry.
type verified struct {
	Subject   string
	ID        string
	Issuer    string
	ExpiresAt time.Time
}

// parse checks a payload of either format: a compact one by its prefix,
// anything else as a JWS.
func (s *Service) parse(payload string) (verified, error) {
	if len(payload) > MaxPayload {
		return verified{}, services.Errorf(CodeMalformed, "ecard: payload of %d bytes", len(payload))
	}
	if strings.HasPrefix(payload, CompactPrefix) {
		return s.parseCompact(payload)
	}
	c, err := s.parseJWS(payload)
	if err != nil {
		return verified{}, err
	}
	return verified{Subject: c.Subject, ID: c.ID, Issuer: c.Issuer, ExpiresAt: c.ExpiresAt.Time}, nil
}

// parseJWS checks a JWS payload's shape and signature: an e-card key of the
// ring whose algorithm is the header's, the e-card typ, and the claims
// every card carries.
func (s *Service) parseJWS(payload string) (claims, error) {
	if err := checkShape(payload); err != nil {
		return claims{}, err
	}
	var c claims
	parser := jwt.NewParser(jwt.WithValidMethods(keys.JWTAlgs), jwt.WithoutClaimsValidation())
	_, err := parser.ParseWithClaims(payload, &c, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != JWSType {
			return nil, fmt.Errorf("typ %q is not %s", typ, JWSType)
		}
		return s.Ring.JWTKey(t, keys.PurposeECard)
	})
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return claims{}, services.Errorf(CodeMalformed, "ecard: %w", err)
	case err != nil:
		return claims{}, services.Errorf(CodeBadSignature, "ecard: %w", err)
	case c.ExpiresAt == nil || c.IssuedAt == nil || c.Subject == "" || c.ID == "":
		return claims{}, services.Errorf(CodeMalformed, "ecard: iat, exp, sub and jti are required")
	}
	return c, nil
}

// checkShape admits at most MaxPayload bytes of three non-empty base64url
// segments, before any decoding.
func checkShape(payload string) error {
	if len(payload) > MaxPayload {
		return services.Errorf(CodeMalformed, "ecard: payload of %d bytes", len(payload))
	}
	parts := strings.Split(payload, ".")
	if len(parts) != 3 {
		return services.Errorf(CodeMalformed, "ecard: %d segments", len(parts))
	}
	for _, p := range parts {
		if p == "" || strings.IndexFunc(p, notBase64URL) >= 0 {
			return services.Errorf(CodeMalformed, "ecard: segment is not base64url")
		}
	}
	return nil
}

func notBase64URL(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
}
