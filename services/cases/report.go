package cases

import (
	"context"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// LevelCount is how many ratings of one kind of case have one level.
type LevelCount struct {
	Kind  string
	Level int
	N     int64
}

// RatingLevels counts the ratings given in [start, end) by kind of case
// and level, in SQL, for the supervision dashboard. Counts only: not
// audited here (the dashboard audits its reader).
func (s *Service) RatingLevels(ctx context.Context, start, end time.Time) ([]LevelCount, error) {
	rows, err := s.Store.Query(ctx, `SELECT case_kind, level, COUNT(*) FROM ratings WHERE created_at >= $1 AND created_at < $2
		GROUP BY case_kind, level ORDER BY case_kind, level`, store.Timestamp(start), store.Timestamp(end))
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "cases: rating levels: %w", err)
	}
	defer rows.Close()
	var out []LevelCount
	for rows.Next() {
		var c LevelCount
		if err := rows.Scan(&c.Kind, &c.Level, &c.N); err != nil {
			return nil, services.Errorf(services.CodeInternal, "cases: rating levels: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "cases: rating levels: %w", err)
	}
	return out, nil
}

// Remark is one rating with its comment opened, for the centre's staff.
type Remark struct {
	Kind, Channel, Comment string
	Level                  int
	At                     time.Time
}

// LowRatings are the ratings given in [start, end) at level atMost or
// below, newest first, at most limit, with their comments opened (a
// comment that does not open is left empty and the others still shown).
func (s *Service) LowRatings(ctx context.Context, start, end time.Time, atMost, limit int) ([]Remark, error) {
	rows, err := s.Store.Query(ctx, `SELECT case_id, case_kind, level, comment, created_at, channel FROM ratings
		WHERE created_at >= $1 AND created_at < $2 AND level <= $3 ORDER BY created_at DESC, case_id LIMIT $4`,
		store.Timestamp(start), store.Timestamp(end), atMost, limit)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "cases: low ratings: %w", err)
	}
	defer rows.Close()
	var out []Remark
	for rows.Next() {
		var r Remark
		var id, sealed string
		if err := rows.Scan(&id, &r.Kind, &r.Level, &sealed, store.ScanTime(&r.At), &r.Channel); err != nil {
			return nil, services.Errorf(services.CodeInternal, "cases: low ratings: %w", err)
		}
		if sealed != "" {
			plain, err := s.Store.OpenText(sealed, sealedComment.Place(id))
			if err != nil {
				s.Logger.WarnContext(ctx, "cases: rating comment does not open", "kind", r.Kind, "err", err.Error())
			}
			r.Comment = plain
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "cases: low ratings: %w", err)
	}
	return out, nil
}
