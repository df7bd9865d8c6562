// Package ratelimit decides whether a request may go on, against the rate
// limit policies of the centre, by GCRA. With Redis, the counters are
// shared by every replica and kept by github.com/go-redis/redis_rate, and a
// request costs at most one round trip however many policies it matches,
// shared with the requests that arrive while the previous one is out
// (redis.go); without
// Redis (the embedded profile) they live in process memory, counted with
// redis_rate's arithmetic. When Redis fails the limiter falls
// back to memory, dividing each limit by the number of replicas, because
// rate limiting must fail soft (house rule 7).
//
// Counter keys are HMACs of the policy name and the counted value, so no
// address, subject, unit or device id is readable in Redis.
package ratelimit

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"handheld/services"
	"handheld/services/suite"
)

// Config holds the limiter's dependencies and tuning; zero values get the
// defaults noted.
type Config struct {
	// Redis holds the shared counters; nil keeps them in process memory
	// (the embedded profile), where FailClosed never applies.
	Redis redis.UniversalClient
	// Prefix starts every key name the limiter chooses, to share a Redis
	// with other tenants. redis_rate stores each under "rate:" + that
	// name: the keys read rate:<Prefix>rl:<policy>:<hash>.
	Prefix string
	// Secret keys the HMAC that hides counted values in key names.
	// Required with Redis; without, a random one is made.
	Secret services.HashKey
	// Timeout bounds each Redis round trip (default 20 ms), whatever the
	// client's own timeouts: a slow Redis must cost a request
	// milliseconds, not seconds.
	Timeout time.Duration
	// Replicas is how many handheld replicas share the load (default 1).
	// While Redis is down each counts alone, so each enforces this share
	// of every limit.
	Replicas int
	// Cooldown is how long to decide in memory after a Redis failure
	// before trying Redis again (default 1 s), so that an outage that
	// hangs rather than refuses costs one request per second the Timeout,
	// not every request. Negative: try Redis on the very next request.
	Cooldown time.Duration
	// Now is the clock for the in-memory counters and the cooldown.
	Now func() time.Time
	// Logger receives the fallback warning.
	Logger *slog.Logger
	// OnFallback is called with the policy name for each policy decided
	// without Redis while Redis is configured: the fallback metric.
	OnFallback func(policy string)
	// LogEvery spaces fallback warnings (default 30 s): an outage should
	// show in the log, not flood it.
	LogEvery time.Duration
	// MaxLocalKeys caps the in-memory counters (default 100 000, about
	// 10 MB), against floods of distinct addresses.
	MaxLocalKeys int
}

// Request is what a route is counted by. Values are opaque; empty ones
// skip the policies that count them, except the address, which every
// request has (a missing or unparsable one is counted as given, or as
// "unknown").
type Request struct {
	Class    Class  // route class: login, read, ...
	Channel  string // miniapp, app, kiosk or public
	IP       string
	Subject  string // pseudonymous subject id; for login, the account signed into
	Device   string
	Unit     string
	Verifier string
}

// Decision is the tightest answer among the policies a request matched,
// with what the RateLimit-* and Retry-After headers need.
type Decision struct {
	Allowed    bool
	Limit      int           // the deciding policy's burst (as enforced)
	Remaining  int           // requests still allowed at once
	ResetAfter time.Duration // until the deciding policy's burst is full again
	RetryAfter time.Duration // when refused, until a retry can succeed
	Policy     string        // the deciding policy; "" when none matched
	Fallback   bool          // decided without Redis although Redis is configured
}

// Err is nil when the request may go on, else the rate_limited error the
// error handler renders as 429 with Retry-After.
func (d Decision) Err() error {
	if d.Allowed {
		return nil
	}
	return &services.Error{Code: services.CodeRateLimited, RetryAfter: d.RetryAfter}
}

// Limiter enforces a fixed set of policies. It is safe for concurrent use.
type Limiter struct {
	cfg     Config
	rdb     redis.UniversalClient
	pipe    *pipe // nil without Redis
	rules   []rule
	byClass map[Class][]int // rules for each class named by some policy
	anyCls  []int           // rules for every class
	mem     *local
	macs    sync.Pool

	downUntil atomic.Int64 // Unix ns before which Redis is not tried
	lastLog   atomic.Int64 // Unix ns of the last fallback warning
	unlogged  atomic.Int64 // fallbacks since that warning
}

