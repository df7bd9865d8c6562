package ratelimit_test

import (
	"context"
	"errors"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"handheld/services"
	"handheld/services/ratelimit"
	"handheld/services/redistest"
	"handheld/services/suite"
)

var testSecret = []byte("test secret, not for production")

// redisLimiter is a limiter on the test Redis, under the test's prefix.
// redis_rate puts "rate:" in front of our key names, which redistest's
// own clean-up does not cover, so the keys under "rate:" + prefix are
// deleted here when the test ends.
func redisLimiter(t testing.TB, rdb *redis.Client, ps ...ratelimit.Policy) *ratelimit.Limiter {
	t.Helper()
	deleteRateKeys(t, rdb)
	return mustNew(t, ratelimit.Config{Redis: rdb, Prefix: redistest.Prefix(t), Secret: services.NewHashKey(testSecret, suite.Env()),
		Timeout: time.Second, Cooldown: -1}, ps...)
}

// deleteRateKeys deletes, when the test ends, the keys redis_rate wrote
// for a limiter with the test's prefix.
func deleteRateKeys(t testing.TB, rdb *redis.Client) {
	prefix := "rate:" + redistest.Prefix(t)
	t.Cleanup(func() {
		if err := redistest.DeletePrefix(context.Background(), rdb, prefix); err != nil {
			t.Errorf("delete keys %s*: %v", prefix, err)
		}
	})
}

func TestRedisLimitHolds(t *testing.T) {
	t.Parallel()
	l := redisLimiter(t, redistest.Client(t), ratelimit.Policy{Name: "withdrawal_submit_subject",
		Key: ratelimit.KeySubject, Classes: []ratelimit.Class{"withdrawal_submit"}, Rate: 5, Burst: 3, Period: time.Hour})
	r := ratelimit.Request{Class: "withdrawal_submit", Channel: "miniapp", Subject: "s-1"}
	for i := range 3 {
		d := allow(t, l, r)
		if !d.Allowed || d.Remaining != 2-i || d.Limit != 3 || d.Fallback || d.RetryAfter != 0 {
			t.Fatalf("request %d: %+v, want allowed from Redis with %d remaining of 3", i+1, d, 2-i)
		}
	}
	d := allow(t, l, r)
	// 5 an hour: one every 12 min; three spent at once: reset in 36 min.
	if d.Allowed || d.Policy != "withdrawal_submit_subject" ||
		d.RetryAfter <= 11*time.Minute || d.RetryAfter > 12*time.Minute ||
		d.ResetAfter <= 35*time.Minute || d.ResetAfter > 36*time.Minute {
		t.Fatalf("4th request: %+v, want refused, retry after ~12m, reset after ~36m", d)
	}
	// Another subject is not affected.
	if d := allow(t, l, ratelimit.Request{Class: "withdrawal_submit", Subject: "s-2"}); !d.Allowed {
		t.Fatalf("another subject: %+v, want allowed", d)
	}
}

// TestRedisTightestDecision: per-address (5), per-subject (2) and channel
// (100) policies on one request; the subject's decides, and every policy
// counts the request, refused or not.
func TestRedisTightestDecision(t *testing.T) {
	t.Parallel()
	l := redisLimiter(t, redistest.Client(t), threePolicies()...)
	req := func(subject string) ratelimit.Request {
		return ratelimit.Request{Class: "login", Channel: "miniapp", IP: "198.51.100.7", Subject: subject}
	}
	type got struct {
		Allowed   bool
		Remaining int
		Limit     int
		Policy    string
	}
	var gots []got
	for _, s := range []string{"a", "a", "a", "b", "c", "d"} {
		d := allow(t, l, req(s))
		gots = append(gots, got{d.Allowed, d.Remaining, d.Limit, d.Policy})
	}
	want := []got{
		{true, 1, 2, "login_subject"},
		{true, 0, 2, "login_subject"},
		{false, 0, 2, "login_subject"}, // refused, but the address spent its 3rd
		{true, 1, 5, "login_ip"},       // address 1 left, subject 1: the address resets later
		{true, 0, 5, "login_ip"},       // address spent
		{false, 0, 5, "login_ip"},      // a fresh subject, but the address is spent
	}
	if diff := cmp.Diff(want, gots); diff != "" {
		t.Fatalf("decisions (-want +got):\n%s", diff)
	}
}

