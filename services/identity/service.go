package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/store"
)

// Deps are the collaborators of a Service, built once in bff/app.go.
type Deps struct {
	Store   *store.Store
	Core    coreIdentity
	WeChat  weChat
	Tokens  tokenMinter
	KV      ephemeral
	Audit   auditor
	Devices []Device
	// Verifiers are the registered e-card verifier credentials.
	Verifiers []Verifier
	// Parties are the registered relying parties' credentials.
	Parties []Party
	// Persons, when set, reads people through the core reader (remembered
	// answers while the core is in its maintenance window); nil: the core.
	Persons interface {
		Person(ctx context.Context, personID string) (core.Person, core.Freshness, error)
	}
	// HashKey keys the HMACs that stand in for openids and operator ids.
	HashKey services.HashKey
	Policy  Policy
	// Assurance is how strongly people must be identified, per service.
	Assurance Assurance
	// PublicBaseURL is where people reach this server; the QR code of a
	// kiosk sign-in points below it (<base>/kiosk-login?code=...).
	PublicBaseURL string
	// Notices, when set, tells the person of a sign-in or a binding
	// (notify's Publisher): a security message, sent at any hour.
	Notices interface {
		Notice(ctx context.Context, subject, notice string) error
	}
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is identity's use cases.
type Service struct {
	Deps
	devices   map[string]Device
	verifiers map[string]Verifier
	parties   map[string]Party
	revoked   *revocationCache
	people    *personCache
}

// New checks the dependencies and policy.
func New(d Deps) (*Service, error) {
	switch {
	case d.Store == nil || d.Core == nil || d.WeChat == nil || d.Tokens == nil || d.KV == nil || d.Audit == nil:
		return nil, errors.New("identity: missing dependency")
	case d.HashKey.Size() < 32:
		return nil, errors.New("identity: hash secret must be at least 32 bytes")
	case d.Policy.AccessTTL <= 0 || d.Policy.AccessTTL > 15*time.Minute:
		return nil, fmt.Errorf("identity: access token TTL must be in (0, 15m], not %s", d.Policy.AccessTTL)
	case d.Policy.KioskIdle <= 0 || d.Policy.KioskAbsolute < d.Policy.KioskIdle:
		return nil, errors.New("identity: kiosk idle timeout must be positive and within the absolute timeout")
	case d.Policy.LockoutFailures < 1 || d.Policy.LockoutWindow <= 0 || d.Policy.LockoutDuration <= 0:
		return nil, errors.New("identity: lockout policy incomplete")
	case d.Policy.LockoutOperatorFailures <= d.Policy.LockoutFailures:
		return nil, fmt.Errorf("identity: operator lockout threshold (%d) must be above the per-address one (%d)",
			d.Policy.LockoutOperatorFailures, d.Policy.LockoutFailures)
	case d.Policy.LockoutDelay < 0 || d.Policy.LockoutDelayMax < d.Policy.LockoutDelay:
		return nil, errors.New("identity: lockout delay must be 0 or more and at most its maximum")
	}
	if d.Policy.Password == (PasswordPolicy{}) {
		d.Policy.Password = DefaultPasswordPolicy()
	}
	if pp := d.Policy.Password; pp.MinLength < 8 || pp.MaxLength < pp.MinLength || pp.MaxLength > 128 || pp.MinClasses < 1 || pp.MinClasses > 4 {
		return nil, fmt.Errorf("identity: password policy %+v: want 8 ≤ min length ≤ max length ≤ 128 and 1 to 4 classes", pp)
	}
	if d.Policy.KioskLoginTTL == 0 {
		d.Policy.KioskLoginTTL = DefaultKioskLoginTTL
	}
	if t := d.Policy.KioskLoginTTL; t < MinKioskLoginTTL || t > MaxKioskLoginTTL {
		return nil, fmt.Errorf("identity: kiosk login code TTL must be in [%s, %s], not %s", MinKioskLoginTTL, MaxKioskLoginTTL, t)
	}
	if err := d.Assurance.Validate(); err != nil {
		return nil, fmt.Errorf("identity: assurance: %w", err)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{Deps: d, devices: map[string]Device{}, verifiers: map[string]Verifier{}, parties: map[string]Party{}, people: &personCache{max: 100_000}}
	for _, v := range d.Verifiers {
		if b, err := hex.DecodeString(v.SecretSHA256); err != nil || len(b) != sha256.Size || v.ID == "" {
			return nil, fmt.Errorf("identity: verifier %q: need an id and the hex SHA-256 of its secret", v.ID)
		}
		s.verifiers[v.ID] = v
	}
	for _, p := range d.Parties {
		if b, err := hex.DecodeString(p.SecretSHA256); err != nil || len(b) != sha256.Size || p.ID == "" {
			return nil, fmt.Errorf("identity: party %q: need an id and the hex SHA-256 of its secret", p.ID)
		}
		if _, dup := s.parties[p.ID]; dup {
			return nil, fmt.Errorf("identity: party %q registered twice", p.ID)
		}
		s.parties[p.ID] = p
	}
	for _, dev := range d.Devices {
		if len(dev.PublicKey) != 32 || dev.ID == "" {
			return nil, fmt.Errorf("identity: kiosk %q: need an id and a 32-byte Ed25519 public key", dev.ID)
		}
		s.devices[dev.ID] = dev
	}
	s.revoked = newRevocationCache(d.Policy.RevocationMemory, d.Policy.RevocationCache, d.Now)
	return s, nil
}

// pseudonym is an HMAC of a namespaced value (an openid, an operator id):
// stable, so it can key a table, and useless to whoever reads the table.
func (s *Service) pseudonym(namespace, value string) string {
	return s.HashKey.Pseudonym(namespace, value)
}

// tag is the part of a pseudonym that names someone in the audit trail:
// 32 hex characters, the length the audit guard knows for a digest, so a
// chance run of digits is never mistaken for a phone or card number.
func tag(pseudonym string) string { return pseudonym[:32] }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// randomID returns prefix and n random bytes in lower-case base32.
func randomID(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return prefix + strings.ToLower(b32.EncodeToString(b))
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// notice tells subject of a security event (notify.NoticeSignIn, ...). A
// notice that cannot be queued is logged, not the sign-in's failure: the
// audit trail has the event either way.
func (s *Service) notice(ctx context.Context, subject, notice string) {
	if s.Notices == nil || subject == "" {
		return
	}
	if err := s.Notices.Notice(ctx, subject, notice); err != nil {
		s.Logger.WarnContext(ctx, "identity: security notice not queued", "subject", subject, "notice", notice, "error", err)
	}
}
