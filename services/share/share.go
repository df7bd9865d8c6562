// Package share is "usable but invisible" (可用不可见): a person lets a
// registered relying party (a bank, a rental platform, an employer) ask a
// few yes/no questions about their HPF account — predicates such as
// balance_at_least(fen) — and never the figures behind them.
//
// The person controls the consent: a share names one party, the
// predicates, how long it is valid and how many times it may answer; the
// person hands the party a one-time code (or approves the party's own
// request) and may revoke it at any time, effective at once. A party
// redeems with its own token and gets the answers signed with the
// centre's shares key (Ed25519 or SM2 per suite, its kid in the JWKS), so
// the answers can be checked offline. The signed answers name the person
// by a pseudonym of their own for each party, so that two parties cannot
// join what they learnt about one person. Only a keyed hash of a code is
// stored; uses are counted atomically; every step is audited.
package share

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/keys"
	"handheld/services/store"
)

// The audit actions of this package. Other packages (the supervision
// dashboard) count them: they are a contract.
const (
	ActionCreate         = "share.create"
	ActionRedeem         = "share.redeem"
	ActionRevoke         = "share.revoke"
	ActionRequestCreate  = "share_request.create"
	ActionRequestApprove = "share_request.approve"
	ActionRequestDecline = "share_request.decline"
	ActionRead           = "read.shares"
	ActionRequestRead    = "read.share_requests"
)

// Record kinds: a share, one of its uses, a party's request.
const (
	KindShare   services.RecordKind = "sh"
	KindUse     services.RecordKind = "su"
	KindRequest services.RecordKind = "sr"
)

// JWSType is the JOSE typ of signed answers, so that no other JWS the
// centre signs passes for one (on top of the key being the shares key).
const JWSType = "hpf-share+jwt"

// Party is a registered relying party as this package sees it: its id
// and display name, the predicates it may ask, and whether it is enabled.
// Its credentials are identity's.
type Party struct {
	ID         string
	Name       string
	Predicates []string
	Enabled    bool
}

// Policy is the centre's share policy (configuration `shares:`).
type Policy struct {
	// MinValidity and MaxValidity bound valid_until from now: a share
	// must last at least MinValidity and at most MaxValidity.
	MinValidity time.Duration `yaml:"min_validity"`
	MaxValidity time.Duration `yaml:"max_validity"`
	// MaxUses bounds max_uses (1..MaxUses).
	MaxUses int `yaml:"max_uses"`
	// RequestTTL is how long a party's request waits for the person.
	RequestTTL time.Duration `yaml:"request_ttl"`
	// MaxFailedRedemptions is how many redemptions naming no share of its
	// own (a guessed or mistyped code) one party may make in
	// FailedRedemptionWindow before every redemption of it is refused
	// with rate_limited until the window ends.
	MaxFailedRedemptions   int           `yaml:"max_failed_redemptions"`
	FailedRedemptionWindow time.Duration `yaml:"failed_redemption_window"`
	// RecentMonths is how far back the latest month remitted may be for
	// a run of deposits to count as continuing
	// (continuous_months_at_least): 2 admits last month's remittance not
	// yet in and the month before.
	RecentMonths int `yaml:"recent_months"`
}

// DefaultPolicy is the shipped policy.
func DefaultPolicy() Policy {
	return Policy{MinValidity: 5 * time.Minute, MaxValidity: 90 * 24 * time.Hour, MaxUses: 10,
		RequestTTL: 7 * 24 * time.Hour, MaxFailedRedemptions: 20, FailedRedemptionWindow: time.Hour, RecentMonths: 2}
}

// Validate checks the policy, naming what is wrong.
func (p Policy) Validate() error {
	var errs []error
	if p.MinValidity < time.Minute || p.MinValidity > 24*time.Hour {
		errs = append(errs, fmt.Errorf("min_validity: must be 1m..24h, not %s", p.MinValidity))
	}
	if p.MaxValidity < p.MinValidity || p.MaxValidity > 366*24*time.Hour {
		errs = append(errs, fmt.Errorf("max_validity: must be min_validity..366 days, not %s", p.MaxValidity))
	}
	if p.MaxUses < 1 || p.MaxUses > 1000 {
		errs = append(errs, fmt.Errorf("max_uses: must be 1..1000, not %d", p.MaxUses))
	}
	if p.RequestTTL < time.Hour || p.RequestTTL > 30*24*time.Hour {
		errs = append(errs, fmt.Errorf("request_ttl: must be 1h..30 days, not %s", p.RequestTTL))
	}
	if p.MaxFailedRedemptions < 1 || p.MaxFailedRedemptions > 100_000 {
		errs = append(errs, fmt.Errorf("max_failed_redemptions: must be 1..100000, not %d", p.MaxFailedRedemptions))
	}
	if p.FailedRedemptionWindow < time.Minute || p.FailedRedemptionWindow > 24*time.Hour {
		errs = append(errs, fmt.Errorf("failed_redemption_window: must be 1m..24h, not %s", p.FailedRedemptionWindow))
	}
	if p.RecentMonths < 0 || p.RecentMonths > 12 {
		errs = append(errs, fmt.Errorf("recent_months: must be 0..12, not %d", p.RecentMonths))
	}
	return errors.Join(errs...)
}

