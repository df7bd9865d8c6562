package store_test

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"handheld/services/store"
	"handheld/services/store/storetest"
)

func TestOpenDialects(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, b.DSN(t))
			want := map[string]store.Dialect{"sqlite": store.SQLite, "postgres": store.Postgres}[b.Name]
			if got := s.Dialect(); got != want {
				t.Fatalf("Dialect() = %v, want %v", got, want)
			}
			if err := s.Ping(t.Context()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
		})
	}
}

func TestOpenPostgresqlScheme(t *testing.T) {
	t.Parallel()
	dsn := strings.Replace(storetest.PostgresDSN(t), "postgres://", "postgresql://", 1)
	if !strings.HasPrefix(dsn, "postgresql://") {
		t.Fatalf("test DSN %q is not a postgres:// URL", dsn)
	}
	if got := storetest.Open(t, dsn).Dialect(); got != store.Postgres {
		t.Fatalf("Dialect() = %v, want postgres", got)
	}
}

func TestOpenSQLiteForms(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		dsn  string
		file string // created by Open, "" for memory
	}{
		{"sqlite:" + filepath.Join(dir, "a", "b", "nested.db"), filepath.Join(dir, "a", "b", "nested.db")},
		{"sqlite://" + filepath.Join(dir, "url", "style.db"), filepath.Join(dir, "url", "style.db")},
		{"file:" + filepath.Join(dir, "uri", "form.db") + "?cache=private", filepath.Join(dir, "uri", "form.db")},
		{"sqlite::memory:", ""},
	}
	for _, tt := range tests {
		s := storetest.Open(t, tt.dsn)
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("%s: Migrate: %v", tt.dsn, err)
		}
		if s.Dialect() != store.SQLite {
			t.Errorf("%s: Dialect() = %v, want sqlite", tt.dsn, s.Dialect())
		}
		if tt.file != "" {
			if _, err := os.Stat(tt.file); err != nil {
				t.Errorf("%s: database file not created: %v", tt.dsn, err)
			}
		}
	}
}

func TestOpenRejectsUnknownDSN(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{"mysql://root:secret@localhost/test", "var/handheld.db", "sqlite:", ""} {
		s, err := store.Open(t.Context(), dsn)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", dsn)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) error leaks the password: %v", dsn, err)
		}
	}
}

func TestSQLitePragmas(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, storetest.SQLiteDSN(t))
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"busy_timeout": "5000",
	} {
		var got string
		if err := s.QueryRow(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
}

func TestForeignKeysEnforced(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		mustExec(t, s, `CREATE TABLE parent (id TEXT PRIMARY KEY)`)
		mustExec(t, s, `CREATE TABLE child (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES parent (id))`)
		if _, err := s.Exec(ctx, `INSERT INTO child (id, parent_id) VALUES ($1, $2)`, "c1", "missing"); err == nil {
			t.Fatal("insert of an orphan row succeeded: foreign keys are not enforced")
		}
	})
}

// TestPlaceholders proves the one placeholder style, $N, on both backends:
// bound by number, so out of order and repeated.
func TestPlaceholders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		now := time.Now()
		if _, err := s.Exec(ctx,
			`INSERT INTO idempotency_keys (scope, key, request_hash, status, created_at) VALUES ($2, $1, $2, $3, $4)`,
			"the-key", "the-scope", 201, now); err != nil {
			t.Fatalf("insert: %v", err)
		}
		var scope, key, hash string
		var status int
		if err := s.QueryRow(ctx,
			`SELECT scope, key, request_hash, status FROM idempotency_keys WHERE key = $1 AND scope = $2 AND request_hash = $2`,
			"the-key", "the-scope").Scan(&scope, &key, &hash, &status); err != nil {
			t.Fatalf("select: %v", err)
		}
		if scope != "the-scope" || key != "the-key" || hash != "the-scope" || status != 201 {
			t.Fatalf("got (%q, %q, %q, %d), want (the-scope, the-key, the-scope, 201)", scope, key, hash, status)
		}
	})
}

func TestUniqueViolationIsConflict(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		insert := `INSERT INTO outbox (id, topic, payload, next_attempt_at, created_at) VALUES ($1, 'withdrawal', $2, $3, $3)`
		if _, err := s.Exec(ctx, insert, "m1", []byte("{}"), time.Now()); err != nil {
			t.Fatalf("first insert: %v", err)
		}
		_, err := s.Exec(ctx, insert, "m1", []byte("{}"), time.Now())
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate insert via Store.Exec: err = %v, want ErrConflict", err)
		}
		err = s.Tx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, insert, "m1", []byte("{}"), time.Now())
			return err
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate insert via Tx.Exec: err = %v, want ErrConflict", err)
		}
		var id string
		err = s.QueryRow(ctx, `INSERT INTO outbox (id, topic, payload, next_attempt_at, created_at) VALUES ($1, 't', $2, $3, $3) RETURNING id`,
			"m1", []byte("{}"), time.Now()).Scan(&id)
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate INSERT … RETURNING via QueryRow: err = %v, want ErrConflict", err)
		}
		if errors.Is(err, store.ErrNotFound) {
			t.Fatalf("conflict also reads as ErrNotFound: %v", err)
		}
	})
}

func TestNoRowsIsNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var id string
		err := s.QueryRow(t.Context(), `SELECT id FROM outbox WHERE id = $1`, "nope").Scan(&id)
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("err = %v no longer wraps sql.ErrNoRows", err)
		}
		err = s.Tx(t.Context(), func(tx *store.Tx) error {
			return tx.QueryRow(t.Context(), `SELECT id FROM outbox WHERE id = $1`, "nope").Scan(&id)
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("in Tx: err = %v, want ErrNotFound", err)
		}
	})
}

func mustExec(t *testing.T, s *store.Store, query string, args ...any) {
	t.Helper()
	if _, err := s.Exec(t.Context(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// The pool is the configured size on PostgreSQL, the default without one.
func TestPostgresPoolSize(t *testing.T) {
	t.Parallel()
	dsn := storetest.PostgresDSN(t)
	for n, want := range map[int]int{0: store.DefaultMaxConns, 3: 3, 64: 64} {
		s, err := store.Open(t.Context(), dsn, store.WithMaxConns(n))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.DB().Stats().MaxOpenConnections; got != want {
			t.Errorf("WithMaxConns(%d): pool of %d, want %d", n, got, want)
		}
		_ = s.Close()
	}
}
