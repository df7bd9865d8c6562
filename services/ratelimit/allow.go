package ratelimit

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Allow counts the request under every policy that matches its class and
// channel and returns the tightest decision: refused if any policy refuses.
// A request that matches no policy is allowed with an empty Policy.
//
// Redis failures are not errors: the decision then comes from memory (or
// from FailClosed policies) with Fallback set. The error is only ever the
// caller's own context ending, when there is no one left to answer.
func (l *Limiter) Allow(ctx context.Context, r Request) (Decision, error) {
	ms := l.match(r)
	if len(ms) == 0 {
		return Decision{Allowed: true}, nil
	}
	if l.rdb == nil {
		return l.fromMemory(ms, 1), nil
	}
	now := l.cfg.Now()
	if now.UnixNano() < l.downUntil.Load() {
		return l.fallback(ms), nil
	}
	rs, err := l.viaRedis(ctx, ms)
	if err == nil {
		return decide(ms, rs, func(i int) int { return ms[i].rule.lim.burst }), nil
	}
	if ctx.Err() != nil {
		return Decision{}, fmt.Errorf("rate limit: %w", context.Cause(ctx))
	}
	if l.cfg.Cooldown > 0 {
		l.downUntil.Store(now.Add(l.cfg.Cooldown).UnixNano())
	}
	l.warn(now, err)
	return l.fallback(ms), nil
}

// viaRedis runs the policies' GCRA steps in Redis within the Timeout.
func (l *Limiter) viaRedis(ctx context.Context, ms []matched) ([]result, error) {
	keys := make([]string, len(ms))
	lims := make([]limit, len(ms))
	for i, m := range ms {
		keys[i], lims[i] = m.key, m.rule.lim
	}
	rs, err := l.redisAllow(ctx, keys, lims)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	return rs, nil
}

// fallback decides without Redis: FailClosed policies refuse, the others
// count in memory, each at this replica's share.
func (l *Limiter) fallback(ms []matched) Decision {
	for _, m := range ms {
		l.cfg.OnFallback(m.rule.Name)
	}
	for _, m := range ms {
		if m.rule.FailClosed {
			return Decision{Limit: m.rule.lim.burst, RetryAfter: failClosedRetry, ResetAfter: failClosedRetry,
				Policy: m.rule.Name, Fallback: true}
		}
	}
	d := l.fromMemory(ms, l.cfg.Replicas)
	d.Fallback = true
	return d
}

// fromMemory counts in process memory, each limit divided by replicas.
func (l *Limiter) fromMemory(ms []matched, replicas int) Decision {
	now := l.cfg.Now()
	rs := make([]result, len(ms))
	for i, m := range ms {
		rs[i] = l.mem.allow(m.key, m.rule.lim.share(replicas), now)
	}
	return decide(ms, rs, func(i int) int { return ms[i].rule.lim.share(replicas).burst })
}

// warn logs a fallback at most once per LogEvery, with how many fallbacks
// went unlogged since the previous warning.
func (l *Limiter) warn(now time.Time, cause error) {
	n := l.unlogged.Add(1)
	last := l.lastLog.Load()
	if now.UnixNano()-last < int64(l.cfg.LogEvery) || !l.lastLog.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	l.unlogged.Add(-n)
	l.cfg.Logger.Warn("rate limiter falling back to in-process: "+cause.Error(),
		"failures", n, "replicas", l.cfg.Replicas)
}

// decide picks the tightest result: any refusal over any allowance, the
// longest wait among refusals, the fewest remaining among allowances.
func decide(ms []matched, rs []result, burst func(i int) int) Decision {
	best := 0
	for i := 1; i < len(rs); i++ {
		if tighter(rs[i], rs[best]) {
			best = i
		}
	}
	r := rs[best]
	return Decision{Allowed: r.allowed, Limit: burst(best), Remaining: r.remaining,
		ResetAfter: r.resetAfter, RetryAfter: r.retryAfter, Policy: ms[best].rule.Name}
}

func tighter(a, b result) bool {
	switch {
	case a.allowed != b.allowed:
		return !a.allowed
	case !a.allowed:
		return a.retryAfter > b.retryAfter
	case a.remaining != b.remaining:
		return a.remaining < b.remaining
	default:
		return a.resetAfter > b.resetAfter
	}
}

// countedValue is the value a policy's key counts for r; empty skips the
// policy, except for the address, which is never empty.
func countedValue(key string, r Request) string {
	switch key {
	case KeyIP:
		return AddressKey(r.IP)
	case KeySubject:
		return r.Subject
	case KeyDevice:
		return r.Device
	case KeyUnit:
		return r.Unit
	case KeyVerifier:
		return r.Verifier
	case KeyChannel:
		return r.Channel
	}
	return ""
}

// AddressKey is what counts as one address: IPv4 addresses one by one and
// IPv6 ones by /64, the block one subscriber usually holds, since counting
// single IPv6 addresses would let a client rotate through its 2^64 of
// them. What does not parse is counted as given, so that junk shares a
// counter rather than escaping one. Sign-in lockouts count by it too.
func AddressKey(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "unknown"
	}
	a, err := netip.ParseAddr(raw)
	if err != nil {
		return raw
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return raw
	}
	return p.String()
}
