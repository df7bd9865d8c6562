package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
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

// gatedPipelines holds the first few pipelines of scripts until the gate
// opens, and counts pipelines and the commands they carried.
type gatedPipelines struct {
	held      int64
	gate      chan struct{}
	pipelines atomic.Int64
	commands  atomic.Int64
	last      atomic.Int64 // commands in the latest pipeline
}

func (g *gatedPipelines) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (g *gatedPipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (g *gatedPipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) == 0 || cmds[0].Name() != "evalsha" { // a new connection's handshake
			return next(ctx, cmds)
		}
		if g.pipelines.Add(1) <= g.held {
			<-g.gate
		}
		g.commands.Add(int64(len(cmds)))
		g.last.Store(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// forgetKeys deletes the test's counters when it ends.
func forgetKeys(t *testing.T, rdb *redis.Client) {
	prefix := redisRatePrefix + redistest.Prefix(t)
	t.Cleanup(func() {
		if err := redistest.DeletePrefix(context.Background(), rdb, prefix); err != nil {
			t.Errorf("delete keys %s*: %v", prefix, err)
		}
	})
}

// roomy is a limit nothing in these tests reaches.
var roomy = limit{rate: 1000, burst: 1000, period: time.Second}

// TestPipeCarriesWaitingRequestsTogether: while the most rounds allowed are
// out, further requests wait; when one round comes back, every waiting
// request leaves in one more pipeline, in which the events on one key
// (their channel's ceiling) are one script. Each request reads its own
// results: the ceiling's remaining counts down through them in the order
// they came.
func TestPipeCarriesWaitingRequestsTogether(t *testing.T) {
	rdb := redistest.Client(t)
	forgetKeys(t, rdb)
	g := &gatedPipelines{held: roundsOut, gate: make(chan struct{})}
	rdb.AddHook(g)
	p := newPipe(rdb, time.Minute)
	prefix := redistest.Prefix(t)
	ceiling := prefix + "ceiling"

	state := func() (sending, queued int) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.sending, len(p.queue)
	}
	ask := func(keys ...string) *want {
		w := &want{ctx: t.Context(), keys: keys, lims: []limit{roomy, roomy}[:len(keys)], rs: make([]result, len(keys)), done: make(chan struct{})}
		p.submit(w)
		return w
	}
	for i := range roundsOut {
		ask(prefix+"alone"+fmt.Sprint(i), prefix+"own"+fmt.Sprint(i))
		for s, _ := state(); s < i+1; s, _ = state() {
			time.Sleep(time.Millisecond)
		}
	}
	const waiting = 20
	var ws []*want
	for i := range waiting {
		ws = append(ws, ask(ceiling, prefix+"person"+fmt.Sprint(i)))
		for _, q := state(); q < i+1; _, q = state() { // one by one: the queue keeps their order
			time.Sleep(time.Millisecond)
		}
	}
	close(g.gate)
	for _, w := range ws {
		<-w.done
	}

	if n, c, last := g.pipelines.Load(), g.commands.Load(), g.last.Load(); n != roundsOut+1 || last != waiting+1 || c != 2*roundsOut+waiting+1 {
		t.Fatalf("%d pipelines of %d commands, the last of %d; want %d, %d, and the waiting requests' %d events on %d keys in one",
			n, c, last, roundsOut+1, 2*roundsOut+waiting+1, 2*waiting, waiting+1)
	}
	for i, w := range ws {
		if w.err != nil {
			t.Fatalf("request %d: %v", i, w.err)
		}
		if want := roomy.burst - 1 - i; !w.rs[0].allowed || w.rs[0].remaining != want {
			t.Errorf("request %d on the ceiling: %+v, want allowed with %d remaining", i, w.rs[0], want)
		}
		if want := roomy.burst - 1; !w.rs[1].allowed || w.rs[1].remaining != want {
			t.Errorf("request %d on its own key: %+v, want allowed with %d remaining", i, w.rs[1], want)
		}
	}
	for s, q := state(); s != 0 || q != 0; s, q = state() { // the round leaves just after its replies
		time.Sleep(time.Millisecond)
	}
}

// TestRoundRefusesBeyondTheBurstInOrder: five requests on a key with a
// burst of three, in one round: the three first go on and the two last are
// refused, as if they had come one after another, and Redis holds what
// three events leave (a sixth is refused too).
func TestRoundRefusesBeyondTheBurstInOrder(t *testing.T) {
	rdb := redistest.Client(t)
	forgetKeys(t, rdb)
	key := redistest.Prefix(t) + "tight"
	tight := limit{rate: 3, burst: 3, period: time.Hour}
	var q []*want
	for range 5 {
		q = append(q, &want{ctx: t.Context(), keys: []string{key}, lims: []limit{tight}, rs: make([]result, 1), done: make(chan struct{})})
	}
	count(rdb, q, time.Minute)
	var got []string
	for _, w := range q {
		<-w.done
		if w.err != nil {
			t.Fatal(w.err)
		}
		r := w.rs[0]
		got = append(got, fmt.Sprintf("%v/%d/%v", r.allowed, r.remaining, r.retryAfter > 19*time.Minute && r.retryAfter <= 20*time.Minute))
	}
	if wanted := []string{"true/2/false", "true/1/false", "true/0/false", "false/0/true", "false/0/true"}; fmt.Sprint(got) != fmt.Sprint(wanted) {
		t.Fatalf("allowed/remaining/retry in about 20 min: %v, want %v", got, wanted)
	}
	sixth := &want{ctx: t.Context(), keys: []string{key}, lims: []limit{tight}, rs: make([]result, 1), done: make(chan struct{})}
	count(rdb, []*want{sixth}, time.Minute)
	if <-sixth.done; sixth.rs[0].allowed {
		t.Fatalf("a sixth event after the round: %+v, want refused", sixth.rs[0])
	}
}

// TestRoundSkipsRequestsNoLongerWaiting: a request whose caller stopped
// waiting before its round left (decided in memory meanwhile) is not
// counted in Redis as well.
func TestRoundSkipsRequestsNoLongerWaiting(t *testing.T) {
	rdb := redistest.Client(t)
	forgetKeys(t, rdb)
	key := redistest.Prefix(t) + "gone"
	lim := limit{rate: 10, burst: 10, period: time.Hour}
	mk := func() *want {
		return &want{ctx: t.Context(), keys: []string{key}, lims: []limit{lim}, rs: make([]result, 1), done: make(chan struct{})}
	}
	gone, live := mk(), mk()
	gone.gone.Store(true)
	count(rdb, []*want{gone, live}, time.Minute)
	<-live.done
	if r := live.rs[0]; live.err != nil || !r.allowed || r.remaining != lim.burst-1 {
		t.Fatalf("the waiting request: %+v, %v; want allowed with %d remaining (the other one not counted)", r, live.err, lim.burst-1)
	}
	alone := mk()
	alone.gone.Store(true)
	count(rdb, []*want{alone}, time.Minute)
	if n, err := rdb.Exists(t.Context(), redisRatePrefix+key).Result(); err != nil || n != 1 {
		t.Fatalf("key exists %d, %v", n, err)
	}
	next := mk()
	count(rdb, []*want{next}, time.Minute)
	if r := next.rs[0]; !r.allowed || r.remaining != lim.burst-2 {
		t.Fatalf("after a round of only a gone request: %+v, want %d remaining (it was not counted)", r, lim.burst-2)
	}
}
