package identity

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"handheld/services"
	"handheld/services/store"
	"handheld/services/usertext"
)

// subjectFor returns the person's pseudonymous subject id, creating it the
// first time the person signs in on any channel.
func (s *Service) subjectFor(ctx context.Context, personID string) (string, error) {
	if _, err := s.Store.Exec(ctx, `INSERT INTO subjects (subject_id, person_id, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (person_id) DO NOTHING`, randomID("s_", 15), personID, s.Now()); err != nil {
		return "", services.Errorf(services.CodeInternal, "subject: %w", err)
	}
	var subject string
	if err := s.Store.QueryRow(ctx, `SELECT subject_id FROM subjects WHERE person_id = $1`, personID).Scan(&subject); err != nil {
		return "", services.Errorf(services.CodeInternal, "subject: %w", err)
	}
	return subject, nil
}

// PersonID maps a subject back to the core's person id, for use cases that
// call the core on the subject's behalf.
// A subject never changes its person, so the answer is remembered.
func (s *Service) PersonID(ctx context.Context, subject string) (string, error) {
	if id, ok := s.people.get(subject); ok {
		return id, nil
	}
	var personID string
	err := s.Store.QueryRow(ctx, `SELECT person_id FROM subjects WHERE subject_id = $1`, subject).Scan(&personID)
	if err != nil {
		return "", services.Errorf(services.CodeSessionRevoked, "unknown subject: %w", err)
	}
	s.people.put(subject, personID)
	return personID, nil
}

// PersonIDs is PersonID for many subjects at once, for a batch of work on
// behalf of many people (the outbox's withdrawal submissions): the ones
// not remembered are read in one query. A subject unknown here is absent
// from the answer.
func (s *Service) PersonIDs(ctx context.Context, subjects []string) (map[string]string, error) {
	found := make(map[string]string, len(subjects))
	var missing []string
	for _, subject := range subjects {
		if id, ok := s.people.get(subject); ok {
			found[subject] = id
		} else {
			missing = append(missing, subject)
		}
	}
	slices.Sort(missing)
	if missing = slices.Compact(missing); len(missing) == 0 {
		return found, nil
	}
	rows, err := s.Store.Query(ctx, `SELECT subject_id, person_id FROM subjects WHERE subject_id IN (`+store.Placeholders(1, len(missing))+`)`,
		store.Args(missing...)...)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "subjects: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var subject, personID string
		if err := rows.Scan(&subject, &personID); err != nil {
			return nil, services.Errorf(services.CodeInternal, "subjects: %w", err)
		}
		found[subject] = personID
		s.people.put(subject, personID)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "subjects: %w", err)
	}
	return found, nil
}

// SubjectOf is the subject of a core person id, ok false when the person
// has never signed in (and so has no subject and no one to tell): for
// messages to a person that an event elsewhere (an employer's join) names
// by person id. It never creates one.
func (s *Service) SubjectOf(ctx context.Context, personID string) (subject string, ok bool, err error) {
	err = s.Store.QueryRow(ctx, `SELECT subject_id FROM subjects WHERE person_id = $1`, personID).Scan(&subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, services.Errorf(services.CodeInternal, "subject: %w", err)
	}
	return subject, true, nil
}

// personCache remembers subject → person id, bounded: when full it starts over.
type personCache struct {
	mu  sync.RWMutex
	m   map[string]string
	max int
}

func (c *personCache) get(subject string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.m[subject]
	return id, ok
}

func (c *personCache) put(subject, personID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = map[string]string{}
	}
	c.m[subject] = personID
}

// validateIdentity checks a name and an ID number locally (format, GB 11643
// check digit, birth date) so that obviously wrong input never reaches the
// core nor spends a single-use token.
func validateIdentity(name, idNumber string, now time.Time) error {
	var fields []services.FieldError
	// Characters that cannot be part of a name (controls, bidi overrides,
	// private use, see usertext.Refused) are refused like a wrong length;
	// the name is compared with the core's as it is, not normalized.
	if n := utf8.RuneCountInString(name); n < 2 || n > 30 || !utf8.ValidString(name) || strings.ContainsFunc(name, usertext.Refused) {
		fields = append(fields, services.FieldError{Field: "name", Code: services.FieldFormat})
	}
	if err := services.ValidateIDNumber(idNumber, now); err != nil {
		code := services.FieldCode(err)
		if errors.Is(err, services.ErrIDBirthDate) {
			code = "birth_date"
		}
		fields = append(fields, services.FieldError{Field: "id_number", Code: code})
	}
	if len(fields) > 0 {
		return services.Invalid(fields...)
	}
	return nil
}