// TestRedisSameAsLocal runs one sequence, a burst and two more, against
// Redis (redis_rate) and memory: the decisions agree but for the
// sub-millisecond drift of Redis's clock.
//
// The rates are ones whose emission interval is a multiple of 2^-24 s.
// redis_rate counts in float seconds since 2017, where now is a float64 on
// that grid (until 2034), and an interval off the grid is added rounded to
// it. For 9 a minute it rounds up, and the library reports 7 remaining
// after the first event where 8 are left (all 9 are still allowed when
// Redis's clock moves between them). Memory does the same arithmetic and
// agrees with that, but only while the test clock and Redis's fall in the
// same binade, so such rates are left out here.
func TestRedisSameAsLocal(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t)
	for _, p := range []ratelimit.Policy{
		{Name: "hourly", Key: ratelimit.KeySubject, Rate: 1, Burst: 4, Period: time.Hour},
		{Name: "per_minute", Key: ratelimit.KeySubject, Rate: 12, Burst: 12, Period: time.Minute},
		{Name: "daily", Key: ratelimit.KeySubject, Rate: 10, Burst: 5, Period: 24 * time.Hour},
		{Name: "per_second", Key: ratelimit.KeySubject, Rate: 60, Burst: 3, Period: time.Minute},
	} {
		t.Run(p.Name, func(t *testing.T) {
			remote := redisLimiter(t, rdb, p)
			clk := newClock()
			local := mustNew(t, ratelimit.Config{Now: clk.Now}, p)
			round := func(d time.Duration) time.Duration { return d.Round(time.Second) }
			for i := range p.Burst + 2 {
				r := ratelimit.Request{Subject: "s"}
				want, got := allow(t, local, r), allow(t, remote, r)
				want.ResetAfter, want.RetryAfter = round(want.ResetAfter), round(want.RetryAfter)
				got.ResetAfter, got.RetryAfter = round(got.ResetAfter), round(got.RetryAfter)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("request %d, memory vs Redis (-memory +redis):\n%s", i+1, diff)
				}
			}
		})
	}
}

func TestRedisSubjectLimitHoldsAcrossChannels(t *testing.T) {
	t.Parallel()
	l := redisLimiter(t, redistest.Client(t), ratelimit.Policy{Name: "read_subject",
		Key: ratelimit.KeySubject, Classes: []ratelimit.Class{"read"}, Rate: 3, Burst: 3, Period: time.Minute})
	for i, ch := range []string{"miniapp", "app", "kiosk", "app", "miniapp"} {
		d := allow(t, l, ratelimit.Request{Class: "read", Channel: ch, Subject: "s-1", IP: "203.0.113." + string(rune('1'+i))})
		if d.Allowed != (i < 3) {
			t.Fatalf("request %d on %s: %+v; want the 3-request budget shared across channels", i+1, ch, d)
		}
	}
}

// TestRedisKeysAreHashed lists the keys a few requests leave in Redis: the
// policy names are readable, addresses and subjects are not, and every key
// expires. redis_rate names them "rate:" + our key.
func TestRedisKeysAreHashed(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t)
	l := redisLimiter(t, rdb, threePolicies()...)
	secrets := []string{"198.51.100.77", "110101199003077777", "oAbCdEfGhIjKlMnOpQrStUvWx"}
	for _, subject := range secrets[1:] {
		if d := allow(t, l, ratelimit.Request{Class: "login", Channel: "miniapp", IP: secrets[0], Subject: subject}); d.Fallback || !d.Allowed {
			t.Fatalf("decision %+v; want one allowed by Redis", d)
		}
	}

	// Every key on the server, to the end of the cursor: one SCAN call may
	// return part of them, however large its COUNT (the server is shared
	// and may be growing its table meanwhile).
	var keys []string
	iter := rdb.Scan(t.Context(), 0, "*", 10_000).Iterator()
	for iter.Next(t.Context()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	shape := regexp.MustCompile(`^rl:(login_ip|login_subject|ceiling_miniapp):[A-Za-z0-9_-]{24}$`)
	prefix = "rate:" + prefix
	var ours []string
	for _, k := range keys {
		for _, s := range secrets {
			if strings.Contains(k, s) {
				t.Errorf("key %q holds %q in clear", k, s)
			}
		}
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			ours = append(ours, k)
			if !shape.MatchString(rest) {
				t.Errorf("key %q: want %srl:<policy>:<24 base64url characters>", k, prefix)
			}
			// go-redis: -2 already expired, -1 never. redis_rate sets
			// whole seconds: the ceiling's 20 ms become 1 s.
			if ttl := rdb.PTTL(t.Context(), k).Val(); ttl == -1 || ttl > time.Hour {
				t.Errorf("key %q: TTL %s, want it to expire within the hour", k, ttl)
			}
		}
	}
	// One address, two subjects, one channel.
	if len(ours) != 4 {
		t.Fatalf("%d keys under the prefix, want 4: %q", len(ours), ours)
	}
}

// roundTrips counts what reaches the server: commands through go-redis's
// hooks, and writes on the connection, each a round trip.
type roundTrips struct {
	single, pipelines, pipelined, writes atomic.Int64
}

func (c *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.single.Add(1)
		return next(ctx, cmd)
	}
}

