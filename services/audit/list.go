package audit

import (
	"context"
	"math"
	"strconv"
	"strings"
	"time"

	"handheld/services"
)

// Filter selects one person's records for List, newest first.
type Filter struct {
	// Subject is required: List serves a person their own trail ("who saw
	// my data"), and an empty subject must not list everybody's.
	Subject string
	// Since, when set, leaves out records from before it.
	Since time.Time
	// Limit caps the page; 0 means defaultListLimit, at most maxListLimit.
	Limit int
	// Cursor continues after the page that returned it; "" for the first.
	Cursor string
}

const (
	defaultListLimit = 50
	maxListLimit     = 500
)

// List returns one page of a subject's records, newest first, and the
// cursor of the next page ("" when this is the last). It reads what is
// committed: records still queued in a Log are not there yet.
func (l *Log) List(ctx context.Context, f Filter) ([]Record, string, error) {
	if f.Subject == "" {
		return nil, "", invalid("list: subject required")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	limit = min(limit, maxListLimit)
	before := int64(math.MaxInt64)
	if f.Cursor != "" {
		n, err := strconv.ParseInt(strings.TrimPrefix(f.Cursor, cursorPrefix), 10, 64)
		if err != nil || !strings.HasPrefix(f.Cursor, cursorPrefix) || n <= 0 {
			return nil, "", services.Invalid(services.FieldError{Field: "cursor", Code: services.FieldFormat})
		}
		before = n
	}

	query := `SELECT ` + rowColumns + ` FROM audit_log WHERE subject = $1 AND seq < $2`
	args := []any{f.Subject, before}
	if !f.Since.IsZero() {
		query += ` AND at >= $4`
		args = append(args, limit+1, f.Since)
	} else {
		args = append(args, limit+1)
	}
	query += ` ORDER BY seq DESC LIMIT $3`

	rows, err := l.store.Query(ctx, query, args...)
	if err != nil {
		return nil, "", services.Errorf(services.CodeInternal, "audit: list: %w", err)
	}
	defer rows.Close()
	var (
		out  []Record
		seqs []int64
	)
	for rows.Next() {
		row, err := scanRow(rows.Scan)
		if err != nil {
			return nil, "", services.Errorf(services.CodeInternal, "audit: list: %w", err)
		}
		out = append(out, row.rec)
		seqs = append(seqs, row.seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", services.Errorf(services.CodeInternal, "audit: list: %w", err)
	}
	if len(out) <= limit {
		return out, "", nil
	}
	return out[:limit], cursorPrefix + strconv.FormatInt(seqs[limit-1], 10), nil
}

// cursorPrefix marks a List cursor, so that a number from elsewhere is not
// taken for one.
const cursorPrefix = "a"
