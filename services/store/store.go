// Package store is handheld's SQL store: PostgreSQL in production, SQLite
// when embedded, behind one type so that every record handheld keeps is
// written by one code path, whichever database holds it.
//
// Both backends go through database/sql: PostgreSQL with pgx's stdlib
// driver, SQLite with modernc.org/sqlite (pure Go, driver name "sqlite").
//
// Placeholders are PostgreSQL's $1, $2, … in every query, on both backends:
// modernc.org/sqlite binds $N to the N-th argument (a contract test proves
// it, including out-of-order and repeated use), so there is no Rebind step.
//
// Time columns are TIMESTAMPTZ on PostgreSQL and TIMESTAMP-declared columns
// holding INTEGER unix microseconds on SQLite. Either way the precision is
// the microsecond: pass a time.Time as an argument, scan into a time.Time
// (or sql.NullTime), and read back Timestamp(t), in UTC, on both backends.
// SQL columns never take their time from the database's clock: the caller
// passes it, from its injected clock.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/XSAM/otelsql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Dialect names the database behind a Store, for the few statements that
// must be written differently (upserts with RETURNING are the same; locking
// clauses such as FOR UPDATE SKIP LOCKED exist only on PostgreSQL).
type Dialect int

// The dialects. The zero value is no dialect, so a forgotten one shows.
const (
	Postgres Dialect = iota + 1
	SQLite
)

// String names the dialect as the storetest subtests and log lines do.
func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case SQLite:
		return "sqlite"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// Store is an open database. It is safe for concurrent use; open one per
// process and share it.
type Store struct {
	db      *sql.DB
	dialect Dialect
	retry   retryPolicy
	sealer  Sealer // seals personal data at rest (seal.go); nil refuses to
}

// Open connects to the database dsn names and checks that it answers:
//
//	postgres://user@host:5432/db?sslmode=disable   PostgreSQL (also postgresql://)
//	sqlite:var/handheld.db                         SQLite file, parent directories created
//	sqlite::memory:                                SQLite in memory (one connection)
//	file:var/handheld.db?_pragma=...               SQLite URI
//
// It does not migrate; call Migrate (handheld migrate does, and so does the
// embedded default at start-up).
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	var (
		s   *Store
		err error
	)
	switch {
	case isPostgres(dsn):
		s, err = openPostgres(dsn, o)
	case strings.HasPrefix(dsn, "sqlite:") || strings.HasPrefix(dsn, "file:"):
		s, err = openSQLite(dsn, o)
	default:
		err = fmt.Errorf("store: unsupported DSN %s: want postgres, postgresql, sqlite or file URLs", redact(dsn))
	}
	if err != nil {
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.db.Close()
		return nil, fmt.Errorf("store: open %s: %w", redact(dsn), err)
	}
	return s, nil
}

// Option adjusts how Open opens the store.
type Option func(*options)

type options struct {
	tracer   trace.TracerProvider
	maxConns int
}

// DefaultMaxConns is a PostgreSQL store's pool when WithMaxConns does not
// say: several replicas share one server, so each one's share is modest.
const DefaultMaxConns = 16

// WithMaxConns sizes a PostgreSQL store's pool: connections open at once,
// all kept when idle (n ≤ 0 means DefaultMaxConns). SQLite ignores it: one
// writer at a time, whatever the pool.
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = n } }

// WithTracing records a span for each statement, transaction and
// connection, as children of the caller's span, through otelsql wrapping the
// database/sql driver. Spans carry the statement's text (placeholders, never
// arguments: personal data stays out) and the database system.
func WithTracing(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracer = tp }
}

// instrumented wraps a connector in otelsql when tracing is on.
func (o options) instrumented(c driver.Connector, system string) *sql.DB {
	if o.tracer == nil {
		return sql.OpenDB(c)
	}
	return otelsql.OpenDB(c, o.otelsql(system)...)
}

func (o options) otelsql(system string) []otelsql.Option {
	return []otelsql.Option{
		otelsql.WithTracerProvider(o.tracer),
		otelsql.WithAttributes(attribute.String("db.system.name", system)),
		otelsql.WithSpanOptions(otelsql.SpanOptions{
			// The spans that say something: statements and transactions.
			// Rows, prepares and session resets would double the count for
			// nothing a reader of the trace needs.
			OmitConnResetSession: true,
			OmitConnPrepare:      true,
			OmitRows:             true,
			DisableErrSkip:       true,
			// Statements outside any trace (migrations, the outbox's
			// claims, the audit writer's batches) make no span: alone,
			// each would be a one-span trace filling the collector.
			SpanFilter: func(ctx context.Context, _ otelsql.Method, _ string, _ []driver.NamedValue) bool {
				return trace.SpanContextFromContext(ctx).IsValid()
			},
		}),
	}
}

func openPostgres(dsn string, o options) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: PostgreSQL DSN %s: %w", redact(dsn), err)
	}
	db := o.instrumented(stdlib.GetConnector(*cfg, stdlib.OptionAfterConnect(scanTimestamptzAsUTC)), "postgresql")
	// Several replicas share one server: keep each one's share modest, and
	// recycle connections so that a fail-over or a pooler is followed. Keep
	// all of them when idle: with fewer, bursts open and close server
	// processes all the time (idle 8 of 16 cost the withdrawal bench a
	// third of its throughput).
	n := o.maxConns
	if n <= 0 {
		n = DefaultMaxConns
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	return &Store{db: db, dialect: Postgres, retry: defaultRetry()}, nil
}

// scanTimestamptzAsUTC makes TIMESTAMPTZ values scan in UTC rather than in
// the process's local zone, as they do on SQLite, so that values read back
// compare equal field by field on both backends.
func scanTimestamptzAsUTC(_ context.Context, conn *pgx.Conn) error {
	conn.TypeMap().RegisterType(&pgtype.Type{
		Name:  "timestamptz",
		OID:   pgtype.TimestamptzOID,
		Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
	})
	return nil
}

func openSQLite(dsn string, o options) (*Store, error) {
	target, err := parseSQLite(dsn)
	if err != nil {
		return nil, err
	}
	if err := target.ensureDir(); err != nil {
		return nil, err
	}
	var db *sql.DB
	if o.tracer == nil {
		db, err = sql.Open("sqlite", target.driverDSN)
	} else {
		db, err = otelsql.Open("sqlite", target.driverDSN, o.otelsql("sqlite")...)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open SQLite: %w", err)
	}
	if target.memory {
		// Each connection to :memory: is a database of its own: keep exactly
		// one, forever.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxIdleTime(0)
		db.SetConnMaxLifetime(0)
	} else {
		// SQLite has one writer at a time. Write transactions begin
		// IMMEDIATE, so they queue on the file lock (busy_timeout) rather
		// than fail half-way; WAL lets a few readers run meanwhile. More
		// connections than that only add waiters.
		n := max(4, runtime.GOMAXPROCS(0))
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
		db.SetConnMaxIdleTime(0)
		db.SetConnMaxLifetime(0)
	}
	return &Store{db: db, dialect: SQLite, retry: defaultRetry()}, nil
}

// Close closes the pool, waiting for queries in flight to finish.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers, for readiness probes and start-up.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Dialect tells which database is behind the store, for the statements that
// differ between them.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB is the pool itself, an escape hatch for what the store does not wrap.
// Errors from it are not translated, and inside Tx use the *Tx instead: on
// SQLite a second connection would wait for the lock the Tx holds.
func (s *Store) DB() *sql.DB { return s.db }
