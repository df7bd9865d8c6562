// Package ecard is the depositor's electronic HPF card: a short-lived,
// one-time, signed payload (a base45 COSE_Sign1 with CBOR claims, or the
// older compact EdDSA JWS, signed with the centre's e-card key) that the holder shows as a QR code, and that a counter, a partner
// bank or a kiosk verifies with its verifier credentials. The payload names
// the holder only by a pseudonymous subject; the verifier learns the masked
// name and ID number and the live account status from the core, once per
// payload. Every use is recorded for the holder to see.
package ecard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/keys"
	"handheld/services/mask"
	"handheld/services/store"
)

// JWSType is the JOSE typ of an e-card payload. Checking it keeps any other
// JWS the centre signs from passing for an e-card, on top of the keys being
// per purpose.
const JWSType = "hpf-ecard+jwt"

// Defaults and limits.
const (
	// DefaultTTL is how long a payload is valid.
	DefaultTTL = 60 * time.Second
	// DefaultStatusMaxAge is how old a remembered account status may be
	// for a card to be shown from it: a day covers the nightly window.
	DefaultStatusMaxAge = 24 * time.Hour
	// RefreshBefore is how long before expiry a client should fetch the
	// next payload, so that the one on screen never expires mid-scan.
	RefreshBefore = 20 * time.Second
	// MaxPayload bounds what Verify reads: a compact payload is at most
	// 180 characters, a JWS one about 330.
	MaxPayload = 1024
	// DefaultQRSize, MinQRSize and MaxQRSize bound QR images, in pixels.
	DefaultQRSize = 320
	MinQRSize     = 128
	MaxQRSize     = 1024
	// UsageLimit is how many uses Usage lists.
	UsageLimit = 50

	minTTL = 30 * time.Second
	maxTTL = 10 * time.Minute
)

// The audit actions of this package.
const (
	ActionCard   = "read.ecard"
	ActionUsage  = "read.ecard_usage"
	ActionVerify = "ecard.verify"
)

// Results of a verification, as recorded for the holder.
const (
	ResultOK          = "ok"
	ResultExpired     = "expired"
	ResultReplayed    = "replayed"
	ResultWrongCentre = "wrong_centre"
	ResultNoAccount   = "no_account"
)

// RoleVerifier is the role of a verifier's token (counters, partner banks).
const RoleVerifier = "verifier"

// maskChannel is the masking level a verifier sees the holder at.
const maskChannel = mask.App

// The collaborators, declared here by what this package needs of them.
type (
	// reader is the core, read with deadlines and breakers (core.Reader).
	reader interface {
		Person(ctx context.Context, personID string) (core.Person, core.Freshness, error)
		Account(ctx context.Context, personID string) (core.Account, core.Freshness, error)
	}
	// people maps a pseudonymous subject to the core's person id.
	people interface {
		PersonID(ctx context.Context, subject string) (string, error)
	}
	// auditor queues audit records.
	auditor interface {
		Enqueue(ctx context.Context, r audit.Record) error
	}
	// onceStore remembers used payload ids (kv.Store: Redis or memory).
	onceStore interface {
		SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	}
)

// Deps are a Service's collaborators and policy, built once in bff/app.go.
type Deps struct {
	// Ring signs payloads with its current e-card key and verifies them
	// with any e-card key it holds.
	Ring   *keys.Ring
	KV     onceStore
	Reader reader
	People people
	Audit  auditor
	Store  *store.Store
	// Mask is the centre's masking policy; nil means mask.DefaultPolicy.
	Mask mask.Policy
	// CentreCode is the payload's issuer; CentreName is told to verifiers.
	CentreCode string
	CentreName string
	// TTL is a payload's lifetime, 30 s to 10 min; DefaultTTL when 0.
	TTL time.Duration
	// StatusMaxAge is how old the last known account status may be for a
	// card to be shown, and verified, from it while the core cannot be
	// asked (its nightly maintenance window, an outage); up to 7 days,
	// DefaultStatusMaxAge when 0. Older, the card is refused with
	// ecard.status_unknown.
	StatusMaxAge time.Duration
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// Format is what Card mints: FormatCompact (the default when empty)
	// or FormatJWS. Verify accepts both whatever it is.
	Format string
}