func (c *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.pipelines.Add(1)
		c.pipelined.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

func (c *roundTrips) reset() {
	c.single.Store(0)
	c.pipelines.Store(0)
	c.pipelined.Store(0)
	c.writes.Store(0)
}

// countingWrites counts Write calls on a connection.
type countingWrites struct {
	net.Conn
	n *atomic.Int64
}

func (c countingWrites) Write(b []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(b)
}

// SyscallConn lets go-redis check a pooled connection before use, as it
// does a plain TCP one: without it, a connection the server closed (a
// restart) goes unnoticed until a command fails on it and is retried after
// a backoff, which can outlast the limiter's Timeout.
func (c countingWrites) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}

// countedClient connects to addr with its round trips counted.
func countedClient(t testing.TB, addr string) (*redis.Client, *roundTrips) {
	t.Helper()
	rt := &roundTrips{}
	var d net.Dialer
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 1,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingWrites{conn, &rt.writes}, nil
		}})
	t.Cleanup(func() { c.Close() })
	c.AddHook(rt)
	// Connect, and let go-redis settle its connections (it redials once
	// after the first command) before anything is counted. Pipelines and
	// single commands (redis_rate's EVAL after NOSCRIPT) have separate
	// pools in go-redis: both are settled.
	for range 2 {
		if _, err := c.Pipelined(t.Context(), func(p redis.Pipeliner) error { return p.Ping(t.Context()).Err() }); err != nil {
			t.Fatal(err)
		}
		if err := c.Ping(t.Context()).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return c, rt
}

// TestRedisOneRoundTrip: a request matching three policies costs Redis
// one pipeline of three EVALSHA, written to the socket once. On a fresh
// server (no script yet) the three answer NOSCRIPT and redis_rate sends
// each again with the script's text: three EVAL, one write each.
func TestRedisOneRoundTrip(t *testing.T) {
	t.Parallel()
	addr, _, _ := redistest.StartServer(t)
	rdb, rt := countedClient(t, addr)
	l := redisLimiter(t, rdb, threePolicies()...)
	req := ratelimit.Request{Class: "login", Channel: "miniapp", IP: "198.51.100.7", Subject: "a"}

	rt.reset()
	if d := allow(t, l, req); !d.Allowed || d.Fallback {
		t.Fatalf("first request: %+v", d)
	}
	got := [4]int64{rt.single.Load(), rt.pipelines.Load(), rt.pipelined.Load(), rt.writes.Load()}
	if got != [4]int64{3, 1, 3, 4} {
		t.Fatalf("first request on a fresh server: %d commands, %d pipelines of %d commands, %d writes; "+
			"want 3, 1 of 3, 4 (EVALSHA answered NOSCRIPT, then EVAL for each)", got[0], got[1], got[2], got[3])
	}
	for i := range 3 {
		rt.reset()
		if d := allow(t, l, req); d.Fallback {
			t.Fatalf("request %d: %+v", i+2, d)
		}
		got := [4]int64{rt.single.Load(), rt.pipelines.Load(), rt.pipelined.Load(), rt.writes.Load()}
		if got != [4]int64{0, 1, 3, 1} {
			t.Fatalf("request %d: %d commands, %d pipelines of %d commands, %d writes; want 0, 1 of 3, 1",
				i+2, got[0], got[1], got[2], got[3])
		}
	}
}

// TestRedisScriptFlush empties Redis's script cache before every request,
// as a restart does: each request's pipelined EVALSHAs all answer NOSCRIPT,
// redis_rate sends each again as EVAL, and every policy still counts the
// request once, not twice (the decisions are TestRedisTightestDecision's).
func TestRedisScriptFlush(t *testing.T) {
	t.Parallel()
	addr, _, _ := redistest.StartServer(t)
	rdb, rt := countedClient(t, addr)
	l := redisLimiter(t, rdb, threePolicies()...)
	type got struct {
		Allowed   bool
		Remaining int
		Policy    string
		Commands  [4]int64 // single commands, pipelines, pipelined commands, writes
	}
	var gots []got
	for _, s := range []string{"a", "a", "a", "b", "c", "d"} {
		if err := rdb.ScriptFlush(t.Context()).Err(); err != nil {
			t.Fatal(err)
		}
		rt.reset()
		d := allow(t, l, ratelimit.Request{Class: "login", Channel: "miniapp", IP: "198.51.100.7", Subject: s})
		if d.Fallback {
			t.Fatalf("subject %s: %+v, want a decision from Redis", s, d)
		}
		gots = append(gots, got{d.Allowed, d.Remaining, d.Policy,
			[4]int64{rt.single.Load(), rt.pipelines.Load(), rt.pipelined.Load(), rt.writes.Load()}})
	}
	sent := [4]int64{3, 1, 3, 4} // 3 EVALSHA in one pipeline, then 3 EVAL
	want := []got{
		{true, 1, "login_subject", sent},
		{true, 0, "login_subject", sent},
		{false, 0, "login_subject", sent},
		{true, 1, "login_ip", sent},
		{true, 0, "login_ip", sent},
		{false, 0, "login_ip", sent},
	}
	if diff := cmp.Diff(want, gots); diff != "" {
		t.Fatalf("decisions after SCRIPT FLUSH (-want +got):\n%s", diff)
	}
}
