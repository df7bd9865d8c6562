package storetest_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"handheld/services/store"
	"handheld/services/store/storetest"
)

// fatalTB stands in for a test whose helper is expected to fail: it records
// the message and stops the goroutine as t.Fatal would, but lets the real
// test go on to check the message.
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

// failure runs fn with a fatalTB and returns what it failed with, "" if it
// did not fail.
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

// closedPort returns a local port that nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}

func TestPostgresUnreachableFailsWithOneLine(t *testing.T) {
	dsn := "postgres://postgres:secret@127.0.0.1:" + closedPort(t) + "/test?sslmode=disable"
	t.Setenv("HANDHELD_TEST_DATABASE_URL", dsn)
	msg := failure(t, func(tb testing.TB) { storetest.PostgresDSN(tb) })
	u, _ := url.Parse(dsn)
	want := "PostgreSQL is not reachable at " + u.Redacted() + " (make test starts it; install Debian package postgresql)"
	if msg != want {
		t.Fatalf("failed with\n%q\nwant\n%q", msg, want)
	}
	if strings.Contains(msg, "secret") {
		t.Fatalf("message leaks the password: %q", msg)
	}
}

func TestPostgresSchemaPerTestDroppedAfter(t *testing.T) {
	var dsns []string
	for i := range 2 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			dsn := storetest.PostgresDSN(t)
			dsns = append(dsns, dsn)
			s := storetest.Open(t, dsn)
			var schema string
			if err := s.QueryRow(t.Context(), `SELECT current_schema()`).Scan(&schema); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(dsn, "search_path="+schema) {
				t.Fatalf("current_schema() = %q, not the one in %s", schema, dsn)
			}
			if _, err := s.Exec(t.Context(), `CREATE TABLE mine (id INTEGER)`); err != nil {
				t.Fatal(err)
			}
		})
	}
	if len(dsns) != 2 || dsns[0] == dsns[1] {
		t.Fatalf("two tests shared a schema: %v", dsns)
	}

	admin := storetest.Open(t, storetest.PostgresURL())
	for _, dsn := range dsns {
		u, _ := url.Parse(dsn)
		schema := u.Query().Get("search_path")
		var n int
		if err := admin.QueryRow(t.Context(), `SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("schema %s still exists after its test ended", schema)
		}
	}
}

func TestSQLiteDSNIsFresh(t *testing.T) {
	a, b := storetest.SQLiteDSN(t), storetest.SQLiteDSN(t)
	if a == b {
		t.Fatalf("two calls returned the same database %s", a)
	}
	s := storetest.Open(t, a)
	if s.Dialect() != store.SQLite {
		t.Fatalf("Dialect() = %v, want sqlite", s.Dialect())
	}
}

func TestEachRunsBothBackendsMigrated(t *testing.T) {
	seen := make(chan store.Dialect, 2)
	t.Run("each", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, s *store.Store) {
			var n int
			if err := s.QueryRow(t.Context(), `SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil {
				t.Fatalf("store is not migrated: %v", err)
			}
			seen <- s.Dialect()
		})
	})
	close(seen)
	got := map[store.Dialect]bool{}
	for d := range seen {
		got[d] = true
	}
	if !got[store.SQLite] || !got[store.Postgres] || len(got) != 2 {
		t.Fatalf("Each ran on %v, want sqlite and postgres", got)
	}
}

// TestPostgresSweepsAbandonedSchemas leaves two schemas as a killed run
// would, one long ago and one just now: the next PostgresDSN drops the old
// one only (the new one may belong to a test still running).
func TestPostgresSweepsAbandonedSchemas(t *testing.T) {
	admin := storetest.Open(t, storetest.PostgresURL())
	old := "handheld_test_1000000000_abandoned"
	recent := fmt.Sprintf("handheld_test_%d_running", time.Now().Unix())
	for _, schema := range []string{old, recent} {
		if _, err := admin.Exec(t.Context(), `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { admin.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+recent) })

	storetest.PostgresDSN(t)
	exists := func(schema string) bool {
		var n int
		if err := admin.QueryRow(t.Context(), `SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	if exists(old) {
		t.Errorf("abandoned schema %s was not swept", old)
	}
	if !exists(recent) {
		t.Errorf("recent schema %s was swept", recent)
	}
}
