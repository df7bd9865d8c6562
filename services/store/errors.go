package store

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrConflict reports that a write hit a unique or primary key constraint:
// the row is already there. Callers decide what that means (an idempotent
// replay, an application that already exists) and translate it into a
// services.Error; the driver's error stays wrapped for the log.
var ErrConflict = errors.New("store: conflict")

// ErrNotFound reports that a query for one row found none. It replaces
// sql.ErrNoRows so that callers need not know which package the store is
// built on.
var ErrNotFound = errors.New("store: not found")

// ErrChecksumMismatch reports that a migration already applied to the
// database differs from the one shipped in this binary. Migrate refuses to
// run rather than guess which of the two schemas is the real one.
var ErrChecksumMismatch = errors.New("store: applied migration changed")

// PostgreSQL SQLSTATE codes the store reacts to.
const (
	pgUniqueViolation      = "23505"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
)

// translate maps driver errors onto the store's sentinels, keeping the
// original error in the chain. Other errors pass through unchanged.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case isUniqueViolation(err):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == pgUniqueViolation
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		code := liteErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// retryable reports whether a transaction that failed with err can simply be
// run again: PostgreSQL gave up on it to keep transactions serializable or to
// break a deadlock, or SQLite could not get its lock within busy_timeout.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == pgSerializationFailure || pgErr.Code == pgDeadlockDetected
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		primary := liteErr.Code() & 0xff // extended codes keep the primary one in the low byte
		return primary == sqlite3.SQLITE_BUSY || primary == sqlite3.SQLITE_LOCKED
	}
	return false
}
