package ecard

import (
	"context"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/store"
)

// Use is one verification of the holder's e-card: who ("verifier:<id>" or
// "device:<id>"), through which channel (verifier or kiosk), with what
// result (ok, closed, expired, replayed, wrong_centre, no_account), when.
type Use struct {
	Verifier string
	Channel  string
	Result   string
	At       time.Time
}

// recordUse stores one verification attempt on subject's card.
func (s *Service) recordUse(ctx context.Context, subject, verifier, channel, result string) error {
	_, err := s.Store.Exec(ctx, `INSERT INTO ecard_uses (subject, verifier, channel, result, at) VALUES ($1, $2, $3, $4, $5)`,
		subject, verifier, channel, result, store.Timestamp(s.Now()))
	if err != nil {
		return services.Errorf(services.CodeInternal, "ecard: record use: %w", err)
	}
	return nil
}

// Usage lists who verified p's e-cards, newest first, at most UsageLimit.
// The read is audited (read.ecard_usage).
func (s *Service) Usage(ctx context.Context, p services.Principal) ([]Use, error) {
	if err := p.Depositor(); err != nil {
		return nil, err
	}
	uses, err := s.uses(ctx, p.Subject)
	rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: auditChannel(p), Action: ActionUsage, Target: "self"}
	if err := s.audited(ctx, rec, err); err != nil {
		return nil, err
	}
	return uses, nil
}

func (s *Service) uses(ctx context.Context, subject string) ([]Use, error) {
	rows, err := s.Store.Query(ctx, `SELECT verifier, channel, result, at FROM ecard_uses
		WHERE subject = $1 ORDER BY at DESC, id DESC LIMIT `+strconv.Itoa(UsageLimit), subject)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "ecard: usage: %w", err)
	}
	defer rows.Close()
	out := []Use{}
	for rows.Next() {
		var u Use
		if err := rows.Scan(&u.Verifier, &u.Channel, &u.Result, &u.At); err != nil {
			return nil, services.Errorf(services.CodeInternal, "ecard: usage: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "ecard: usage: %w", err)
	}
	return out, nil
}
