package ratelimit

import (
	"hash/maphash"
	"sync"
	"time"
)

// limit is a policy's GCRA parameters as enforced: the policy's own, or its
// per-replica share while Redis is down.
type limit struct {
	rate, burst int
	period      time.Duration
}

// interval is the emission interval, one event every period/rate, in
// float seconds, as redis_rate's script computes it (it is given the rate
// and the period in seconds, and divides).
func (l limit) interval() float64 {
	return l.period.Seconds() / float64(l.rate)
}

// share is this replica's part of l when replicas count separately: rate and
// burst divided, each at least 1.
func (l limit) share(replicas int) limit {
	return limit{rate: max(1, l.rate/replicas), burst: max(1, l.burst/replicas), period: l.period}
}

// result is one policy's answer, from Redis or from memory.
type result struct {
	allowed    bool
	remaining  int
	retryAfter time.Duration // until one more event would be allowed; 0 when allowed
	resetAfter time.Duration // until the key is back to a full burst
}

// local is the in-process GCRA: the whole limiter in the embedded profile,
// the fallback in production. It keeps the state redis_rate keeps in Redis
// (the theoretical arrival time per key) and does redis_rate's arithmetic
// on it, in float seconds from the same epoch, so that a decision reads the
// same whichever side made it, down to the library's rounding (see allow).
//
// Memory is bounded. A key whose arrival time has passed is indistinguishable
// from an absent key (a full burst), so a periodic sweep drops it; and a shard
// at its cap forgets an arbitrary key to make room, which errs on the side of
// allowing, as rate limiting should when it must err.
type local struct {
	seed       maphash.Seed
	shards     [32]shard
	perShard   int
	sweepEvery time.Duration
}

type shard struct {
	mu        sync.Mutex
	tat       map[string]float64 // theoretical arrival time, seconds(t)
	lastSweep int64              // Unix nanoseconds
}

func newLocal(maxKeys int, sweepEvery time.Duration) *local {
	l := &local{seed: maphash.MakeSeed(), sweepEvery: sweepEvery}
	l.perShard = max(1, maxKeys/len(l.shards))
	for i := range l.shards {
		l.shards[i].tat = make(map[string]float64)
	}
	return l
}

// redisRateEpoch is where redis_rate counts seconds from, 2017-01-01 UTC,
// to keep Redis's clock in microseconds within a float64's precision.
const redisRateEpoch = 1483228800

// seconds is t as redis_rate reads Redis's clock: float seconds since
// redisRateEpoch.
func seconds(t time.Time) float64 {
	return float64(t.Unix()-redisRateEpoch) + float64(t.Nanosecond())/1e9
}

// floatDuration converts float seconds as redis_rate does.
func floatDuration(s float64) time.Duration {
	return time.Duration(s * float64(time.Second))
}

// allow applies GCRA as redis_rate's AllowN does for one event: the event
// is allowed when, after adding one emission interval to the key's arrival
// time, that time is at most burst intervals ahead of now; remaining is
// how many more intervals fit, rounded down.
//
// The float arithmetic is redis_rate's, and so is its rounding. Now (about
// 2.9e8 s since 2017) is a float64 on a grid of 2^-24 s until 2034, so
// adding an interval that is not a multiple of that grid (60 s / 9, 0.1 s)
// adds it rounded to the grid. When that rounds up, each event costs a
// hair more than an interval: a fresh key reports one fewer remaining than
// it has (7 after the first of 9 a minute, 98 after the first of 600 a
// minute with burst 100), and the last event of a full burst sent within
// one clock tick is refused. Intervals on the grid (1 s, 0.5 s, 20 s, 12
// min) count exactly.
func (l *local) allow(key string, lim limit, now time.Time) result {
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	n := seconds(now)
	interval := lim.interval()
	burstOffset := interval * float64(lim.burst)

	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now.UnixNano()-sh.lastSweep >= int64(l.sweepEvery) {
		sh.sweep(n, now.UnixNano())
	}
	tat, known := sh.tat[key]
	if !known || tat < n {
		tat = n
	}
	newTAT := tat + interval
	diff := n - (newTAT - burstOffset)
	remaining := diff / interval
	if remaining < 0 {
		return result{retryAfter: floatDuration(-diff), resetAfter: floatDuration(tat - n)}
	}
	if !known && len(sh.tat) >= l.perShard {
		for k := range sh.tat {
			delete(sh.tat, k)
			break
		}
	}
	sh.tat[key] = newTAT
	return result{allowed: true, remaining: int(remaining), resetAfter: floatDuration(newTAT - n)}
}

// sweep drops the keys that are back to a full burst: now in seconds(t),
// nanos in Unix nanoseconds.
func (sh *shard) sweep(now float64, nanos int64) {
	for k, tat := range sh.tat {
		if tat <= now {
			delete(sh.tat, k)
		}
	}
	sh.lastSweep = nanos
}

// len counts the keys held, for tests of the memory bound.
func (l *local) len() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.tat)
		sh.mu.Unlock()
	}
	return n
}
