package identity

import (
	"context"
	"strconv"

	"handheld/services"
)

// Subject is a person handheld knows: one who signed in once, on any
// channel, and so has an inbox.
type Subject struct {
	ID       string // the pseudonymous subject id
	PersonID string // the core's person id
}

// Subjects pages through every subject in id order: up to limit after
// the subject id after ("" for the first page). The reminder rules
// (services/reminder) run over them; nothing personal but the core's
// person id leaves here.
func (s *Service) Subjects(ctx context.Context, after string, limit int) ([]Subject, error) {
	rows, err := s.Store.Query(ctx, `SELECT subject_id, person_id FROM subjects WHERE subject_id > $1
		ORDER BY subject_id LIMIT `+strconv.Itoa(max(limit, 1)), after)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "subjects: %w", err)
	}
	defer rows.Close()
	var out []Subject
	for rows.Next() {
		var sub Subject
		if err := rows.Scan(&sub.ID, &sub.PersonID); err != nil {
			return nil, services.Errorf(services.CodeInternal, "subjects: %w", err)
		}
		out = append(out, sub)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "subjects: %w", err)
	}
	return out, nil
}
