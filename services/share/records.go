package share

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// Share is one of a person's shares as they see it.
type Share struct {
	ID         string
	Subject    string
	PartyID    string
	PartyName  string
	Predicates []Predicate
	ValidUntil time.Time
	MaxUses    int
	Used       int
	RequestID  string // the party's request it was made by approving, if any
	CreatedAt  time.Time
	RevokedAt  time.Time // zero while not revoked
	// Status is active, revoked, expired or used_up at the time it was read.
	Status string
	// Uses are its uses that answered, newest first (List and Get).
	Uses []Use
}

// The statuses of a share.
const (
	ShareActive  = "active"
	ShareRevoked = "revoked"
	ShareExpired = "expired"
	ShareUsedUp  = "used_up"
)

// Use is one redemption that answered: which party, when, the predicates
// with their answers, and whether it spent a use (one whose every answer
// was cannot_tell does not).
type Use struct {
	ID        string
	PartyID   string
	PartyName string
	Answers   []Result
	Counted   bool
	At        time.Time
}

// shareColumns are the columns scanShare reads, in its order.
const shareColumns = `id, subject, party, predicates, request_id, max_uses, uses, valid_until, created_at, revoked_at`

// scanShare reads one shares row.
func (s *Service) scanShare(row interface{ Scan(...any) error }) (Share, error) {
	var sh Share
	var preds string
	var revoked sql.NullTime
	if err := row.Scan(&sh.ID, &sh.Subject, &sh.PartyID, &preds, &sh.RequestID, &sh.MaxUses, &sh.Used,
		&sh.ValidUntil, &sh.CreatedAt, &revoked); err != nil {
		return Share{}, err
	}
	var err error
	if sh.Predicates, err = decodePredicates(preds); err != nil {
		return Share{}, err
	}
	if revoked.Valid {
		sh.RevokedAt = store.Timestamp(revoked.Time)
	}
	sh.ValidUntil, sh.CreatedAt = store.Timestamp(sh.ValidUntil), store.Timestamp(sh.CreatedAt)
	sh.PartyName = s.partyName(sh.PartyID)
	sh.Status = sh.statusAt(s.Now())
	return sh, nil
}

// statusAt is the share's status at now: revoked first, then used up,
// then expired.
func (sh Share) statusAt(now time.Time) string {
	switch {
	case !sh.RevokedAt.IsZero():
		return ShareRevoked
	case sh.Used >= sh.MaxUses:
		return ShareUsedUp
	case !now.Before(sh.ValidUntil):
		return ShareExpired
	}
	return ShareActive
}

// refusal is the error a party is told for a share that is not active.
func (sh Share) refusal() error {
	switch sh.Status {
	case ShareRevoked:
		return services.E(services.CodeShareRevoked)
	case ShareUsedUp:
		return services.E(services.CodeShareUsedUp)
	case ShareExpired:
		return services.E(services.CodeShareExpired)
	}
	return nil
}

// partyName is a party's display name, its id when it has left the
// registry (its shares are still listed for their person).
func (s *Service) partyName(id string) string {
	if p, ok := s.parties[id]; ok {
		return p.Name
	}
	return id
}

// encodePredicates is the stored (and signed) JSON of preds, with the
// answers when results are given.
func encodePredicates(preds []Predicate, answers []Answer) (string, error) {
	out := make([]storedPredicate, 0, len(preds))
	for i, p := range preds {
		v, err := encodeValue(p.Value)
		if err != nil {
			return "", err
		}
		sp := storedPredicate{Name: p.Name, Value: v}
		if answers != nil {
			a := answers[i]
			sp.Answer = &a
		}
		out = append(out, sp)
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// decodePredicates reads what encodePredicates wrote.
func decodePredicates(s string) ([]Predicate, error) {
	ps, _, err := decodeStored(s)
	return ps, err
}

// decodeResults reads stored predicates with their answers.
func decodeResults(s string) ([]Result, error) {
	ps, answers, err := decodeStored(s)
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(ps))
	for i := range ps {
		out[i] = Result{Predicate: ps[i], Answer: answers[i]}
	}
	return out, nil
}

func decodeStored(s string) ([]Predicate, []Answer, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var stored []storedPredicate
	if err := dec.Decode(&stored); err != nil {
		return nil, nil, fmt.Errorf("share: stored predicates: %w", err)
	}
	ps := make([]Predicate, 0, len(stored))
	answers := make([]Answer, 0, len(stored))
	for _, sp := range stored {
		v, err := decodeValue(sp.Value)
		if err != nil {
			return nil, nil, err
		}
		ps = append(ps, Predicate{Name: sp.Name, Value: v})
		a := CannotTell
		if sp.Answer != nil {
			a = *sp.Answer
		}
		answers = append(answers, a)
	}
	return ps, answers, nil
}

// loadUses reads the uses of the given shares, newest first, by share id.
func (s *Service) loadUses(ctx context.Context, ids []string) (map[string][]Use, error) {
	out := map[string][]Use{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	in := ""
	for i, id := range ids {
		args[i] = id
		if i > 0 {
			in += ", "
		}
		in += fmt.Sprintf("$%d", i+1)
	}
	rows, err := s.Store.Query(ctx, `SELECT id, share_id, party, answers, counted, at FROM share_uses
		WHERE share_id IN (`+in+`) ORDER BY at DESC, id DESC`, args...)
	if err != nil {
		return nil, internal("uses", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u Use
		var shareID, answers string
		if err := rows.Scan(&u.ID, &shareID, &u.PartyID, &answers, &u.Counted, &u.At); err != nil {
			return nil, internal("uses", err)
		}
		if u.Answers, err = decodeResults(answers); err != nil {
			return nil, internal("uses", err)
		}
		u.At, u.PartyName = store.Timestamp(u.At), s.partyName(u.PartyID)
		out[shareID] = append(out[shareID], u)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("uses", err)
	}
	return out, nil
}

// internal wraps a store failure.
func internal(what string, err error) error {
	return services.Errorf(services.CodeInternal, "share: %s: %w", what, err)
}

// notFound reports a store.ErrNotFound.
func notFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
