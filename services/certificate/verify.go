package certificate

import (
	"context"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/mask"
	"handheld/services/store"
)

// Verification channels: the HTML page anyone reaches from the QR code, and
// the JSON API banks and other centres call (ChannelPlatform, elsewhere.go,
// is a centre verifying through the national platform).
const (
	ChannelWeb = "web"
	ChannelAPI = "api"
)

// publicChannel is the audit channel, and the masking channel, of people
// who are not signed in: no policy names it, so masking is at its fullest.
const publicChannel = "public"

// VerifyView is what anyone holding a verify code may learn: whether the
// certificate is genuine and current, its type and number, the holder's
// masked name (a unit's masked name and code), its dates and the issuing
// centre. Never the full name or the ID number, and of a unit's certificate
// nothing about its staff.
type VerifyView struct {
	Valid  bool
	Status string // valid | expired | revoked | not_found
	Number string
	Type   string
	Holder string // masked, e.g. 张* or 欧阳**; a unit's name, 杭州****面馆
	// UnitCode is a unit certificate's unified social credit code, masked
	// (9233**********4N0N); "" on a person's.
	UnitCode string
	// PDFSHA256 lets a verifier check that the PDF they were handed is
	// the one issued, byte for byte.
	PDFSHA256 string
	IssuedAt  time.Time
	ExpiresAt time.Time
	Centre    string
	// ToCentre and ToCentreName name the lending centre a loan_elsewhere
	// certificate is addressed to; "" on any other.
	ToCentre, ToCentreName string
}

// Verify answers a verify code as typed or scanned: a malformed code is
// certificate.bad_code; a well-formed one that matches no certificate is
// not an error but Status not_found, so that every answer about a code has
// one shape. Each verification of a certificate is recorded (time and
// channel, never the address) for its holder to see, and audited.
func (s *Service) Verify(ctx context.Context, code, channel string) (VerifyView, error) {
	if channel != ChannelWeb && channel != ChannelAPI {
		return VerifyView{}, services.Errorf(services.CodeInternal, "certificate: verify channel %q", channel)
	}
	canonical, err := NormalizeCode(code)
	if err != nil {
		return VerifyView{}, err
	}
	r, err := s.byCode(ctx, canonical)
	if services.ErrorCode(err) == services.CodeNotFound {
		return VerifyView{Status: StatusNotFound, Centre: s.CentreName}, nil
	}
	if err != nil {
		return VerifyView{}, err
	}
	rec := audit.Record{Subject: r.Subject, Actor: publicChannel, Channel: publicChannel, Action: ActionVerify, Target: "certificate:" + r.ID}
	return s.recordVerification(ctx, r, channel, "", "", rec)
}

// recordVerification records one verification of r (the channel and, of
// the platform's, the verifying centre) for its holder to see, audits it
// with rec, and answers what a verifier may learn.
func (s *Service) recordVerification(ctx context.Context, r record, channel, centre, centreName string, rec audit.Record) (VerifyView, error) {
	at := store.Timestamp(s.Now())
	if _, err := s.Store.Exec(ctx, `INSERT INTO certificate_verifications (certificate_id, at, channel, centre, centre_name)
		VALUES ($1, $2, $3, $4, $5)`, r.ID, at, channel, centre, centreName); err != nil {
		return VerifyView{}, services.Errorf(services.CodeInternal, "certificate: record verification: %w", err)
	}
	if err := s.audited(ctx, rec, nil); err != nil {
		return VerifyView{}, err
	}
	status := s.status(r)
	v := VerifyView{Valid: status == StatusValid, Status: status, Number: r.Number, Type: r.Type, Holder: r.Holder,
		PDFSHA256: r.PDFSHA256, IssuedAt: r.IssuedAt, ExpiresAt: r.ExpiresAt, Centre: s.CentreName,
		ToCentre: r.ToCentre, ToCentreName: r.ToCentreName}
	if r.UnitCode != "" {
		v.UnitCode = s.Mask.Apply(mask.UnitCode, publicChannel, r.UnitCode)
	}
	return v, nil
}
