package token

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/keys"
	"handheld/services/suite"
)

var t0 = time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)

func key(i int) [32]byte { return sha256.Sum256(fmt.Appendf(nil, "token-%d", i)) }

func TestCacheNeverServesExpired(t *testing.T) {
	c := newCache(10)
	exp := t0.Add(time.Minute)
	c.put(key(1), Claims{Subject: "s", ExpiresAt: exp}, t0)
	if _, ok := c.get(key(1), exp.Add(-time.Nanosecond)); !ok {
		t.Error("miss just before exp")
	}
	if _, ok := c.get(key(1), exp); ok {
		t.Error("hit at exp")
	}
	c.put(key(2), Claims{Subject: "s", ExpiresAt: exp}, exp)
	if n := c.len(); n != 1 {
		t.Errorf("putting an already expired entry stored it: %d entries", n)
	}
}

func TestCacheIsBounded(t *testing.T) {
	for _, size := range []int{1, 10, 100, 1000, 100_000} {
		c := newCache(size)
		for i := range 3 * size {
			c.put(key(i), Claims{ExpiresAt: t0.Add(time.Duration(i) * time.Second)}, t0)
		}
		if n := c.len(); n > size || n < size*9/10 {
			t.Errorf("cache of size %d holds %d entries after %d puts; want at most %d and close to it", size, n, 3*size, size)
		}
	}
}

func TestCacheEvictsExpiredFirst(t *testing.T) {
	c := newCache(evictionSample) // one shard, and the sample covers it
	for i := range evictionSample - 1 {
		c.put(key(i), Claims{ExpiresAt: t0.Add(time.Minute)}, t0)
	}
	keep := key(99)
	c.put(keep, Claims{ExpiresAt: t0.Add(time.Hour)}, t0)
	later := t0.Add(2 * time.Minute)
	c.put(key(100), Claims{ExpiresAt: t0.Add(time.Hour)}, later)
	if _, ok := c.get(keep, later); !ok {
		t.Error("eviction dropped a live entry while expired ones were there")
	}
	if n := c.len(); n != 2 {
		t.Errorf("after eviction %d entries, want the 2 live ones", n)
	}
}

// TestVerifyUsesTheCacheUntilExp proves hits skip the signature check (the
// ring is swapped for one without the key, which only a hit survives) and
// that the cache stops answering at exp.
func TestVerifyUsesTheCacheUntilExp(t *testing.T) {
	now := t0
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ring, err := keys.Ensure(filepath.Join(t.TempDir(), "a"), t0, suite.Env())
	if err != nil {
		t.Fatal(err)
	}
	tk, err := New(Config{Issuer: "i", Audience: "a", TTL: time.Minute, Now: clock, CacheSize: 10}, ring)
	if err != nil {
		t.Fatal(err)
	}
	tok, exp, err := tk.Mint(Claims{Subject: "s", Channel: services.ChannelApp, Role: services.RoleVerifier, Session: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Verify(tok); err != nil {
		t.Fatal(err)
	}
	if tk.ring, err = keys.Ensure(filepath.Join(t.TempDir(), "b"), t0, suite.Env()); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.VerifyNoCache(tok); services.ErrorCode(err) != services.CodeTokenInvalid {
		t.Fatalf("VerifyNoCache with the key gone = %v; the test cannot tell hits from misses", err)
	}
	mu.Lock()
	now = exp.Add(-time.Second)
	mu.Unlock()
	if _, err := tk.Verify(tok); err != nil {
		t.Errorf("Verify before exp did not come from the cache: %v", err)
	}
	mu.Lock()
	now = exp
	mu.Unlock()
	if _, err := tk.Verify(tok); err == nil {
		t.Error("Verify at exp was served from the cache")
	}
}

func TestVerifyConcurrently(t *testing.T) {
	ring, err := keys.Ensure(filepath.Join(t.TempDir(), "k"), t0, suite.Env())
	if err != nil {
		t.Fatal(err)
	}
	tk, err := New(Config{Issuer: "i", Audience: "a", TTL: time.Minute, CacheSize: 64}, ring)
	if err != nil {
		t.Fatal(err)
	}
	toks := make([]string, 100)
	for i := range toks {
		if toks[i], _, err = tk.Mint(Claims{Subject: fmt.Sprint("s", i), Channel: services.ChannelApp, Role: services.RoleVerifier, Session: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				tok := toks[(g*31+i)%len(toks)]
				if c, err := tk.Verify(tok); err != nil || c.Subject == "" {
					t.Errorf("Verify: %+v, %v", c, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := tk.cache.len(); n > 64 {
		t.Errorf("cache grew to %d entries, bound 64", n)
	}
}
