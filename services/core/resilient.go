package core

import (
	"context"
	"crypto/cipher"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/singleflight"

	"handheld/services/kv"
)

// Endpoint groups of the Reader: each has its own policy and breaker. They
// match the simulator's groups and are stable metric labels.
const (
	groupPerson      = "person"
	groupAccount     = "account"
	groupDeposits    = "deposits"
	groupLoan        = "loan" // loan summary and repayment schedule: one core system
	groupCertificate = "certificate"
	groupEmployer    = "employer" // unit records, for the employer app
)

// Reader is how the depositor and employer screens read the core: a short
// shared cache, one core call for any number of identical concurrent reads,
// retries with backoff for transient failures, a circuit breaker per
// endpoint group, and the last known answer (marked stale) when the core
// cannot answer. The
// Client stays a plain translation of the contract; all policy lives here.
// A Reader is safe for concurrent use; build one per process and share it.
type Reader struct {
	client  *Client
	cache   kv.Store
	local   *localCache // fresh answers in memory, before the shared cache
	aead    cipher.AEAD
	now     func() time.Time
	log     *slog.Logger
	flights singleflight.Group
	groups  []*group // in a fixed order, for BreakerStates

	person, account, deposits, loan, certificate, employer *group

	waitMu  sync.Mutex
	waiters map[string]int // callers waiting on each shared read, by key

	jitterMu sync.Mutex
	jitter   *rand.Rand // nil: math/rand/v2's concurrent-safe global source

	onRetry func(group string)
	onStale func(group string)
	onCache func(group string, hit bool)
}

// group is one endpoint group's policy and breaker.
type group struct {
	name    string
	policy  ReadPolicy
	budget  time.Duration
	breaker *gobreaker.TwoStepCircuitBreaker[struct{}]
}

