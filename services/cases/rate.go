package cases

import (
	"context"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"handheld/services"
	"handheld/services/store"
)

// Rate records p's rating of one of p's finished cases, with the channel
// it was given on (the mini-program, a kiosk's screen): level 1–5 (the
// Level constants) and an optional comment of at most MaxCommentRunes
// characters once trimmed. Another person's case is not_found, exactly as
// an id that does not exist; an unfinished case is rating.not_rateable; a
// case rated before, even by a request racing this one, is
// rating.already_rated. It returns the case with its new rating.
func (s *Service) Rate(ctx context.Context, p services.Principal, caseID string, level int, comment string) (Case, error) {
	if err := p.Depositor(); err != nil {
		return Case{}, err
	}
	comment, err := checkRating(level, comment)
	if err != nil {
		return Case{}, err
	}
	c, err := s.rate(ctx, p.Subject, p.Channel, caseID, level, comment)
	target := "self" // never write an id nobody owns into the trail
	if c.ID != "" {
		target = c.Kind + ":" + c.ID
	}
	if err := s.audited(ctx, p, ActionRate, target, err); err != nil {
		return Case{}, err
	}
	return c, nil
}

// sealedComment is a rating's comment, free text in which a person may
// well write a name or a phone number: sealed at rest, bound to its case.
// Nothing in handheld reads it back yet; the centre's reporting opens it.
var sealedComment = store.SealedColumn{Table: "ratings", Key: []string{"case_id"}, Column: "comment", Text: true}

// SealedColumns are the columns of this package's tables that hold sealed
// personal data, for the sealing step and `handheld keys reseal`.
func SealedColumns() []store.SealedColumn { return []store.SealedColumn{sealedComment} }

// rate finds the case and inserts its rating. The case it returns carries
// its id and kind as soon as it is found, for the audit record, even when
// rating it then fails.
func (s *Service) rate(ctx context.Context, subject, channel, caseID string, level int, comment string) (Case, error) {
	c, err := s.mine(ctx, subject, caseID)
	if err != nil {
		return Case{}, err
	}
	if !c.Finished {
		return c, services.Errorf(services.CodeRatingNotRateable, "cases: %s %s is %s", c.Kind, c.ID, c.Status)
	}
	if c.Rating != 0 {
		return c, services.Errorf(services.CodeRatingAlreadyRated, "cases: %s %s rated before", c.Kind, c.ID)
	}
	// The primary key on case_id settles a race between two ratings: the
	// second insert conflicts, whatever the check above saw.
	if comment != "" {
		if comment, err = s.Store.SealText(comment, sealedComment.Place(c.ID)); err != nil {
			return c, services.Errorf(services.CodeInternal, "cases: rate %s %s: %w", c.Kind, c.ID, err)
		}
	}
	_, err = s.Store.Exec(ctx, `INSERT INTO ratings (case_id, case_kind, subject, level, comment, created_at, channel)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.ID, c.Kind, subject, level, comment, store.Timestamp(s.Now()), channel)
	switch {
	case errors.Is(err, store.ErrConflict):
		return c, services.Errorf(services.CodeRatingAlreadyRated, "cases: %s %s: %w", c.Kind, c.ID, err)
	case err != nil:
		return c, services.Errorf(services.CodeInternal, "cases: rate %s %s: %w", c.Kind, c.ID, err)
	}
	c.Rating = level
	if s.OnRated != nil {
		s.OnRated(level)
	}
	return c, nil
}

// mine reads subject's case id, of either kind; another subject's, or an
// id of any shape no case has, is not_found.
func (s *Service) mine(ctx context.Context, subject, id string) (Case, error) {
	if !idShape.MatchString(id) {
		return Case{}, services.Errorf(services.CodeNotFound, "cases: malformed id")
	}
	c, err := scanCase(s.Store.QueryRow(ctx,
		selectCases(` AND w.id = $2`, ` AND ce.id = $2`, ` AND tr.id = $2`, ` AND lp.id = $2`, `ORDER BY c.ord DESC LIMIT 1`), subject, id))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Case{}, services.Errorf(services.CodeNotFound, "cases: %w", err)
	case err != nil:
		return Case{}, services.Errorf(services.CodeInternal, "cases: read case: %w", err)
	}
	return c, nil
}

// checkRating validates the level and the comment together, so the client
// learns of both at once, and returns the comment trimmed as stored.
func checkRating(level int, comment string) (string, error) {
	var fields []services.FieldError
	if level < LevelVeryDissatisfied || level > LevelVerySatisfied {
		fields = append(fields, services.FieldError{Field: "level", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": LevelVeryDissatisfied, "max": LevelVerySatisfied}})
	}
	comment = strings.TrimSpace(comment)
	switch {
	case utf8.RuneCountInString(comment) > MaxCommentRunes:
		fields = append(fields, services.FieldError{Field: "comment", Code: services.FieldTooLong,
			Params: map[string]any{"max": MaxCommentRunes}})
	case !plainText(comment):
		fields = append(fields, services.FieldError{Field: "comment", Code: services.FieldFormat})
	}
	if len(fields) > 0 {
		return "", services.Invalid(fields...)
	}
	return comment, nil
}

// plainText refuses what has no place in a one-line remark shown on staff
// screens and in reports: invalid UTF-8, control characters (line breaks
// included), and the bidirectional overrides that make text display other
// than it reads.
func plainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) ||
			r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// Satisfaction is the centre's 满意率 input, over every rating so far:
// how many there are, and how many are SatisfiedFrom or better. It reads
// counts only, so it is not audited.
func (s *Service) Satisfaction(ctx context.Context) (rated, satisfied int64, err error) {
	err = s.Store.QueryRow(ctx, `SELECT COUNT(*), COUNT(CASE WHEN level >= $1 THEN 1 END) FROM ratings`,
		SatisfiedFrom).Scan(&rated, &satisfied)
	if err != nil {
		return 0, 0, services.Errorf(services.CodeInternal, "cases: satisfaction: %w", err)
	}
	return rated, satisfied, nil
}