// partyID is the shape of a party id: it ends up in subjects ("party:<id>")
// and audit actors.
var partyID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,63}$`)

// ValidateParties checks a party registry: ids, names, predicates known
// and not repeated. A typo in a predicate must stop start-up, not quietly
// refuse a bank everything.
func ValidateParties(parties []Party) error {
	var errs []error
	seen := map[string]bool{}
	for i, p := range parties {
		if !partyID.MatchString(p.ID) || seen[p.ID] {
			errs = append(errs, fmt.Errorf("entry %d: id %q missing, repeated or not [a-z0-9-] (2..64)", i, p.ID))
		}
		seen[p.ID] = true
		if strings.TrimSpace(p.Name) == "" || len([]rune(p.Name)) > 100 {
			errs = append(errs, fmt.Errorf("entry %d (%s): name required, at most 100 characters", i, p.ID))
		}
		if len(p.Predicates) == 0 {
			errs = append(errs, fmt.Errorf("entry %d (%s): predicates: at least one", i, p.ID))
		}
		for j, name := range p.Predicates {
			if !slices.Contains(Names(), name) || slices.Index(p.Predicates, name) != j {
				errs = append(errs, fmt.Errorf("entry %d (%s): predicates: %q is not one of %v or is repeated", i, p.ID, name, Names()))
			}
		}
	}
	return errors.Join(errs...)
}

// The collaborators, declared here by what this package needs of them.
type (
	// reader is the core, read with deadlines, breakers and a short cache
	// (core.Reader).
	reader interface {
		Person(ctx context.Context, personID string) (core.Person, core.Freshness, error)
		Account(ctx context.Context, personID string) (core.Account, core.Freshness, error)
		Loan(ctx context.Context, personID string) (core.Loan, core.Freshness, error)
	}
	// people maps a pseudonymous subject to the core's person id.
	people interface {
		PersonID(ctx context.Context, subject string) (string, error)
	}
	// auditor queues audit records.
	auditor interface {
		Enqueue(ctx context.Context, r audit.Record) error
	}
	// counters count failed redemptions per party (kv.Store: Redis or
	// memory); keys are hashed by the store.
	counters interface {
		Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
		Get(ctx context.Context, key string) ([]byte, bool, error)
		TTL(ctx context.Context, key string) (time.Duration, error)
		Del(ctx context.Context, key string) error
	}
)

// Deps are a Service's collaborators and policy, built once in bff/app.go.
type Deps struct {
	Store   *store.Store
	Reader  reader
	People  people
	Audit   auditor
	Counter counters
	// Ring signs answers with its current shares key.
	Ring    *keys.Ring
	Parties []Party
	Policy  Policy
	// Key keys the code hashes, the person hashes of requests and the
	// per-party pseudonyms (a secret of at least 32 bytes).
	Key services.HashKey
	// Issuer names the centre in signed answers (its centre code).
	Issuer string
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the shares use cases.
type Service struct {
	Deps
	signer  keys.Signer
	parties map[string]Party
}

// New checks the dependencies and the policy, so that a missing key or a
// bad registry stops start-up instead of the first request.
func New(d Deps) (*Service, error) {
	switch {
	case d.Store == nil || d.Reader == nil || d.People == nil || d.Audit == nil || d.Counter == nil || d.Ring == nil:
		return nil, errors.New("share: missing dependency (store, reader, people, audit, counter or ring)")
	case d.Key.Size() < 32:
		return nil, errors.New("share: hash key must be at least 32 bytes")
	case strings.TrimSpace(d.Issuer) == "":
		return nil, errors.New("share: issuer (centre code) required")
	}
	if err := d.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("share: policy: %w", err)
	}
	if err := ValidateParties(d.Parties); err != nil {
		return nil, fmt.Errorf("share: parties: %w", err)
	}
	signer := d.Ring.Signer(keys.PurposeShares)
	if signer.KID == "" {
		return nil, fmt.Errorf("share: the key ring has no %q signing key", keys.PurposeShares)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{Deps: d, signer: signer, parties: map[string]Party{}}
	for _, p := range d.Parties {
		s.parties[p.ID] = p
	}
	return s, nil
}

// Parties lists the enabled parties a person may share with, in
// configuration order.
func (s *Service) Parties() []Party {
	var out []Party
	for _, p := range s.Deps.Parties {
		if p.Enabled {
			out = append(out, p)
		}
	}
	return out
}

// party returns an enabled party by id.
func (s *Service) party(id string) (Party, bool) {
	p, ok := s.parties[id]
	return p, ok && p.Enabled
}

// partyOf admits a party principal and returns its registry entry; anyone
// else is forbidden, and so is a party since disabled.
func (s *Service) partyOf(p services.Principal) (Party, error) {
	id, ok := strings.CutPrefix(p.Subject, "party:")
	if p.Role != services.RoleParty || !ok {
		return Party{}, services.Errorf(services.CodeForbidden, "share: role %q is not a party", p.Role)
	}
	party, ok := s.party(id)
	if !ok {
		return Party{}, services.Errorf(services.CodeForbidden, "share: party %s unknown or disabled", id)
	}
	return party, nil
}

// pseudonym is an HMAC of a namespaced value, cut to 32 hex digits.
func (s *Service) pseudonym(namespace, value string) string {
	return s.Key.Pseudonym(namespace, value)[:32]
}

// personFor is the person's pseudonym for one party: stable for that
// party, unrelated to their pseudonym for any other.
func (s *Service) personFor(partyID, subject string) string {
	return "psn_" + s.pseudonym("share.person\x00"+partyID, subject)
}

// audited records what happened (see audit.Outcome); a refusal of bad
// input is recorded as denied rather than error.
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