// NewReader validates cfg and builds a Reader over c, caching in cache
// (Redis in production, so every replica shares one cache). It fails fast,
// naming the setting, so a bad policy stops the process at start-up.
func NewReader(c *Client, cfg ReaderConfig, cache kv.Store) (*Reader, error) {
	if c == nil {
		return nil, errors.New("core reader: a Client is required")
	}
	if cache == nil {
		return nil, errors.New("core reader: a kv.Store is required for the cache")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	aead, err := cfg.Suite.AEAD(cfg.Secret[:cfg.Suite.KeySize()])
	if err != nil {
		return nil, err
	}
	r := &Reader{
		local:  newLocalCache(50_000),
		client: c, cache: cache, aead: aead, now: cfg.Now, log: cfg.Logger,
		onRetry: cfg.OnRetry, onStale: cfg.OnStale, onCache: cfg.OnCache,
		waiters: map[string]int{},
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Rand != nil {
		r.jitter = rand.New(cfg.Rand)
	}
	r.person = r.newGroup(groupPerson, cfg.Person, cfg.OnBreakerChange)
	r.account = r.newGroup(groupAccount, cfg.Account, cfg.OnBreakerChange)
	r.deposits = r.newGroup(groupDeposits, cfg.Deposits, cfg.OnBreakerChange)
	r.loan = r.newGroup(groupLoan, cfg.Loan, cfg.OnBreakerChange)
	r.certificate = r.newGroup(groupCertificate, cfg.Certificate, cfg.OnBreakerChange)
	r.employer = r.newGroup(groupEmployer, cfg.Employer, cfg.OnBreakerChange)
	r.groups = []*group{r.person, r.account, r.deposits, r.loan, r.certificate, r.employer}
	return r, nil
}

func (r *Reader) newGroup(name string, p ReadPolicy, onChange func(group, from, to string)) *group {
	st := gobreaker.Settings{
		Name:        "core." + name,
		MaxRequests: p.BreakerHalfOpenRequests,
		Interval:    p.BreakerWindow,
		Timeout:     p.BreakerOpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			if p.BreakerFailures > 0 && c.ConsecutiveFailures >= p.BreakerFailures {
				return true
			}
			done := c.TotalSuccesses + c.TotalFailures // answered, not excluded
			return p.BreakerFailureRatio > 0 && done >= p.BreakerMinRequests &&
				float64(c.TotalFailures) >= p.BreakerFailureRatio*float64(done)
		},
		IsSuccessful: breakerSuccess,
		IsExcluded:   breakerExcluded,
		OnStateChange: func(breaker string, from, to gobreaker.State) {
			r.log.Warn("core reader: circuit breaker changed", "breaker", breaker, "from", from.String(), "to", to.String())
			if onChange != nil {
				onChange(name, from.String(), to.String())
			}
		},
	}
	if p.BreakerWindow > 0 {
		st.BucketPeriod = max(p.BreakerWindow/10, time.Millisecond) // a rolling window
	}
	return &group{name: name, policy: p, budget: p.budget(), breaker: gobreaker.NewTwoStepCircuitBreaker[struct{}](st)}
}

// BreakerStates reports each breaker ("core.account", ...) as "closed",
// "open" or "half-open", for the readiness page and operators.
func (r *Reader) BreakerStates() map[string]string {
	out := make(map[string]string, len(r.groups))
	for _, g := range r.groups {
		out[g.breaker.Name()] = g.breaker.State().String()
	}
	return out
}

// Person reads the core's record of a person.
func (r *Reader) Person(ctx context.Context, personID string) (Person, Freshness, error) {
	return read(ctx, r, r.person, endpointPerson, personID, "", func(ctx context.Context) (Person, error) {
		return r.client.Person(ctx, personID)
	})
}

// Account reads a person's account summary, the balance screen's figures.
func (r *Reader) Account(ctx context.Context, personID string) (Account, Freshness, error) {
	return read(ctx, r, r.account, endpointAccount, personID, "", func(ctx context.Context) (Account, error) {
		return r.client.Account(ctx, personID)
	})
}

// Deposits reads one page of the deposit history; each query and page is
// cached on its own.
func (r *Reader) Deposits(ctx context.Context, personID string, q DepositQuery) (DepositPage, Freshness, error) {
	query := url.Values{"from": {q.From}, "to": {q.To}, "limit": {strconv.Itoa(q.Limit)}, "cursor": {q.Cursor}}.Encode()
	return read(ctx, r, r.deposits, endpointDeposits, personID, query, func(ctx context.Context) (DepositPage, error) {
		return r.client.Deposits(ctx, personID, q)
	})
}

// Loan reads a person's loan summary.
func (r *Reader) Loan(ctx context.Context, personID string) (Loan, Freshness, error) {
	return read(ctx, r, r.loan, endpointLoan, personID, "", func(ctx context.Context) (Loan, error) {
		return r.client.Loan(ctx, personID)
	})
}

// LoanSchedule reads one page of a repayment plan. It shares the loan
// group's policy and breaker: both come from the core's loan system.
func (r *Reader) LoanSchedule(ctx context.Context, personID string, limit int, cursor string) (SchedulePage, Freshness, error) {
	query := url.Values{"limit": {strconv.Itoa(limit)}, "cursor": {cursor}}.Encode()
	return read(ctx, r, r.loan, endpointLoanSchedule, personID, query, func(ctx context.Context) (SchedulePage, error) {
		return r.client.LoanSchedule(ctx, personID, limit, cursor)
	})
}

// CertificateFacts reads what a certificate states. By default it is never
// served stale (DefaultReaderConfig): a certificate must not state figures
// the core could not confirm.
func (r *Reader) CertificateFacts(ctx context.Context, personID string) (CertificateFacts, Freshness, error) {
	return read(ctx, r, r.certificate, endpointCertificateFacts, personID, "", func(ctx context.Context) (CertificateFacts, error) {
		return r.client.CertificateFacts(ctx, personID)
	})
}

// Unit reads an employer's record for the employer app, under the
// employer group's policy and breaker.
func (r *Reader) Unit(ctx context.Context, unitCode string) (Unit, Freshness, error) {
	return read(ctx, r, r.employer, endpointUnit, unitCode, "", func(ctx context.Context) (Unit, error) {
		return r.client.Unit(ctx, unitCode)
	})
}

// backoff is the jittered wait before retry number n (0-based): base×2ⁿ,
// then anywhere from half to one and a half times that.
func (r *Reader) backoff(base time.Duration, n int) time.Duration {
	var f float64
	if r.jitter != nil {
		r.jitterMu.Lock()
		f = r.jitter.Float64()
		r.jitterMu.Unlock()
	} else {
		f = rand.Float64()
	}
	return time.Duration(float64(base<<n) * (0.5 + f))
}

// waiting counts the callers waiting on the shared read of key. It is kept
// by key, not per flight, so a caller that joins a read after the others
// left still keeps its retries going.
func (r *Reader) waiting(key string, delta int) {
	r.waitMu.Lock()
	defer r.waitMu.Unlock()
	if n := r.waiters[key] + delta; n > 0 {
		r.waiters[key] = n
	} else {
		delete(r.waiters, key)
	}
}

func (r *Reader) awaited(key string) bool {
	r.waitMu.Lock()
	defer r.waitMu.Unlock()
	return r.waiters[key] > 0
}

func (r *Reader) retried(g *group) {
	if r.onRetry != nil {
		r.onRetry(g.name)
	}
}

func (r *Reader) servedStale(g *group) {
	if r.onStale != nil {
		r.onStale(g.name)
	}
}

func (r *Reader) cached(g *group, hit bool) {
	if r.onCache != nil {
		r.onCache(g.name, hit)
	}
}
