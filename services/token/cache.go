package token

import (
	"sync"
	"time"
)

// maxShards caps the lock striping; 64 shards keep contention negligible on
// any machine we run on while each shard stays large enough to evict well.
const maxShards = 64

// evictionSample is how many entries a full shard looks at to choose a
// victim, as Redis does: cheap, and close to "soonest to expire first".
const evictionSample = 8

// cache remembers verified claims by the SHA-256 of the token. Its capacity
// is a hard bound (never more than the configured size in total), and an
// entry is served only before its token's exp, so the cache can only make
// Verify faster, never more permissive. Keying by hash also keeps bearer
// tokens themselves out of memory longer than a request.
type cache struct {
	shards []shard
}

type shard struct {
	mu      sync.RWMutex
	entries map[[32]byte]Claims
	limit   int
}

// newCache builds a cache of at most size entries. Small caches get fewer
// shards so that per-shard capacity, and with it eviction quality, holds up.
func newCache(size int) *cache {
	n := 1
	for n < maxShards && size/(2*n) >= 16 {
		n *= 2
	}
	c := &cache{shards: make([]shard, n)}
	for i := range c.shards {
		c.shards[i] = shard{entries: make(map[[32]byte]Claims), limit: size / n}
	}
	return c
}

// shardOf picks a shard from the key's first byte; SHA-256 output is uniform
// and the shard count is a power of two no larger than 256.
func (c *cache) shardOf(key [32]byte) *shard {
	return &c.shards[int(key[0])&(len(c.shards)-1)]
}

// get returns the claims cached under key if the token has not expired at
// now. An expired entry is left for put to evict; it is never returned.
func (c *cache) get(key [32]byte, now time.Time) (Claims, bool) {
	s := c.shardOf(key)
	s.mu.RLock()
	claims, ok := s.entries[key]
	s.mu.RUnlock()
	if !ok || !now.Before(claims.ExpiresAt) {
		return Claims{}, false
	}
	return claims, true
}

// put caches claims until their exp. When the shard is full it samples a few
// entries, drops those already expired, and otherwise drops the one that
// expires first, which is the least useful to keep.
func (c *cache) put(key [32]byte, claims Claims, now time.Time) {
	if !now.Before(claims.ExpiresAt) {
		return
	}
	s := c.shardOf(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.entries[key]; !ok && len(s.entries) >= s.limit {
		s.evict(now)
	}
	s.entries[key] = claims
}

// evict frees at least one slot. Map iteration order is randomised, so the
// first entries seen are a random sample.
func (s *shard) evict(now time.Time) {
	var victim [32]byte
	var victimExp time.Time
	freed, found, seen := false, false, 0
	for k, v := range s.entries {
		switch {
		case !now.Before(v.ExpiresAt):
			delete(s.entries, k)
			freed = true
		case !found || v.ExpiresAt.Before(victimExp):
			victim, victimExp, found = k, v.ExpiresAt, true
		}
		if seen++; seen == evictionSample {
			break
		}
	}
	if !freed && found {
		delete(s.entries, victim)
	}
}

// len counts the entries, for tests of the bound.
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.entries)
		s.mu.RUnlock()
	}
	return n
}
