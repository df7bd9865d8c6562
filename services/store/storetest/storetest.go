// Package storetest runs tests against both of the store's backends, SQLite
// and PostgreSQL, so that every package that keeps records proves its SQL on
// the database it is developed with and on the one it runs on in production.
//
// SQLite needs nothing: each test gets a file in its temporary directory.
// PostgreSQL is the server named by HANDHELD_TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable); each test gets a
// schema of its own, named at random, selected through search_path in the
// DSN, and dropped when the test ends, so tests run in parallel and leave
// nothing behind. A server that cannot be reached fails the test, never
// skips it: a green run must mean that both backends were tested.
package storetest

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"testing"
	"time"

	"handheld/services/seal"
	"handheld/services/store"
	"handheld/services/suite"
)

// Backend is one database the contract runs against. DSN gives a fresh,
// empty database (a new file, a new schema) at each call, removed when the
// test ends.
type Backend struct {
	Name string // "sqlite" or "postgres", the subtest's name
	DSN  func(t testing.TB) string
}

// Backends lists the backends every store test runs against.
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite", DSN: SQLiteDSN},
		{Name: "postgres", DSN: PostgresDSN},
	}
}

// Each runs fn as a subtest per backend, each with a fresh, migrated store
// that is closed when the subtest ends. Subtests run in parallel with each
// other and with other parallel tests.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, Migrated(t, b.DSN(t)))
		})
	}
}

// EachDSN runs fn as a subtest per backend with the DSN of a fresh, empty
// database, for tests that open stores themselves: migration tests, or
// several stores sharing one database as several processes would.
func EachDSN(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.DSN(t))
		})
	}
}

// SQLiteDSN returns the DSN of a new SQLite file in the test's temporary
// directory, removed with it.
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.ToSlash(filepath.Join(t.TempDir(), "store.db"))
}

// RingKeyID names the one key of Ring.
const RingKeyID = "sealing-20000101-00000000"

// Ring is the sealing ring every store storetest opens carries: one fixed
// key, so that several stores opened on one database (replicas, a process
// restarted) open each other's rows as the real ones sharing a keys
// directory do. Tests of rotation build rings of their own.
func Ring() *seal.Ring {
	key := sha256.Sum256([]byte("handheld storetest sealing key"))
	r, err := seal.NewRing(RingKeyID, map[string][]byte{RingKeyID: key[:suite.Env().KeySize()]})
	if err != nil {
		panic(err) // a constant key that does not build is a bug here
	}
	return r
}

// Open opens dsn with Ring as its sealer and closes the store when the
// test ends.
func Open(t testing.TB, dsn string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	s = s.WithSealer(Ring())
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("storetest: close: %v", err)
		}
	})
	return s
}

// Migrated opens dsn, applies the embedded migrations, and closes the store
// when the test ends.
func Migrated(t testing.TB, dsn string) *store.Store {
	t.Helper()
	s := Open(t, dsn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("storetest: migrate %s: %v", s.Dialect(), err)
	}
	return s
}
