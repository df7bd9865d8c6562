package store

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"
)

// Timestamp is t as the store keeps it: in UTC, cut to the microsecond. Both
// backends keep microseconds (PostgreSQL's TIMESTAMPTZ; SQLite's INTEGER unix
// microseconds), so a time written and read back equals Timestamp of the
// time written, on either. Use it where a caller compares a value it wrote
// with one it reads, or keeps one in memory beside the stored copy.
func Timestamp(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// ScanTime returns a destination for Scan that reads a time from either
// backend in any shape it arrives in. A time column scans into a time.Time
// directly; ScanTime is for what has lost the column's type on SQLite — an
// aggregate (MIN, MAX), a COALESCE, a subquery — and arrives as the bare
// integer. NULL scans as the zero time.
func ScanTime(dst *time.Time) sql.Scanner {
	return timeScanner{dst: dst}
}

type timeScanner struct {
	dst *time.Time
}

func (s timeScanner) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.dst = time.Time{}
	case time.Time:
		*s.dst = Timestamp(v)
	case int64:
		*s.dst = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("store: cannot scan %T into a time", src)
	}
	return nil
}

// NullTime returns a value to pass as an argument for a nullable time
// column: NULL for the zero time, the time otherwise. It spares callers an
// if around every optional timestamp (delivered_at, completed_at).
func NullTime(t time.Time) driver.Valuer {
	return sql.NullTime{Time: t, Valid: !t.IsZero()}
}
