package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresURL is the test server used when HANDHELD_TEST_DATABASE_URL
// is unset: the one .ci/services starts, with trust authentication.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL is the server the tests use: HANDHELD_TEST_DATABASE_URL, or
// DefaultPostgresURL.
func PostgresURL() string {
	if u := os.Getenv("HANDHELD_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// PostgresDSN creates a schema of its own for the test and returns a DSN
// whose search_path selects it, so that everything the test creates, the
// migrations included, lands there. The schema is dropped, with all it
// holds, when the test ends; close the stores using it before then (Open and
// Migrated do, as their cleanups run first).
//
// The test fails, with one line naming the Debian package, when the server
// cannot be reached.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := PostgresURL()
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("HANDHELD_TEST_DATABASE_URL must be a postgres:// URL, got %q", redacted(base))
	}
	// The creation time lets a later run sweep schemas that a killed run
	// left behind. rand.Text is base32 (A-Z, 2-7): lowered, the name is a
	// valid unquoted identifier that search_path names exactly.
	schema := fmt.Sprintf("%s%d_%s", schemaPrefix, time.Now().Unix(), strings.ToLower(rand.Text()[:16]))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := connect(ctx, base)
	if err != nil {
		t.Fatal(unreachable(base, err))
	}
	defer admin.Close(context.Background())
	sweepStaleSchemas(ctx, admin)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("storetest: create schema %s: %v", schema, err)
	}
	t.Cleanup(func() { dropSchema(t, base, schema) })

	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown parameters as run-time settings
	u.RawQuery = q.Encode()
	return u.String()
}

func dropSchema(t testing.TB, base, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := connect(ctx, base)
	if err != nil {
		t.Errorf("storetest: drop schema %s: %v", schema, err)
		return
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
		t.Errorf("storetest: drop schema %s: %v", schema, err)
	}
}

// schemaPrefix starts the name of every schema PostgresDSN creates; the
// creation time in unix seconds follows it.
const schemaPrefix = "handheld_test_"

// staleAfter is when a test schema is surely abandoned: far beyond any test
// run's timeout.
const staleAfter = 6 * time.Hour

// sweepStaleSchemas drops test schemas whose test process died before its
// cleanup ran (a timeout, a crash). Best effort: another process may be
// sweeping the same ones.
func sweepStaleSchemas(ctx context.Context, admin *pgx.Conn) {
	rows, err := admin.Query(ctx, `SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)`, schemaPrefix)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, name := range names {
		created, _, _ := strings.Cut(strings.TrimPrefix(name, schemaPrefix), "_")
		sec, err := strconv.ParseInt(created, 10, 64)
		if err != nil || time.Since(time.Unix(sec, 0)) < staleAfter {
			continue
		}
		_, _ = admin.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`)
	}
}

// connect opens one connection with a short connect timeout, so that a
// server that is down fails the test in seconds, not minutes.
func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > 5*time.Second {
		cfg.ConnectTimeout = 5 * time.Second
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// unreachable is the one line a test fails with when it cannot use the
// server: it names what to do, since the usual cause on a fresh machine is
// that PostgreSQL is not installed or not started.
func unreachable(dsn string, err error) string {
	var netErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &netErr) || errors.As(err, &dnsErr) || errors.Is(err, context.DeadlineExceeded) {
		return "PostgreSQL is not reachable at " + redacted(dsn) + " (make test starts it; install Debian package postgresql)"
	}
	// The server answered but refused us: a missing database or role, or
	// an authentication method other than trust.
	return "PostgreSQL at " + redacted(dsn) + " refused the test connection (.ci/services creates database test): " +
		strings.ReplaceAll(err.Error(), "\n", " ")
}

func redacted(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}
