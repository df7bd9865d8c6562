// Package staff is the centre's own staff: their accounts (staff_accounts,
// migration 0034, which this package owns), signing in on the staff pages
// with a password and an optional TOTP code under a lockout policy, and
// the server-side sessions those pages run on.
//
// Staff are not depositors, employers or devices: their principal has role
// services.RoleStaff and channel services.ChannelWeb, their session lives
// in kv behind an opaque cookie value (never a bearer token), and no API
// route reads it. Accounts are made and changed with `handheld staff`
// (add, disable, enable, reset), which prints a generated password once;
// handheld keeps only its argon2id hash.
//
// Every sign-in, failure, lockout and sign-out is audited. A failed
// attempt names the staff id only as a keyed hash: a mistyped id may be
// somebody's password.
package staff

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/identity"
	"handheld/services/store"
)

// Status of a staff account.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// The audit actions of this package.
const (
	ActionLogin        = "centre_staff.login"
	ActionLoginFailure = "centre_staff.login_failure"
	ActionLockout      = "centre_staff.lockout"
	ActionLogout       = "centre_staff.logout"
	ActionAdd          = "centre_staff.add"
	ActionDisable      = "centre_staff.disable"
	ActionEnable       = "centre_staff.enable"
	ActionReset        = "centre_staff.reset"
)

// idPattern is what a staff id looks like: the centre's employee number
// or a login name, letters, digits and ._- only.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$`)

// ValidID reports whether id is shaped like a staff id.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Policy is the staff sign-in policy (house rule 13: data, not code).
type Policy struct {
	// Password is what a chosen password must meet; identity's default
	// (10 characters, 3 classes) when zero.
	Password identity.PasswordPolicy `yaml:"-"`
	// LockoutFailures failures of one staff id from one address within
	// LockoutWindow lock that pair for LockoutDuration;
	// LockoutAccountFailures from any address lock the staff id itself.
	LockoutFailures        int           `yaml:"lockout_failures"`
	LockoutAccountFailures int           `yaml:"lockout_account_failures"`
	LockoutWindow          time.Duration `yaml:"lockout_window"`
	LockoutDuration        time.Duration `yaml:"lockout_duration"`
	// IdleTimeout ends a session nobody used for that long; AbsoluteTimeout
	// ends any session that long after sign-in.
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	AbsoluteTimeout time.Duration `yaml:"absolute_timeout"`
	// RequireTOTP refuses sign-in to an account without an enrolled TOTP
	// secret (production may set it; the demo account has none).
	RequireTOTP bool `yaml:"require_totp"`
}

// DefaultPolicy is where a centre starts: five failures per address and
// twenty per account in 15 minutes lock for 15 minutes; sessions end
// after 15 idle minutes and 8 hours at most.
func DefaultPolicy() Policy {
	return Policy{Password: identity.DefaultPasswordPolicy(), LockoutFailures: 5, LockoutAccountFailures: 20,
		LockoutWindow: 15 * time.Minute, LockoutDuration: 15 * time.Minute,
		IdleTimeout: 15 * time.Minute, AbsoluteTimeout: 8 * time.Hour}
}

// Validate checks a configured policy.
func (p Policy) Validate() error {
	switch {
	case p.LockoutFailures < 1 || p.LockoutAccountFailures < p.LockoutFailures:
		return fmt.Errorf("lockout_failures must be at least 1 and at most lockout_account_failures")
	case p.LockoutWindow <= 0 || p.LockoutDuration <= 0:
		return fmt.Errorf("lockout_window and lockout_duration must be positive")
	case p.IdleTimeout <= 0 || p.AbsoluteTimeout < p.IdleTimeout:
		return fmt.Errorf("idle_timeout must be positive and at most absolute_timeout")
	}
	return nil
}

// kvStore is the part of kv the sessions and the lockout use.
type kvStore interface {
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Touch(ctx context.Context, key string, ttl time.Duration) (bool, error)
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
	TTL(ctx context.Context, key string) (time.Duration, error)
	Del(ctx context.Context, key string) error
}

// auditor appends records and waits for the commit (a *audit.Log).
type auditor interface {
	Append(ctx context.Context, r audit.Record) error
}

// Deps are a Service's collaborators.
type Deps struct {
	Store  *store.Store
	KV     kvStore // sessions and lockout; required for SignIn and sessions
	Audit  auditor // required for SignIn and sessions
	Policy Policy  // DefaultPolicy when zero
	// Secret keys the hashes of attempted staff ids in the trail and kv.
	Secret services.HashKey
	// Issuer names the centre in TOTP enrolment URLs (the authenticator
	// app shows it).
	Issuer string
	Rand   io.Reader // crypto/rand when nil
	Now    func() time.Time
	Logger *slog.Logger
}

// Service keeps staff accounts and signs staff in.
type Service struct {
	Deps
}

// New fills defaults. The store is required; the CLI builds a Service
// without kv and audit for account changes only.
func New(d Deps) (*Service, error) {
	if d.Store == nil {
		return nil, fmt.Errorf("staff: missing store")
	}
	if d.Policy == (Policy{}) {
		d.Policy = DefaultPolicy()
	}
	if d.Policy.Password == (identity.PasswordPolicy{}) {
		d.Policy.Password = identity.DefaultPasswordPolicy()
	}
	if err := d.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("staff: %w", err)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Issuer == "" {
		d.Issuer = "handheld"
	}
	return &Service{Deps: d}, nil
}

// idTag is a keyed hash of an attempted staff id: the trail and kv keys
// name attempts by it, never by what was typed.
func (s *Service) idTag(id string) string {
	return hex.EncodeToString(s.Secret.Sum([]byte("staff id\x00" + id))[:10])
}

// Actor is how the trail names a signed-in staff member.
func Actor(staffID string) string { return "staff:" + staffID }

func (s *Service) record(ctx context.Context, r audit.Record) error {
	if s.Audit == nil {
		return nil
	}
	if r.At.IsZero() {
		r.At = s.Now()
	}
	if r.Channel == "" {
		r.Channel = services.ChannelWeb
	}
	if err := s.Audit.Append(ctx, r); err != nil {
		return services.Errorf(services.CodeInternal, "staff: audit %s: %w", r.Action, err)
	}
	return nil
}
