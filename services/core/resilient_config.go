package core

import (
	"fmt"
	"handheld/services/suite"
	"log/slog"
	"math/rand/v2"
	"time"
)

// ReadPolicy is how the Reader treats one endpoint group of the core. It is
// data rather than code so a centre can tune it to its own core (a slow
// mainframe wants longer timeouts, a flaky gateway a more patient breaker)
// without a release.
type ReadPolicy struct {
	// Timeout bounds one attempt. A screen waits on it, so it is short: a
	// core that cannot answer a balance in a couple of seconds is down.
	Timeout time.Duration `yaml:"timeout"`
	// Retries is how many times a failed attempt is repeated. Reads are
	// idempotent, so repeating one is safe; only transport errors, timeouts
	// and 5xx answers are retried (0 to 5).
	Retries int `yaml:"retries"`
	// Backoff is the base of the jittered exponential wait between attempts:
	// base, 2×base, 4×base..., each ±50%, so replicas that failed together
	// do not retry together.
	Backoff time.Duration `yaml:"backoff"`
	// FreshFor is how long an answer is served from the cache without asking
	// the core: a person tapping between screens should not cost a core call
	// per tap. Zero disables serving from the cache while the core is up.
	FreshFor time.Duration `yaml:"fresh_for"`
	// StaleFor is how long a last known answer may stand in, marked stale,
	// when the core is down, behind an open breaker or in its maintenance
	// window. Zero means never: the group fails instead.
	StaleFor time.Duration `yaml:"stale_for"`

	// BreakerFailures opens the breaker after this many consecutive failed
	// attempts; 0 leaves only the ratio rule.
	BreakerFailures uint32 `yaml:"breaker_failures"`
	// BreakerFailureRatio opens the breaker when at least this share of the
	// attempts in BreakerWindow failed (and there were BreakerMinRequests of
	// them), which catches a core that fails often but not in a row. 0 turns
	// the rule off.
	BreakerFailureRatio float64 `yaml:"breaker_failure_ratio"`
	// BreakerMinRequests keeps the ratio rule from tripping on a handful of
	// attempts at a quiet hour.
	BreakerMinRequests uint32 `yaml:"breaker_min_requests"`
	// BreakerWindow is the rolling window the ratio rule looks at.
	BreakerWindow time.Duration `yaml:"breaker_window"`
	// BreakerOpenFor is how long an open breaker fails calls fast before it
	// lets trial calls through again.
	BreakerOpenFor time.Duration `yaml:"breaker_open_for"`
	// BreakerHalfOpenRequests is how many trial calls a half-open breaker lets
	// through; that many successes in a row close it, one failure reopens it.
	BreakerHalfOpenRequests uint32 `yaml:"breaker_half_open_requests"`
}

// ReaderConfig is everything a Reader needs besides the client and the
// cache. The policies come from the centre's configuration file; the rest
// is wiring.
type ReaderConfig struct {
	Person      ReadPolicy `yaml:"person"`      // person records
	Account     ReadPolicy `yaml:"account"`     // account summaries
	Deposits    ReadPolicy `yaml:"deposits"`    // deposit history pages
	Loan        ReadPolicy `yaml:"loan"`        // loan summaries and repayment schedules
	Certificate ReadPolicy `yaml:"certificate"` // certificate facts
	Employer    ReadPolicy `yaml:"employer"`    // unit records for the employer app

	// Secret is the key (32 bytes) that seals cached values with Suite's
	// AEAD (AES-256-GCM, or SM4-GCM under its first 16 bytes): they hold
	// names, ID numbers and balances, and Redis is not a place to keep those
	// readable. It never comes from the YAML file.
	Secret []byte `yaml:"-"`
	// Suite is the cryptographic suite of the sealing; intl when zero.
	Suite suite.Suite `yaml:"-"`
	// Now is the clock for cache ages and Freshness; nil means time.Now.
	// Breakers, timeouts and backoff run on the real clock.
	Now func() time.Time `yaml:"-"`
	// Rand draws the backoff jitter; nil means math/rand/v2's global source.
	// Tests inject a seeded source to make waits repeatable.
	Rand rand.Source `yaml:"-"`
	// Logger receives breaker changes and cache trouble, with endpoint
	// groups only, never personal data; nil discards.
	Logger *slog.Logger `yaml:"-"`

	// OnBreakerChange is called when a group's breaker changes state
	// ("closed", "open", "half-open"). It runs while the breaker is locked:
	// it must be quick and must not call the Reader.
	OnBreakerChange func(group, from, to string) `yaml:"-"`
	// OnRetry is called before each retry of an attempt.
	OnRetry func(group string) `yaml:"-"`
	// OnStale is called each time a stale answer stands in for the core.
	OnStale func(group string) `yaml:"-"`
	// OnCache is called once per read: hit when it was served fresh from
	// the cache, miss when it went to the core.
	OnCache func(group string, hit bool) `yaml:"-"`
}

