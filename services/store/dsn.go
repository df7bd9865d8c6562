package store

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// sqliteTarget is a parsed SQLite DSN: what to hand to the driver, and what
// the store needs to know to configure the pool around it.
type sqliteTarget struct {
	driverDSN string
	path      string // file to create the parent directory of; "" for memory
	memory    bool   // every connection would see its own database
}

// parseSQLite turns the store's SQLite DSN forms into the driver's:
//
//	sqlite::memory:             a private in-memory database
//	sqlite:path/to/file.db      a file, relative or absolute
//	sqlite:///abs/path/file.db  the same, URL style
//	sqlite:file.db?_pragma=...  a file with extra driver parameters
//	file:path/to/file.db?...    an SQLite URI, passed through
//
// The parameters that the store's contract depends on are forced: BEGIN
// IMMEDIATE (a write transaction takes the lock up front, where busy_timeout
// applies, instead of failing when it first writes), and time values stored
// as INTEGER unix microseconds and read back as time.Time.
func parseSQLite(dsn string) (sqliteTarget, error) {
	var t sqliteTarget
	rest, query, _ := strings.Cut(dsn, "?")
	var name string
	switch {
	case strings.HasPrefix(rest, "sqlite:"):
		name = strings.TrimPrefix(rest, "sqlite:")
		name = strings.TrimPrefix(name, "//") // sqlite:///abs/path
		t.path = name
	case strings.HasPrefix(rest, "file:"):
		name = rest
		t.path = strings.TrimPrefix(rest, "file:")
		if strings.HasPrefix(t.path, "//") { // file:///abs/path or file://localhost/abs/path
			if i := strings.Index(t.path[2:], "/"); i >= 0 {
				t.path = t.path[2+i:]
			}
		}
	default:
		return t, fmt.Errorf("store: not an SQLite DSN: %q", dsn)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return t, fmt.Errorf("store: SQLite DSN %q: %w", dsn, err)
	}
	if name == "" || name == "file:" {
		return t, fmt.Errorf("store: SQLite DSN %q names no file (use sqlite::memory: for a database in memory)", dsn)
	}
	t.memory = t.path == ":memory:" || q.Get("mode") == "memory"
	if t.memory {
		t.path = ""
	}

	// Pragmas the store sets unless the DSN already names them. busy_timeout
	// lets a writer wait for the lock instead of failing at once; WAL lets
	// readers run beside the one writer; foreign keys are off by default in
	// SQLite and on everywhere else.
	defaults := []struct{ key, pragma string }{
		{"busy_timeout", "busy_timeout(5000)"},
		{"foreign_keys", "foreign_keys(1)"},
		{"journal_mode", "journal_mode(WAL)"},
	}
	for _, d := range defaults {
		if t.memory && d.key == "journal_mode" {
			continue // an in-memory database has no WAL
		}
		if !hasPragma(q["_pragma"], d.key) {
			q.Add("_pragma", d.pragma)
		}
	}
	q.Set("_txlock", "immediate")
	q.Set("_time_integer_format", "unix_micro")
	q.Set("_inttotime", "1")
	t.driverDSN = name + "?" + q.Encode()
	return t, nil
}

func hasPragma(pragmas []string, name string) bool {
	for _, p := range pragmas {
		p = strings.ToLower(strings.TrimSpace(p))
		if strings.HasPrefix(p, name) {
			return true
		}
	}
	return false
}

// ensureDir creates the directory a database file lives in, so that a fresh
// checkout can run with a DSN like sqlite:var/handheld.db.
func (t sqliteTarget) ensureDir() error {
	if t.path == "" {
		return nil
	}
	dir := filepath.Dir(filepath.FromSlash(t.path))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("store: create directory for SQLite database: %w", err)
	}
	return nil
}

// isPostgres reports whether dsn selects PostgreSQL.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// redact returns dsn fit for an error message or a log: a password in a URL
// is replaced, and anything that does not parse as a URL is reduced to its
// scheme.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	scheme, _, _ := strings.Cut(dsn, ":")
	return scheme + ":…"
}
