package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// migrationFiles are handheld's own migrations, compiled into the binary so
// that the schema always matches the code that uses it.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLockKey is the PostgreSQL advisory lock that serialises Migrate
// across processes ("handheld" in ASCII): replicas that start together
// migrate one after the other, and the later ones find nothing to do.
const migrateLockKey int64 = 0x68616e6468656c64

// Migrate brings the database up to the schema this binary was built with,
// applying the embedded migrations under migrations/ that it has not applied
// yet. See MigrateFS.
func (s *Store) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	return s.MigrateFS(ctx, sub)
}

// MigrateFS applies the migrations in fsys, for a database whose schema is
// not handheld's own (the core simulator keeps one) and for tests.
//
// Files are named NNNN_name.sql, shared by both dialects, or
// NNNN_name.postgres.sql and NNNN_name.sqlite.sql where the SQL differs (a
// version then has both). They are applied in order of NNNN, each in a
// transaction of its own together with its row in schema_migrations, which
// records its checksum (SHA-256 of the file applied). Before applying
// anything, MigrateFS checks that every migration already applied still has
// its checksum, and refuses with ErrChecksumMismatch otherwise: a migration
// is never edited once shipped, only followed by another.
//
// On PostgreSQL a session advisory lock makes concurrent MigrateFS calls,
// from any number of processes, run one at a time. On SQLite each migration
// takes the write lock (BEGIN IMMEDIATE) and skips itself when another
// process applied it meanwhile.
func (s *Store) MigrateFS(ctx context.Context, fsys fs.FS) error {
	migrations, err := loadMigrations(fsys, s.dialect)
	if err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()

	if s.dialect == Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
			return fmt.Errorf("store: migrate: take lock: %w", err)
		}
		defer unlockMigrations(ctx, conn)
	}
	if _, err := conn.ExecContext(ctx, schemaMigrationsDDL(s.dialect)); err != nil {
		return fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}
	applied, err := appliedChecksums(ctx, conn)
	if err != nil {
		return err
	}
	for _, m := range migrations {
		if sum, ok := applied[m.version]; ok && sum != m.checksum {
			return fmt.Errorf("%w: %s was applied with checksum %s, this binary has %s", ErrChecksumMismatch, m.file, sum, m.checksum)
		}
	}
	for _, m := range migrations {
		if _, ok := applied[m.version]; ok {
			continue
		}
		if err := s.apply(ctx, conn, m); err != nil {
			return err
		}
	}
	return nil
}

// unlockMigrations releases the advisory lock. Should that fail (the context
// is done, the connection broke), the connection is discarded instead of
// going back to the pool, which ends its session and so releases the lock.
func unlockMigrations(ctx context.Context, conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, migrateLockKey); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

func schemaMigrationsDDL(d Dialect) string {
	timeType := "TIMESTAMPTZ"
	if d == SQLite {
		timeType = "TIMESTAMP"
	}
	return `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    BIGINT PRIMARY KEY,
	name       TEXT NOT NULL,
	checksum   TEXT NOT NULL,
	applied_at ` + timeType + ` NOT NULL
)`
}

func appliedChecksums(ctx context.Context, conn *sql.Conn) (map[int64]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT version, checksum FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := make(map[int64]string)
	for rows.Next() {
		var (
			version int64
			sum     string
		)
		if err := rows.Scan(&version, &sum); err != nil {
			return nil, fmt.Errorf("store: migrate: read schema_migrations: %w", err)
		}
		applied[version] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: migrate: read schema_migrations: %w", err)
	}
	return applied, nil
}

// apply runs one migration and records it, in one transaction.
func (s *Store) apply(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate %s: begin: %w", m.file, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	// Another process may have applied it since we looked (SQLite, where
	// no advisory lock serialises us; the write lock taken by BEGIN
	// IMMEDIATE makes this check and the apply below atomic).
	var sum string
	err = tx.QueryRowContext(ctx, `SELECT checksum FROM schema_migrations WHERE version = $1`, m.version).Scan(&sum)
	switch {
	case err == nil && sum == m.checksum:
		return nil
	case err == nil:
		return fmt.Errorf("%w: %s was applied with checksum %s, this binary has %s", ErrChecksumMismatch, m.file, sum, m.checksum)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: migrate %s: %w", m.file, err)
	}

	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("store: migrate %s: %w", m.file, err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)`,
		m.version, m.name, m.checksum, time.Now()); err != nil {
		return fmt.Errorf("store: migrate %s: record: %w", m.file, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate %s: commit: %w", m.file, err)
	}
	return nil
}

// migration is one migration file, chosen for the store's dialect.
type migration struct {
	version  int64
	name     string // NNNN_name, without dialect and extension
	file     string
	sql      string
	checksum string
}

// loadMigrations reads the migrations in fsys for dialect d, in order. A
// malformed file name, a version used twice, or a version with a variant for
// one dialect only is an error: each would make the two backends' schemas
// drift apart silently.
func loadMigrations(fsys fs.FS, d Dialect) ([]migration, error) {
	migrationName := regexp.MustCompile(`^(\d+)_([a-z0-9_]+?)(?:\.(postgres|sqlite))?\.sql$`)
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	type variants struct{ shared, postgres, sqlite string }
	byVersion := make(map[int64]*variants)
	names := make(map[int64]string)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		match := migrationName.FindStringSubmatch(e.Name())
		if match == nil {
			return nil, fmt.Errorf("store: migrations: %q is not named NNNN_name.sql, NNNN_name.postgres.sql or NNNN_name.sqlite.sql", e.Name())
		}
		version, err := strconv.ParseInt(match[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("store: migrations: %q: %w", e.Name(), err)
		}
		name := match[1] + "_" + match[2]
		if prev, ok := names[version]; ok && prev != name {
			return nil, fmt.Errorf("store: migrations: version %d is used by both %s and %s", version, prev, name)
		}
		names[version] = name
		v := byVersion[version]
		if v == nil {
			v = &variants{}
			byVersion[version] = v
		}
		slot := map[string]*string{"": &v.shared, "postgres": &v.postgres, "sqlite": &v.sqlite}[match[3]]
		*slot = e.Name()
	}

	var out []migration
	for version, v := range byVersion {
		file := v.shared
		switch {
		case v.shared != "" && (v.postgres != "" || v.sqlite != ""):
			return nil, fmt.Errorf("store: migrations: %s has both a shared file and dialect variants", names[version])
		case v.shared == "" && (v.postgres == "" || v.sqlite == ""):
			return nil, fmt.Errorf("store: migrations: %s needs both a .postgres.sql and a .sqlite.sql variant", names[version])
		case v.shared == "" && d == Postgres:
			file = v.postgres
		case v.shared == "":
			file = v.sqlite
		}
		body, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("store: migrations: %w", err)
		}
		sum := sha256.Sum256(body)
		out = append(out, migration{
			version:  version,
			name:     names[version],
			file:     file,
			sql:      string(body),
			checksum: hex.EncodeToString(sum[:]),
		})
	}
	slices.SortFunc(out, func(a, b migration) int { return cmp.Compare(a.version, b.version) })
	return out, nil
}
