package store_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"handheld/services/store"
	"handheld/services/store/storetest"
)

func appliedVersions(t *testing.T, s *store.Store) []int64 {
	t.Helper()
	rows, err := s.Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func tableExists(t *testing.T, s *store.Store, table string) bool {
	t.Helper()
	q := `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`
	if s.Dialect() == store.SQLite {
		q = `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`
	}
	var n int
	if err := s.QueryRow(t.Context(), q, table).Scan(&n); err != nil {
		t.Fatalf("look up table %s: %v", table, err)
	}
	return n == 1
}

func TestMigrateAppliesAndReapplyIsNoop(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		s := storetest.Open(t, dsn)
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		for _, table := range []string{"schema_migrations", "idempotency_keys", "outbox"} {
			if !tableExists(t, s, table) {
				t.Errorf("table %s missing after Migrate", table)
			}
		}
		if got := appliedVersions(t, s); len(got) == 0 || got[0] != 1 {
			t.Fatalf("applied versions = %v, want to start with 1", got)
		}
		mustExec(t, s, `INSERT INTO outbox (id, topic, payload, next_attempt_at, created_at) VALUES ('kept', 't', $1, $2, $2)`,
			[]byte("x"), time.Now())
		before := appliedVersions(t, s)

		// Again, from a new process.
		again := storetest.Open(t, dsn)
		if err := again.Migrate(t.Context()); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		if after := appliedVersions(t, s); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("versions after re-apply = %v, want %v", after, before)
		}
		if n := countOutbox(t, s); n != 1 {
			t.Fatalf("re-apply touched data: %d outbox rows, want 1", n)
		}
	})
}

func TestMigrateRefusesChangedChecksum(t *testing.T) {
	v1 := fstest.MapFS{
		"0001_first.sql": {Data: []byte(`CREATE TABLE first (id TEXT PRIMARY KEY);`)},
	}
	v2 := fstest.MapFS{
		"0001_first.sql":  {Data: []byte(`CREATE TABLE first (id TEXT PRIMARY KEY, extra TEXT);`)},
		"0002_second.sql": {Data: []byte(`CREATE TABLE second (id TEXT PRIMARY KEY);`)},
	}
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		s := storetest.Open(t, dsn)
		if err := s.MigrateFS(t.Context(), v1); err != nil {
			t.Fatalf("MigrateFS v1: %v", err)
		}
		err := s.MigrateFS(t.Context(), v2)
		if !errors.Is(err, store.ErrChecksumMismatch) {
			t.Fatalf("MigrateFS with an edited 0001: err = %v, want ErrChecksumMismatch", err)
		}
		if !strings.Contains(err.Error(), "0001_first.sql") {
			t.Errorf("error %q does not name the migration", err)
		}
		if tableExists(t, s, "second") {
			t.Fatal("0002 was applied although 0001 had changed")
		}
	})
}

func TestMigrateRefusesTamperedRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		mustExec(t, s, `UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1`)
		if err := s.Migrate(t.Context()); !errors.Is(err, store.ErrChecksumMismatch) {
			t.Fatalf("Migrate after the record changed: err = %v, want ErrChecksumMismatch", err)
		}
	})
}

func TestMigrateRollsBackFailedMigration(t *testing.T) {
	fsys := fstest.MapFS{
		"0001_ok.sql":     {Data: []byte(`CREATE TABLE ok (id TEXT PRIMARY KEY);`)},
		"0002_broken.sql": {Data: []byte(`CREATE TABLE half (id TEXT PRIMARY KEY); THIS IS NOT SQL;`)},
	}
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		s := storetest.Open(t, dsn)
		if err := s.MigrateFS(t.Context(), fsys); err == nil || !strings.Contains(err.Error(), "0002_broken.sql") {
			t.Fatalf("MigrateFS: err = %v, want an error naming 0002_broken.sql", err)
		}
		if got := fmt.Sprint(appliedVersions(t, s)); got != "[1]" {
			t.Fatalf("applied versions = %s, want [1]", got)
		}
		if tableExists(t, s, "half") {
			t.Fatal("a failed migration left a table behind: not applied in a transaction")
		}
	})
}

func TestMigrateRejectsBadFileSets(t *testing.T) {
	t.Parallel()
	sql := &fstest.MapFile{Data: []byte(`SELECT 1;`)}
	tests := map[string]fstest.MapFS{
		"bad name":             {"first.sql": sql},
		"unknown dialect":      {"0001_a.mysql.sql": sql},
		"one variant only":     {"0001_a.postgres.sql": sql},
		"shared and variant":   {"0001_a.sql": sql, "0001_a.sqlite.sql": sql, "0001_a.postgres.sql": sql},
		"version used twice":   {"0001_a.sql": sql, "0001_b.sql": sql},
		"variants differ name": {"0001_a.postgres.sql": sql, "0001_b.sqlite.sql": sql},
	}
	for name, fsys := range tests {
		s := storetest.Open(t, "sqlite::memory:")
		if err := s.MigrateFS(t.Context(), fsys); err == nil {
			t.Errorf("%s: MigrateFS succeeded, want an error", name)
		}
	}
}

// TestConcurrentMigrate starts several stores on one empty database at once,
// as replicas starting together would: every Migrate succeeds and each
// migration is applied once. Rounds repeat the race on fresh databases.
func TestConcurrentMigrate(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for round := range 3 {
				dsn := b.DSN(t)
				stores := make([]*store.Store, 4)
				for i := range stores {
					stores[i] = storetest.Open(t, dsn)
				}
				var wg sync.WaitGroup
				errs := make([]error, len(stores))
				for i, s := range stores {
					wg.Go(func() { errs[i] = s.Migrate(t.Context()) })
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("round %d: Migrate %d: %v", round, i, err)
					}
				}
				var n, distinct int
				if err := stores[0].QueryRow(t.Context(), `SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).
					Scan(&n, &distinct); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if n == 0 || n != distinct {
					t.Fatalf("round %d: %d rows for %d versions in schema_migrations", round, n, distinct)
				}
			}
		})
	}
}

func TestOutboxIndex(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var columns []string
		switch s.Dialect() {
		case store.Postgres:
			var def string
			err := s.QueryRow(t.Context(),
				`SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'outbox' AND indexname = $1`,
				"outbox_pending_idx").Scan(&def)
			if err != nil {
				t.Fatalf("outbox_pending_idx: %v", err)
			}
			_, cols, _ := strings.Cut(def, "(")
			columns = strings.Split(strings.TrimSuffix(cols, ")"), ", ")
		case store.SQLite:
			rows, err := s.Query(t.Context(), `SELECT name FROM pragma_index_info($1) ORDER BY seqno`, "outbox_pending_idx")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var c string
				if err := rows.Scan(&c); err != nil {
					t.Fatal(err)
				}
				columns = append(columns, c)
			}
		}
		if got := strings.Join(columns, ","); got != "delivered_at,next_attempt_at" {
			t.Fatalf("outbox_pending_idx columns = %q, want delivered_at,next_attempt_at", got)
		}
	})
}