// rule is a policy ready to match.
type rule struct {
	Policy
	lim limit
}

// failClosedRetry is how soon a caller refused by a FailClosed policy may
// retry: Redis outages are usually that short.
const failClosedRetry = time.Second

// New checks the policies and builds the limiter. It does not contact
// Redis: start-up must not depend on it.
func New(cfg Config, policies []Policy) (*Limiter, error) {
	if err := ValidatePolicies(policies); err != nil {
		return nil, err
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("ratelimit: Timeout must not be negative, got %s", cfg.Timeout)
	case cfg.Replicas < 0:
		return nil, fmt.Errorf("ratelimit: Replicas must not be negative, got %d", cfg.Replicas)
	case cfg.Redis != nil && cfg.Secret.Size() == 0:
		return nil, errors.New("ratelimit: Secret is required with Redis, to hide counted values in keys")
	}
	if cfg.Secret.Size() == 0 {
		cfg.Secret = services.NewHashKey([]byte(rand.Text()), suite.Intl)
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, 20*time.Millisecond)
	cfg.Replicas = cmp.Or(cfg.Replicas, 1)
	cfg.Cooldown = cmp.Or(cfg.Cooldown, time.Second)
	cfg.LogEvery = cmp.Or(cfg.LogEvery, 30*time.Second)
	cfg.MaxLocalKeys = cmp.Or(cfg.MaxLocalKeys, 100_000)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.OnFallback == nil {
		cfg.OnFallback = func(string) {}
	}
	secret := cfg.Secret
	l := &Limiter{
		cfg:     cfg,
		rdb:     cfg.Redis,
		byClass: make(map[Class][]int),
		mem:     newLocal(cfg.MaxLocalKeys, 10*time.Second),
		macs:    sync.Pool{New: func() any { return secret.MAC() }},
	}
	if cfg.Redis != nil {
		l.pipe = newPipe(cfg.Redis, cfg.Timeout)
	}
	for _, p := range policies {
		p.Classes, p.Channels = slices.Clone(p.Classes), slices.Clone(p.Channels)
		l.rules = append(l.rules, rule{Policy: p, lim: limit{rate: p.Rate, burst: p.Burst, period: p.Period}})
		for _, c := range p.Classes {
			l.byClass[c] = nil
		}
	}
	for i, r := range l.rules {
		if len(r.Classes) == 0 {
			l.anyCls = append(l.anyCls, i)
		}
		for c := range l.byClass {
			if len(r.Classes) == 0 || slices.Contains(r.Classes, c) {
				l.byClass[c] = append(l.byClass[c], i)
			}
		}
	}
	return l, nil
}

// matched is one policy a request is counted under.
type matched struct {
	rule *rule
	key  string
}

// match lists the policies that apply to r and have a value to count.
func (l *Limiter) match(r Request) []matched {
	idx, ok := l.byClass[r.Class]
	if !ok {
		idx = l.anyCls
	}
	out := make([]matched, 0, len(idx))
	for _, i := range idx {
		ru := &l.rules[i]
		if len(ru.Channels) > 0 && !slices.Contains(ru.Channels, r.Channel) {
			continue
		}
		if v := countedValue(ru.Key, r); v != "" {
			out = append(out, matched{rule: ru, key: l.key(ru.Name, v)})
		}
	}
	return out
}

// key is "<Prefix>rl:<policy>:<HMAC of policy:value>": the policy stays
// readable for operators, the value does not. In Redis, redis_rate puts
// "rate:" in front.
func (l *Limiter) key(policy, value string) string {
	mac := l.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write([]byte(policy))
	mac.Write([]byte{':'})
	mac.Write([]byte(value))
	var buf [sha256.Size]byte
	sum := mac.Sum(buf[:0])
	l.macs.Put(mac)
	return l.cfg.Prefix + "rl:" + policy + ":" + base64.RawURLEncoding.EncodeToString(sum[:18])
}
