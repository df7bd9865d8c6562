package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"time"
)

// Tx is one transaction, handed to the function given to Store.Tx. It offers
// the same queries as Store; commit and rollback belong to Store.Tx.
type Tx struct {
	tx      *sql.Tx
	dialect Dialect
	sealer  Sealer
}

// Dialect tells which database runs the transaction.
func (t *Tx) Dialect() Dialect { return t.dialect }

// Exec runs a statement that returns no rows, translating constraint errors
// into ErrConflict.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := t.tx.ExecContext(ctx, query, args...)
	return res, translate(err)
}

// Query runs a statement that returns rows.
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := t.tx.QueryContext(ctx, query, args...)
	return rows, translate(err)
}

// Prepare readies a statement to run many times in this transaction, parsed
// once: for a loop of small writes on SQLite, where a statement costs its
// parse more than its run. The statement closes with the transaction.
func (t *Tx) Prepare(ctx context.Context, query string) (*Stmt, error) {
	st, err := t.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, translate(err)
	}
	return &Stmt{st: st}, nil
}

// Stmt is a statement Tx.Prepare readied.
type Stmt struct{ st *sql.Stmt }

// Exec runs the statement with args, translating constraint errors into
// ErrConflict.
func (s *Stmt) Exec(ctx context.Context, args ...any) (sql.Result, error) {
	res, err := s.st.ExecContext(ctx, args...)
	return res, translate(err)
}

// QueryRow runs a statement expected to return one row; its Scan reports
// ErrNotFound when there is none.
func (t *Tx) QueryRow(ctx context.Context, query string, args ...any) *Row {
	return &Row{row: t.tx.QueryRowContext(ctx, query, args...)}
}

// retryPolicy bounds how often Store.Tx runs a transaction that the database
// aborted for a reason that a second try resolves.
type retryPolicy struct {
	attempts int           // tries in all, at least 1
	backoff  time.Duration // wait before the second try; doubles after each
}

func defaultRetry() retryPolicy {
	return retryPolicy{attempts: 5, backoff: 10 * time.Millisecond}
}

// Tx runs fn in a transaction: committed when fn returns nil, rolled back
// when it returns an error or panics (the panic goes on). When the database
// aborts the transaction for a serialization failure or a deadlock
// (PostgreSQL), or cannot get the lock in time (SQLite busy), Tx runs fn
// again, a few times, with a growing pause: fn must therefore do nothing but
// database work through tx, or work that is safe to repeat.
//
// The error is fn's own, or the store's (begin, commit) with constraint
// violations translated into ErrConflict.
func (s *Store) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	wait := s.retry.backoff
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || !retryable(err) || attempt >= s.retry.attempts {
			return err
		}
		// Half fixed, half random: spreads out contenders that collided
		// while keeping a floor that lets the lock holder finish.
		pause := wait/2 + rand.N(wait/2+1)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up retrying: %w)", err, ctx.Err())
		case <-time.After(pause):
		}
		wait *= 2
	}
}

// tryTx runs fn once in a transaction of its own.
func (s *Store) tryTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", translate(err))
	}
	done := false
	defer func() {
		if !done {
			// On an error, or while a panic unwinds: the panic is not
			// recovered, only the transaction released first.
			_ = sqlTx.Rollback()
		}
	}()
	if err := fn(&Tx{tx: sqlTx, dialect: s.dialect, sealer: s.sealer}); err != nil {
		return err
	}
	done = true
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", translate(err))
	}
	return nil
}

// Exec runs a statement that returns no rows, outside any transaction,
// translating constraint errors into ErrConflict.
func (s *Store) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := s.db.ExecContext(ctx, query, args...)
	return res, translate(err)
}

// Query runs a statement that returns rows, outside any transaction.
func (s *Store) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	return rows, translate(err)
}

// QueryRow runs a statement expected to return one row, outside any
// transaction; its Scan reports ErrNotFound when there is none.
func (s *Store) QueryRow(ctx context.Context, query string, args ...any) *Row {
	return &Row{row: s.db.QueryRowContext(ctx, query, args...)}
}

// Row is the result of QueryRow. It exists so that Scan can speak the store's
// errors (ErrNotFound, ErrConflict for an INSERT … RETURNING) rather than
// database/sql's.
type Row struct {
	row *sql.Row
}

// Scan copies the row's columns into dest, as sql.Row.Scan does.
func (r *Row) Scan(dest ...any) error { return translate(r.row.Scan(dest...)) }

// Err reports the query's error without scanning, as sql.Row.Err does.
func (r *Row) Err() error { return translate(r.row.Err()) }
