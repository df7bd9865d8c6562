package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"handheld/services/redistest"
)

func TestAddressKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{" 203.0.113.7 ", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"", "unknown"},
		{"   ", "unknown"},
		{"not an address", "not an address"},
		{"203.0.113.7:443", "203.0.113.7:443"},
	}
	for _, tt := range tests {
		if got := AddressKey(tt.in); got != tt.want {
			t.Errorf("AddressKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestLocalMemoryIsBounded floods the in-process limiter with distinct
// addresses: it never holds more than its cap.
func TestLocalMemoryIsBounded(t *testing.T) {
	l, _ := floodable(t, 320)
	allowAll(t, l, 0, 10_000)
	if n := l.mem.len(); n > 320 || n < 300 {
		t.Fatalf("after 10 000 addresses the limiter holds %d keys, want at most the cap of 320 (and near it)", n)
	}
}

// TestLocalSweepsIdleKeys: keys back at a full burst are dropped.
func TestLocalSweepsIdleKeys(t *testing.T) {
	l, advance := floodable(t, 100_000)
	allowAll(t, l, 0, 1000)
	if n := l.mem.len(); n != 1000 {
		t.Fatalf("holds %d keys, want 1000", n)
	}
	// One event a second, one request each: back to a full burst after a
	// second; each shard is swept every 10 s, when next used.
	advance(11 * time.Second)
	allowAll(t, l, 20_000, 21_000)
	if n := l.mem.len(); n != 1000 {
		t.Fatalf("after the sweep the limiter holds %d keys, want the 1000 new ones", n)
	}
}

func floodable(t *testing.T, maxKeys int) (*Limiter, func(time.Duration)) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	l, err := New(Config{Now: clock, MaxLocalKeys: maxKeys},
		[]Policy{{Name: "p", Key: KeyIP, Rate: 60, Burst: 10, Period: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	return l, advance
}

func allowAll(t *testing.T, l *Limiter, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		d, err := l.Allow(t.Context(), Request{IP: fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255)})
		if err != nil || !d.Allowed {
			t.Fatalf("address %d: %+v, %v; want allowed (a fresh key)", i, d, err)
		}
	}
}

// TestBatchWaiterGivesUp: a call waiting for the rest of its batch returns
// its context's error when the context ends; the call that completes the
// batch still sends every recorded command and gets its own reply.
func TestBatchWaiterGivesUp(t *testing.T) {
	rdb := redistest.Client(t)
	keys := []string{redistest.Prefix(t) + "k"}
	unknown := strings.Repeat("0", 40) // no script has this SHA-1
	b := newBatch(rdb, 2)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.EvalSha(ctx, unknown, keys).Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiter with an ended context: %v, want context.Canceled", err)
	}
	if err := b.EvalSha(t.Context(), unknown, keys).Err(); !redis.HasErrorPrefix(err, "NOSCRIPT") {
		t.Fatalf("last call: %v, want Redis's NOSCRIPT", err)
	}
	// Beyond the expected calls, straight to Redis.
	if err := b.EvalSha(t.Context(), unknown, keys).Err(); !redis.HasErrorPrefix(err, "NOSCRIPT") {
		t.Fatalf("extra call: %v, want Redis's NOSCRIPT", err)
	}
}

// TestLocalRoundsAsRedisRate: memory does redis_rate's float arithmetic,
// rounding included. At 9 a minute the interval (60/9 s) is not on the
// grid of now's float64 and is added rounded up, so the first event leaves
// 7 reported of 8 remaining, and on a clock that does not move the 9th
// event of the burst is refused, as redis_rate would within one
// microsecond. At 12 a minute (5 s) everything is exact.
func TestLocalRoundsAsRedisRate(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		rate          int
		first, bursts int
	}{{9, 7, 8}, {12, 11, 12}} {
		l := newLocal(10, time.Hour)
		lim := limit{rate: tt.rate, burst: tt.rate, period: time.Minute}
		first, n := -1, 0
		for range tt.rate + 1 {
			r := l.allow("k", lim, now)
			if first < 0 {
				first = r.remaining
			}
			if r.allowed {
				n++
			}
		}
		if first != tt.first || n != tt.bursts {
			t.Errorf("%d a minute: %d remaining after the first, %d allowed at once; want %d and %d",
				tt.rate, first, n, tt.first, tt.bursts)
		}
	}
}