// DefaultReaderConfig is a starting point for a centre: screens answer from
// a short cache, a down core degrades to yesterday's figures marked stale,
// and a failing core is left alone for ten seconds at a time. Secret, Now
// and the hooks are left for the wiring point.
func DefaultReaderConfig() ReaderConfig {
	base := ReadPolicy{
		Timeout:                 2 * time.Second,
		Retries:                 2,
		Backoff:                 20 * time.Millisecond,
		FreshFor:                30 * time.Second,
		StaleFor:                24 * time.Hour,
		BreakerFailures:         5,
		BreakerFailureRatio:     0.5,
		BreakerMinRequests:      20,
		BreakerWindow:           30 * time.Second,
		BreakerOpenFor:          10 * time.Second,
		BreakerHalfOpenRequests: 3,
	}
	person, deposits, certificate := base, base, base
	person.FreshFor = time.Minute
	deposits.Timeout = 3 * time.Second
	deposits.FreshFor = time.Minute
	certificate.Timeout = 3 * time.Second
	// A certificate is an official statement: it is never issued from a
	// remembered answer while the core cannot confirm the figures.
	certificate.StaleFor = 0
	return ReaderConfig{Person: person, Account: base, Deposits: deposits, Loan: base, Certificate: certificate, Employer: base}
}

// maxRetries bounds Retries: beyond a few, retrying only piles load onto a
// core that is already struggling.
const maxRetries = 5

// validate names the first setting that is wrong, so a bad configuration
// stops the process at start-up instead of degrading every screen.
func (p ReadPolicy) validate(group string) error {
	bad := func(setting, format string, args ...any) error {
		return fmt.Errorf("core reader: %s.%s %s", group, setting, fmt.Sprintf(format, args...))
	}
	switch {
	case p.Timeout <= 0:
		return bad("timeout", "must be positive, got %s", p.Timeout)
	case p.Retries < 0 || p.Retries > maxRetries:
		return bad("retries", "must be between 0 and %d, got %d", maxRetries, p.Retries)
	case p.Backoff < 0:
		return bad("backoff", "must not be negative, got %s", p.Backoff)
	case p.FreshFor < 0:
		return bad("fresh_for", "must not be negative, got %s", p.FreshFor)
	case p.StaleFor < 0:
		return bad("stale_for", "must not be negative, got %s", p.StaleFor)
	case p.BreakerFailures == 0 && p.BreakerFailureRatio == 0:
		return bad("breaker_failures", "and breaker_failure_ratio are both 0: the breaker could never open")
	case !(p.BreakerFailureRatio >= 0 && p.BreakerFailureRatio <= 1):
		return bad("breaker_failure_ratio", "must be between 0 and 1, got %v", p.BreakerFailureRatio)
	case p.BreakerFailureRatio > 0 && p.BreakerMinRequests == 0:
		return bad("breaker_min_requests", "must be positive when breaker_failure_ratio is set")
	case p.BreakerFailureRatio > 0 && p.BreakerWindow <= 0:
		return bad("breaker_window", "must be positive when breaker_failure_ratio is set, got %s", p.BreakerWindow)
	case p.BreakerWindow < 0:
		return bad("breaker_window", "must not be negative, got %s", p.BreakerWindow)
	case p.BreakerOpenFor <= 0:
		return bad("breaker_open_for", "must be positive, got %s", p.BreakerOpenFor)
	case p.BreakerHalfOpenRequests == 0:
		return bad("breaker_half_open_requests", "must be positive")
	}
	return nil
}

// budget is how long one shared read may take in all: every attempt at its
// full timeout plus the longest jittered waits between them.
func (p ReadPolicy) budget() time.Duration {
	total := p.Timeout * time.Duration(p.Retries+1)
	for i := range p.Retries {
		total += p.Backoff << i * 3 / 2
	}
	return total
}

// cacheTTL is how long a value is kept: as long as it may serve at all.
func (p ReadPolicy) cacheTTL() time.Duration { return max(p.FreshFor, p.StaleFor) }

func (cfg ReaderConfig) validate() error {
	for _, g := range []struct {
		name string
		p    ReadPolicy
	}{
		{groupPerson, cfg.Person}, {groupAccount, cfg.Account}, {groupDeposits, cfg.Deposits},
		{groupLoan, cfg.Loan}, {groupCertificate, cfg.Certificate}, {groupEmployer, cfg.Employer},
	} {
		if err := g.p.validate(g.name); err != nil {
			return err
		}
	}
	if len(cfg.Secret) != 32 {
		return fmt.Errorf("core reader: Secret must be 32 bytes (AES-256), got %d", len(cfg.Secret))
	}
	return nil
}
