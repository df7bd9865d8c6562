package redistest_test

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"handheld/services/redistest"
)

// fatalTB stands in for a test whose helper is expected to fail: it records
// the message and stops the goroutine as t.Fatal would.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatal(args ...any) { f.msg = fmt.Sprint(args...); runtime.Goexit() }

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func failure(t *testing.T, fn func(tb testing.TB)) string {
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(tb)
	}()
	<-done
	return tb.msg
}

func TestClientReadsAndWrites(t *testing.T) {
	t.Parallel()
	c := redistest.Client(t)
	key := redistest.Prefix(t) + "greeting"
	if err := c.Set(t.Context(), key, "你好", time.Minute).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got, err := c.Get(t.Context(), key).Result(); err != nil || got != "你好" {
		t.Fatalf("GET = %q, %v; want 你好", got, err)
	}
}

func TestPrefixStablePerTestDistinctAcross(t *testing.T) {
	t.Parallel()
	p := redistest.Prefix(t)
	if p != redistest.Prefix(t) {
		t.Fatal("two calls in one test gave different prefixes")
	}
	prefixes := []string{p}
	for _, name := range []string{"a", "a*", "a?", "a_", "b c", "a:b", "a%3Ab", "a/b"} {
		t.Run(name, func(t *testing.T) { prefixes = append(prefixes, redistest.Prefix(t)) })
	}
	// No prefix may begin another: the shorter one's cleanup would delete
	// the other test's keys.
	for i, a := range prefixes {
		for j, b := range prefixes {
			if i != j && strings.HasPrefix(b, a) {
				t.Errorf("prefix %q begins %q", a, b)
			}
		}
	}
}

// TestCleanupDeletesOnlyPrefixedKeys writes keys from a subtest whose name
// holds glob characters, beside keys of a sibling that such a pattern would
// match unescaped: only the subtest's own go at its end.
func TestCleanupDeletesOnlyPrefixedKeys(t *testing.T) {
	t.Parallel()
	c := redistest.Client(t)
	var inside, kept []string
	write := func(t *testing.T, keys *[]string) {
		for i := range 3 {
			key := redistest.Prefix(t) + fmt.Sprint(i)
			*keys = append(*keys, key)
			if err := c.Set(t.Context(), key, "v", time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	kept = append(kept, redistest.Prefix(t)+"parent")
	if err := c.Set(t.Context(), kept[0], "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	t.Run("sibling-xy", func(t *testing.T) { write(t, &kept) }) // no Client: no cleanup
	t.Run("sibling-x*", func(t *testing.T) {
		redistest.Client(t)
		write(t, &inside)
	})
	if n, err := c.Exists(t.Context(), inside...).Result(); err != nil || n != 0 {
		t.Fatalf("after the subtest, %d of its keys remain (err %v), want 0", n, err)
	}
	if n, err := c.Exists(t.Context(), kept...).Result(); err != nil || n != int64(len(kept)) {
		t.Fatalf("keys outside the subtest's prefix were deleted: %d of %d remain (err %v)", n, len(kept), err)
	}
	if err := redistest.DeletePrefix(t.Context(), c, redistest.Prefix(t)); err != nil {
		t.Fatal(err)
	}
}

func TestDeletePrefixScansPastOneBatch(t *testing.T) {
	t.Parallel()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t) + "many:"
	pipe := c.Pipeline()
	for i := range 1200 {
		pipe.Set(t.Context(), prefix+fmt.Sprint(i), "v", time.Minute)
	}
	if _, err := pipe.Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := redistest.DeletePrefix(t.Context(), c, prefix); err != nil {
		t.Fatalf("DeletePrefix: %v", err)
	}
	// To the end of the cursor: one SCAN call may see part of a shared server.
	var left int
	iter := c.Scan(t.Context(), 0, prefix+"*", 10000).Iterator()
	for iter.Next(t.Context()) {
		left++
	}
	if err := iter.Err(); err != nil || left != 0 {
		t.Fatalf("%d keys left (err %v), want 0", left, err)
	}
}

func TestClientUnreachableFailsWithOneLine(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	t.Setenv("HANDHELD_TEST_REDIS_URL", "redis://:secret@"+addr+"/0")
	msg := failure(t, func(tb testing.TB) { redistest.Client(tb) })
	want := "Redis is not reachable at redis://:xxxxx@" + addr + "/0 (make test starts it; install Debian package redis-server)"
	if msg != want {
		t.Fatalf("failed with\n%q\nwant\n%q", msg, want)
	}
}

func TestStartServerStopsAndStarts(t *testing.T) {
	t.Parallel()
	addr, stop, start := redistest.StartServer(t)
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.Ping(ctx).Err()
	}
	if err := ping(); err != nil {
		t.Fatalf("PING a started server: %v", err)
	}
	if err := c.Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	stop()
	stop() // no-op
	if err := ping(); err == nil {
		t.Fatal("PING succeeded after stop")
	}

	start()
	start() // no-op
	if err := ping(); err != nil {
		t.Fatalf("PING after start: %v", err)
	}
	if n, err := c.Exists(t.Context(), "k").Result(); err != nil || n != 0 {
		t.Fatalf("key survived a restart (exists %d, err %v): the server keeps data on disk", n, err)
	}
}

func TestStartServerWithoutBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	msg := failure(t, func(tb testing.TB) { redistest.StartServer(tb) })
	if want := "redis-server is not installed (install Debian package redis-server)"; msg != want {
		t.Fatalf("failed with %q, want %q", msg, want)
	}
}
