// Package redistest gives tests a real Redis: the shared test server, with a
// key prefix per test so that tests can run side by side on it, or a private
// server of their own for tests that stop and restart Redis.
//
// A server that cannot be reached fails the test, never skips it: a green
// run must mean that the Redis code was exercised.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is the test server used when HANDHELD_TEST_REDIS_URL is unset:
// the one .ci/services starts.
const DefaultURL = "redis://127.0.0.1:6379/0"

// URL is the server the tests use: HANDHELD_TEST_REDIS_URL, or DefaultURL.
func URL() string {
	if u := os.Getenv("HANDHELD_TEST_REDIS_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Client connects to the test server and checks that it answers. When the
// test ends, every key under Prefix(t) is deleted, whichever client wrote
// it, and the client is closed. The test fails, with one line naming the
// Debian package, when the server cannot be reached.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	raw := URL()
	opts, err := redis.ParseURL(raw)
	if err != nil {
		t.Fatalf("HANDHELD_TEST_REDIS_URL %s: %v", redacted(raw), err)
	}
	opts.DialTimeout = 2 * time.Second
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		t.Fatal(unreachable(raw, err))
	}
	prefix := Prefix(t)
	t.Cleanup(func() {
		if err := DeletePrefix(context.Background(), client, prefix); err != nil {
			t.Errorf("redistest: delete keys %s*: %v", prefix, err)
		}
		client.Close()
	})
	return client
}

// Prefix is the key prefix that isolates the test's keys from every other
// test's on the shared server. It is the same for every call in one test
// (so helpers can call it themselves) and differs between tests, subtests
// and test processes: it holds the process id and the test's name, with '%'
// and ':' escaped so that no test's prefix begins another's.
func Prefix(t testing.TB) string {
	name := strings.NewReplacer("%", "%25", ":", "%3A").Replace(t.Name())
	return fmt.Sprintf("handheld-test:%d:%s:", os.Getpid(), name)
}

// DeletePrefix deletes every key that starts with prefix, taken literally
// (glob characters in it match only themselves). It scans rather than
// flushes: the server is shared with other tests and processes.
func DeletePrefix(ctx context.Context, client *redis.Client, prefix string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var cursor uint64
	for {
		keys, next, err := client.Scan(ctx, cursor, escapeGlob(prefix)+"*", 500).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := client.Unlink(ctx, keys...).Err(); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

func escapeGlob(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
}

// unreachable is the one line a test fails with when it cannot use the
// server: it names what to do, since the usual cause on a fresh machine is
// that Redis is not installed or not started.
func unreachable(raw string, err error) string {
	var netErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &netErr) || errors.As(err, &dnsErr) || errors.Is(err, context.DeadlineExceeded) {
		return "Redis is not reachable at " + redacted(raw) + " (make test starts it; install Debian package redis-server)"
	}
	// It answered, but not as we hoped: a password, a protected mode.
	return "Redis at " + redacted(raw) + " refused the test connection: " + strings.ReplaceAll(err.Error(), "\n", " ")
}

func redacted(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}
