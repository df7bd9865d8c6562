package cases

import (
	"context"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// Timeline is one case as the day's report to the national platform
// (services/report) weighs its timeliness: when it was received, the date
// it was promised by, and when it was decided or withdrawn by the person
// (zero while neither). It names no one: no subject, no id.
type Timeline struct {
	Kind, Type string
	CreatedAt  time.Time
	// DueOn is the promised decision date (YYYY-MM-DD); "" for a case
	// decided on the spot (a certificate).
	DueOn string
	// DecidedAt is the case's first decision, whichever way (approved,
	// rejected, merged, refused, applied, issued).
	DecidedAt time.Time
	// WithdrawnAt is when the person cancelled it, undecided.
	WithdrawnAt time.Time
}

// selectTimelines reads every case from the owners' case views, with when
// each was decided or withdrawn from their *_case_ends views (migration
// 0035). A certificate is decided when issued (its case's creation), a
// failed request when it failed; a pending request is open.
const selectTimelines = `SELECT c.kind, c.type, c.created_at, c.due_on, c.decided_at, c.withdrawn_at FROM (
		SELECT 'withdrawal' AS kind, w.type, w.created_at, w.due_on, e.decided_at, e.withdrawn_at
		FROM withdrawal_cases w LEFT JOIN withdrawal_case_ends e ON e.id = w.id
		UNION ALL
		SELECT 'certificate', ce.type, ce.created_at, ce.due_on,
			CASE WHEN ce.status = 'pending' THEN NULL WHEN ce.status = 'failed' THEN ce.updated_at ELSE ce.created_at END,
			NULL
		FROM certificate_cases ce
		UNION ALL
		SELECT 'transfer', tr.type, tr.created_at, tr.due_on, e.decided_at, e.withdrawn_at
		FROM transfer_cases tr LEFT JOIN transfer_case_ends e ON e.id = tr.id
		UNION ALL
		SELECT 'loan', lp.type, lp.created_at, lp.due_on, e.decided_at, e.withdrawn_at
		FROM loan_prepayment_cases lp LEFT JOIN loan_prepayment_case_ends e ON e.id = lp.id
	) c
	WHERE c.created_at < $2 AND (c.decided_at IS NULL OR c.decided_at >= $1)
		AND (c.withdrawn_at IS NULL OR c.withdrawn_at >= $1)`

// Timelines lists the cases that were alive at some point of [from, to):
// received before to, and neither decided nor withdrawn before from. That
// is every case received, decided or withdrawn in the window and every
// case still open at its end; the caller tells which. It reads no
// personal data, so it is not audited (the report it feeds is).
func (s *Service) Timelines(ctx context.Context, from, to time.Time) ([]Timeline, error) {
	rows, err := s.Store.Query(ctx, selectTimelines, store.Timestamp(from), store.Timestamp(to))
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "cases: timelines: %w", err)
	}
	defer rows.Close()
	out := []Timeline{}
	for rows.Next() {
		var t Timeline
		if err := rows.Scan(&t.Kind, &t.Type, store.ScanTime(&t.CreatedAt), &t.DueOn,
			store.ScanTime(&t.DecidedAt), store.ScanTime(&t.WithdrawnAt)); err != nil {
			return nil, services.Errorf(services.CodeInternal, "cases: timelines: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "cases: timelines: %w", err)
	}
	return out, nil
}

// RatingCount is how many ratings of one level cases of one kind and type
// were given, and how many of them came with a comment. The comments
// themselves stay sealed here.
type RatingCount struct {
	Kind, Type   string
	Level        int
	Count        int64
	WithComments int64
}

// selectRatingCounts counts the ratings given in [$1, $2) by the rated
// case's kind and type (each case view names its type), level and
// whether a comment came with it (no comment is stored as the empty
// string, unsealed).
const selectRatingCounts = `SELECT c.kind, c.type, r.level, COUNT(*),
		COUNT(CASE WHEN r.comment <> '' THEN 1 END)
	FROM ratings r JOIN (
		SELECT 'withdrawal' AS kind, id, type FROM withdrawal_cases
		UNION ALL SELECT 'certificate', id, type FROM certificate_cases
		UNION ALL SELECT 'transfer', id, type FROM transfer_cases
		UNION ALL SELECT 'loan', id, type FROM loan_prepayment_cases
	) c ON c.id = r.case_id AND c.kind = r.case_kind
	WHERE r.created_at >= $1 AND r.created_at < $2
	GROUP BY c.kind, c.type, r.level
	ORDER BY c.kind, c.type, r.level`

// RatingCounts counts the ratings given in [from, to), by kind, type and
// level. A rating counts in the window it was given in, whenever its case
// was decided. Counts only: not audited.
func (s *Service) RatingCounts(ctx context.Context, from, to time.Time) ([]RatingCount, error) {
	rows, err := s.Store.Query(ctx, selectRatingCounts, store.Timestamp(from), store.Timestamp(to))
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "cases: rating counts: %w", err)
	}
	defer rows.Close()
	out := []RatingCount{}
	for rows.Next() {
		var c RatingCount
		if err := rows.Scan(&c.Kind, &c.Type, &c.Level, &c.Count, &c.WithComments); err != nil {
			return nil, services.Errorf(services.CodeInternal, "cases: rating counts: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "cases: rating counts: %w", err)
	}
	return out, nil
}
