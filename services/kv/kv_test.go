package kv_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/kv"
	"handheld/services/redistest"
	"handheld/services/suite"
)

var secret = []byte("kv-test-secret-0123456789abcdef!")

// eachBackend runs a contract test against Memory and real Redis. wait lets
// TTLs pass: a fake clock for Memory, real time for Redis.
func eachBackend(t *testing.T, test func(t *testing.T, s kv.Store, wait func(time.Duration))) {
	t.Run("memory", func(t *testing.T) {
		var mu sync.Mutex
		now := time.Unix(1_800_000_000, 0)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		wait := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		test(t, kv.NewMemory(clock, services.NewHashKey(secret, suite.Env())), wait)
	})
	t.Run("redis", func(t *testing.T) {
		c := redistest.Client(t)
		test(t, kv.NewRedis(c, redistest.Prefix(t), services.NewHashKey(secret, suite.Env()), time.Second), time.Sleep)
	})
}

func TestSingleUseAndNX(t *testing.T) {
	eachBackend(t, func(t *testing.T, s kv.Store, wait func(time.Duration)) {
		ctx := context.Background()
		ok, err := s.SetNX(ctx, "nonce:abc", []byte("1"), time.Minute)
		if err != nil || !ok {
			t.Fatalf("first SetNX %v %v", ok, err)
		}
		if ok, _ := s.SetNX(ctx, "nonce:abc", []byte("2"), time.Minute); ok {
			t.Fatal("second SetNX succeeded")
		}
		if err := s.Set(ctx, "binding:tok", []byte("openid-hash"), time.Minute); err != nil {
			t.Fatal(err)
		}
		v, ok, err := s.GetDel(ctx, "binding:tok")
		if err != nil || !ok || string(v) != "openid-hash" {
			t.Fatalf("GetDel %q %v %v", v, ok, err)
		}
		if _, ok, _ := s.GetDel(ctx, "binding:tok"); ok {
			t.Fatal("single-use value read twice")
		}
	})
}

// Only waits that may run long: a loaded machine sleeps longer than
// asked, which must never turn a pass into a failure.
func TestExpiryTouchIncr(t *testing.T) {
	eachBackend(t, func(t *testing.T, s kv.Store, wait func(time.Duration)) {
		ctx := context.Background()
		_ = s.Set(ctx, "idle:s1", []byte("1"), 10*time.Second)
		if ok, err := s.Touch(ctx, "idle:s1", time.Minute); !ok || err != nil {
			t.Fatalf("touch live key: %v %v", ok, err)
		}
		if d, _ := s.TTL(ctx, "idle:s1"); d <= 10*time.Second {
			t.Fatalf("touched key's TTL %v: not extended", d)
		}
		_ = s.Set(ctx, "idle:s2", []byte("1"), 150*time.Millisecond)
		wait(400 * time.Millisecond)
		if _, ok, _ := s.Get(ctx, "idle:s2"); ok {
			t.Fatal("key outlived its TTL")
		}
		if ok, _ := s.Touch(ctx, "idle:s2", time.Minute); ok {
			t.Fatal("touch revived an expired key")
		}
		for i := int64(1); i <= 3; i++ {
			n, err := s.Incr(ctx, "fail:op", time.Second)
			if err != nil || n != i {
				t.Fatalf("incr %d: %d %v", i, n, err)
			}
		}
		if d, _ := s.TTL(ctx, "fail:op"); d <= 0 || d > time.Second {
			t.Fatalf("counter TTL %v (a later Incr must not extend it)", d)
		}
		wait(1200 * time.Millisecond)
		if n, _ := s.Incr(ctx, "fail:op", time.Minute); n != 1 {
			t.Fatalf("counter after expiry %d", n)
		}
		_ = s.Del(ctx, "fail:op")
		if d, _ := s.TTL(ctx, "fail:op"); d != 0 {
			t.Fatalf("TTL of deleted key %v", d)
		}
	})
}

// Keys in Redis are hashed: the caller's key, which may hold a session id
// or an openid, never appears.
func TestRedisKeysAreHashed(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t)
	s := kv.NewRedis(c, prefix, services.NewHashKey(secret, suite.Env()), time.Second)
	ctx := context.Background()
	_ = s.Set(ctx, "wechat:oAbCdEfOpenID123", []byte("x"), time.Minute)
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %v %v", keys, err)
	}
	if strings.Contains(keys[0], "oAbCdEfOpenID123") || !strings.HasPrefix(keys[0], prefix+"wechat:") {
		t.Fatalf("key %q", keys[0])
	}
}

// CompareAndSwap moves a value from one state to the next once: of many
// racing swaps from the same old value exactly one wins, the TTL is kept,
// and a missing or changed value is never swapped.
func TestCompareAndSwap(t *testing.T) {
	eachBackend(t, func(t *testing.T, s kv.Store, wait func(time.Duration)) {
		ctx := context.Background()
		if ok, err := s.CompareAndSwap(ctx, "code:absent", []byte("a"), []byte("b")); ok || err != nil {
			t.Fatalf("swap of an absent key: %v %v", ok, err)
		}
		if _, ok, _ := s.Get(ctx, "code:absent"); ok {
			t.Fatal("swap created a key")
		}
		_ = s.Set(ctx, "code:x", []byte("pending"), 300*time.Millisecond)
		if ok, _ := s.CompareAndSwap(ctx, "code:x", []byte("other"), []byte("confirmed")); ok {
			t.Fatal("swapped a value that did not match")
		}
		const racers = 16
		var wins atomic.Int64
		var wg sync.WaitGroup
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.CompareAndSwap(ctx, "code:x", []byte("pending"), []byte("confirmed-"+strconv.Itoa(i)))
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("%d swaps won, want exactly 1", n)
		}
		v, ok, _ := s.Get(ctx, "code:x")
		if !ok || !strings.HasPrefix(string(v), "confirmed-") {
			t.Fatalf("value after the race %q %v", v, ok)
		}
		if d, _ := s.TTL(ctx, "code:x"); d <= 0 || d > 300*time.Millisecond {
			t.Fatalf("TTL after swap %v (must be kept)", d)
		}
		wait(400 * time.Millisecond)
		if ok, _ := s.CompareAndSwap(ctx, "code:x", v, []byte("late")); ok {
			t.Fatal("swapped an expired key")
		}
		if _, ok, _ := s.Get(ctx, "code:x"); ok {
			t.Fatal("expired key revived")
		}
	})
}
