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

// interval is the emission interval, one event every period/rate, in whole
// microseconds as the Redis script counts.
func (l limit) interval() time.Duration {
	return (l.period / time.Duration(l.rate)).Truncate(time.Microsecond)
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
// the fallback in production. It keeps the same state as the Redis script
// (the theoretical arrival time per key) and answers with the same numbers,
// so a decision reads the same whichever side made it.
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
	tat       map[string]int64 // theoretical arrival time, Unix nanoseconds
	lastSweep int64
}

func newLocal(maxKeys int, sweepEvery time.Duration) *local {
	l := &local{seed: maphash.MakeSeed(), sweepEvery: sweepEvery}
	l.perShard = max(1, maxKeys/len(l.shards))
	for i := range l.shards {
		l.shards[i].tat = make(map[string]int64)
	}
	return l
}

// allow applies GCRA exactly as the Redis script does (in nanoseconds where
// Redis has microseconds): an event is allowed
// when, after adding one emission interval to the key's arrival time, that
// time is at most burst intervals ahead of now.
func (l *local) allow(key string, lim limit, now time.Time) result {
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	n := now.UnixNano()
	t := int64(lim.interval())

	sh.mu.Lock()
	defer sh.mu.Unlock()
	if n-sh.lastSweep >= int64(l.sweepEvery) {
		sh.sweep(n)
	}
	tat, known := sh.tat[key]
	tat = max(tat, n)
	newTAT := tat + t
	diff := n - (newTAT - int64(lim.burst)*t)
	if diff < 0 {
		return result{retryAfter: time.Duration(-diff), resetAfter: time.Duration(tat - n)}
	}
	if !known && len(sh.tat) >= l.perShard {
		for k := range sh.tat {
			delete(sh.tat, k)
			break
		}
	}
	sh.tat[key] = newTAT
	return result{allowed: true, remaining: int(diff / t), resetAfter: time.Duration(newTAT - n)}
}

// sweep drops the keys that are back to a full burst.
func (sh *shard) sweep(now int64) {
	for k, tat := range sh.tat {
		if tat <= now {
			delete(sh.tat, k)
		}
	}
	sh.lastSweep = now
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