// Service mints, renders and verifies e-cards.
type Service struct {
	Deps
	signer keys.Signer
	// protected is the compact card's protected header, aad its
	// external_aad, compactKids the e-card keys by 4-byte kid.
	protected   []byte
	aad         []byte
	compactKids map[string][]string
}

// New checks the dependencies and fills defaults, so that a missing key or
// a bad setting stops start-up instead of the first request.
func New(d Deps) (*Service, error) {
	switch {
	case d.Ring == nil || d.KV == nil || d.Reader == nil || d.People == nil || d.Audit == nil || d.Store == nil:
		return nil, errors.New("ecard: missing dependency (ring, kv, reader, people, audit or store)")
	case strings.TrimSpace(d.CentreCode) == "" || strings.TrimSpace(d.CentreName) == "":
		return nil, errors.New("ecard: centre code and name are required")
	case d.StatusMaxAge < 0 || d.StatusMaxAge > 7*24*time.Hour:
		return nil, fmt.Errorf("ecard: status max age %s must be between 0 and 168h", d.StatusMaxAge)
	case d.TTL != 0 && (d.TTL < minTTL || d.TTL > maxTTL):
		return nil, fmt.Errorf("ecard: TTL %s must be between %s and %s", d.TTL, minTTL, maxTTL)
	case d.Format != "" && d.Format != FormatCompact && d.Format != FormatJWS:
		return nil, fmt.Errorf("ecard: format %q must be %s or %s", d.Format, FormatCompact, FormatJWS)
	}
	if err := d.Mask.Validate(); err != nil {
		return nil, err
	}
	signer := d.Ring.Signer(keys.PurposeECard)
	kid := signer.KID
	if kid == "" {
		return nil, fmt.Errorf("ecard: the key ring has no %q signing key", keys.PurposeECard)
	}
	kid4, err := compactKid(kid)
	if err != nil {
		return nil, err
	}
	alg := coseAlgEdDSA
	if signer.Alg == keys.AlgSM2 {
		alg = coseAlgSM2
	}
	protected, err := cborEnc.Marshal(protectedHeader{Alg: alg, Kid: kid4})
	if err != nil {
		return nil, fmt.Errorf("ecard: protected header: %w", err)
	}
	if d.Format == "" {
		d.Format = FormatCompact
	}
	if d.Mask == nil {
		d.Mask = mask.DefaultPolicy()
	}
	if d.StatusMaxAge == 0 {
		d.StatusMaxAge = DefaultStatusMaxAge
	}
	if d.TTL == 0 {
		d.TTL = DefaultTTL
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{Deps: d, signer: signer, protected: protected, aad: externalAAD(d.CentreCode),
		compactKids: compactIndex(d.Ring)}, nil
}

// verifierOf names who verifies: "verifier:<id>" for a verifier token,
// "device:<id>" for a kiosk device, with the channel recorded for the use.
// Anyone else is forbidden.
func verifierOf(p services.Principal) (id, channel string, err error) {
	switch {
	case p.Role == RoleVerifier && strings.HasPrefix(p.Subject, "verifier:") && len(p.Subject) > len("verifier:"):
		return p.Subject, RoleVerifier, nil
	case p.Role == services.RoleKiosk && p.Device != "":
		return "device:" + p.Device, services.ChannelKiosk, nil
	}
	return "", "", services.Errorf(services.CodeForbidden, "ecard: role %q may not verify e-cards", p.Role)
}

// audited records what happened to a card (see audit.Outcome); a refusal
// of bad input is recorded as denied rather than error.
func (s *Service) audited(ctx context.Context, r audit.Record, opErr error) error {
	r.At = s.Now()
	if r.Result == "" && opErr != nil && services.AsError(opErr).Code.Status() < 500 {
		r.Result = "denied"
	}
	return audit.Outcome(ctx, s.Audit, s.Logger, r, opErr)
}

// auditChannel is the audit channel of p: its token's, or public.
func auditChannel(p services.Principal) string {
	if p.Channel != "" {
		return p.Channel
	}
	return "public"
}

// closed reports whether an account status is closed (03, 04, 05): such an
// account has no e-card, and a card minted before it closed is not valid.
func closed(status string) bool {
	switch status {
	case core.StatusClosedMerge, core.StatusClosedTransfer, core.StatusClosedWithdrawal:
		return true
	}
	return false
}
