package cases

import (
	"context"
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// List is p's cases, newest first, limit (1–MaxLimit; 0 means
// DefaultLimit) at a time from cursor, a previous page's next. next is ""
// on the last page.
func (s *Service) List(ctx context.Context, p services.Principal, limit int, cursor string) (items []Case, next string, err error) {
	if err := p.Depositor(); err != nil {
		return nil, "", err
	}
	if limit == 0 {
		limit = DefaultLimit
	}
	var fields []services.FieldError
	if limit < 1 || limit > MaxLimit {
		fields = append(fields, services.FieldError{Field: "limit", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": 1, "max": MaxLimit}})
	}
	after, ok := parseCursor(cursor)
	if !ok {
		fields = append(fields, services.FieldError{Field: "cursor", Code: services.FieldFormat})
	}
	if len(fields) > 0 {
		return nil, "", services.Invalid(fields...)
	}
	items, err = s.page(ctx, p.Subject, limit+1, after)
	if err := s.audited(ctx, p, ActionList, "self", err); err != nil {
		return nil, "", err
	}
	if len(items) > limit {
		items = items[:limit]
		next = positionOf(items[limit-1]).String()
	}
	return items, next, nil
}

// caseColumns are what scanCase reads, in its order.
const caseColumns = `c.kind, c.id, c.type, c.case_number, c.status, c.created_at, c.updated_at, c.due_on, COALESCE(r.level, 0)`

// selectCases reads subject ($1) cases from every owner's view
// (withdrawal_cases, certificate_cases: migration 0011; transfer_cases:
// 0024; loan_prepayment_cases: 0032), each narrowed by its own filter, with their ratings. ord puts
// transfers before withdrawals before certificates made in the same
// microsecond, so that the list has one total order: created_at, ord, id,
// all descending.
func selectCases(withdrawalFilter, certificateFilter, transferFilter, loanFilter, tail string) string {
	return `SELECT ` + caseColumns + ` FROM (
		SELECT 1 AS ord, 'withdrawal' AS kind, w.id, w.type, w.case_number, w.status,
			w.created_at, w.updated_at, w.due_on
		FROM withdrawal_cases w WHERE w.subject = $1` + withdrawalFilter + `
		UNION ALL
		SELECT 0, 'certificate', ce.id, ce.type, ce.case_number, ce.status,
			ce.created_at, ce.updated_at, ce.due_on
		FROM certificate_cases ce WHERE ce.subject = $1` + certificateFilter + `
		UNION ALL
		SELECT 2, 'transfer', tr.id, tr.type, tr.case_number, tr.status,
			tr.created_at, tr.updated_at, tr.due_on
		FROM transfer_cases tr WHERE tr.subject = $1` + transferFilter + `
		UNION ALL
		SELECT 3, 'loan', lp.id, lp.type, lp.case_number, lp.status,
			lp.created_at, lp.updated_at, lp.due_on
		FROM loan_prepayment_cases lp WHERE lp.subject = $1` + loanFilter + `
	) c LEFT JOIN ratings r ON r.case_id = c.id AND r.case_kind = c.kind ` + tail
}

// page reads up to limit of subject's cases after a previous page's last
// (zero position: from the start). The position is applied inside each
// branch, where the (subject, created_at) indexes serve it.
func (s *Service) page(ctx context.Context, subject string, limit int, after position) ([]Case, error) {
	tail := `ORDER BY c.created_at DESC, c.ord DESC, c.id DESC LIMIT ` + strconv.Itoa(limit)
	query := selectCases("", "", "", "", tail)
	args := []any{subject}
	if after.id != "" {
		query = selectCases(below("w.created_at", "1", "w.id"), below("ce.created_at", "0", "ce.id"), below("tr.created_at", "2", "tr.id"),
			below("lp.created_at", "3", "lp.id"), tail)
		args = append(args, after.createdAt, after.ord, after.id)
	}
	rows, err := s.Store.Query(ctx, query, args...)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "cases: list: %w", err)
	}
	defer rows.Close()
	out := []Case{}
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, services.Errorf(services.CodeInternal, "cases: list: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "cases: list: %w", err)
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

// scanCase reads caseColumns. The times come through a UNION, which on
// SQLite may lose the column type, hence store.ScanTime.
func scanCase(row scanner) (Case, error) {
	var c Case
	err := row.Scan(&c.Kind, &c.ID, &c.Type, &c.CaseNumber, &c.Status,
		store.ScanTime(&c.CreatedAt), store.ScanTime(&c.UpdatedAt), &c.DueOn, &c.Rating)
	c.Finished = finished(c.Kind, c.Status)
	return c, err
}

// below is one branch's filter for the rows after the position ($2, $3,
// $4) in the list's order: created earlier, or at the same time with a
// lower ord, or the same ord and a lower id. Its arguments are column
// names and constants of this file, never input.
func below(createdAt, ord, id string) string {
	return ` AND (` + createdAt + ` < $2 OR (` + createdAt + ` = $2 AND (` +
		ord + ` < $3 OR (` + ord + ` = $3 AND ` + id + ` < $4))))`
}

// position is where a page ended: the last case's creation time, ord and
// id, the list's order. Cursors are not sealed: the list is always the
// caller's own (the subject comes from the token), so a forged cursor can
// only skip around in it. It is validated all the same, so that anything
// but a cursor of this shape is request.invalid, never a query error.
type position struct {
	createdAt time.Time
	ord       int // 3 loan payment, 2 transfer, 1 withdrawal, 0 certificate
	id        string
}

func positionOf(c Case) position {
	ord := 0
	switch c.Kind {
	case KindWithdrawal:
		ord = 1
	case KindTransfer:
		ord = 2
	case KindLoan:
		ord = 3
	}
	return position{createdAt: c.CreatedAt, ord: ord, id: c.ID}
}

// String is the cursor: "v1.<unix micros>.<ord>.<id>", base64url.
func (p position) String() string {
	raw := "v1." + strconv.FormatInt(p.createdAt.UnixMicro(), 10) + "." + strconv.Itoa(p.ord) + "." + p.id
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// maxCursorLen bounds what is decoded at all: a real cursor is under 120.
const maxCursorLen = 160

// idShape is what a case id looks like: certificate ids are hex, and
// application ids are at most as varied as this.
var idShape = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Cursor times stay within what both backends store (years 1970–9999).
const maxCursorMicros = 253402300799999999

// parseCursor reads a cursor; "" is the first page.
func parseCursor(c string) (position, bool) {
	if c == "" {
		return position{}, true
	}
	if len(c) > maxCursorLen {
		return position{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return position{}, false
	}
	parts := strings.SplitN(string(raw), ".", 4)
	if len(parts) != 4 || parts[0] != "v1" || (parts[2] < "0" || parts[2] > "3" || len(parts[2]) != 1) || !idShape.MatchString(parts[3]) {
		return position{}, false
	}
	micros, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || micros < 0 || micros > maxCursorMicros {
		return position{}, false
	}
	return position{createdAt: time.UnixMicro(micros).UTC(), ord: int(parts[2][0] - '0'), id: parts[3]}, true
}
