package identity

import (
	"context"
	"errors"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/store"
)

// StepUp raises a session's assurance with a fresh face check: the face
// result must be for this session's person (and, in the mini-program, come
// from a face check this session started), unexpired and unused. The
// session is marked face-checked now, and a new access token carries the
// fresh auth_time; the refresh token is unchanged. Services needing a
// recent face check admit the session until their max_age has passed.
func (s *Service) StepUp(ctx context.Context, p services.Principal, faceResult string) (Tokens, error) {
	if err := p.Depositor(); err != nil {
		return Tokens{}, err
	}
	if faceResult == "" {
		return Tokens{}, services.Invalid(services.FieldError{Field: "face_result", Code: services.FieldRequired})
	}
	sess := session{ID: p.Session}
	var revoked bool
	err := s.Store.QueryRow(ctx, `SELECT subject, role, channel, device_id, created_at, expires_at, openid_hash, revoked_at IS NOT NULL
		FROM sessions WHERE id = $1`, p.Session).
		Scan(&sess.Subject, &sess.Role, &sess.Channel, &sess.Device, &sess.CreatedAt, &sess.ExpiresAt, &sess.OpenIDHash, &revoked)
	if errors.Is(err, store.ErrNotFound) || revoked || sess.Subject != p.Subject || !s.Now().Before(sess.ExpiresAt) {
		return Tokens{}, services.E(services.CodeSessionRevoked)
	}
	if err != nil {
		return Tokens{}, services.Errorf(services.CodeInternal, "step-up: %w", err)
	}
	person, err := s.personOf(ctx, p.Subject)
	if err != nil {
		return Tokens{}, err
	}
	if err := s.attempt(ctx, person.IDNumber, sess.OpenIDHash); err != nil {
		return Tokens{}, err
	}
	faced, err := s.checkFace(ctx, faceSubject{owner: sessionOwner(p.Session), channel: sess.Channel,
		name: person.Name, idNumber: person.IDNumber}, faceResult)
	if err == nil && faced != "" && faced != person.PersonID {
		err = services.Errorf(services.CodeFaceFailed, "liveness token of another person")
	}
	if err != nil {
		if aerr := s.record(ctx, audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel,
			Action: "step_up", Target: "session:" + p.Session, Result: "denied"}); aerr != nil {
			return Tokens{}, aerr
		}
		return Tokens{}, err
	}
	now := s.Now()
	res, err := s.Store.Exec(ctx, `UPDATE sessions SET acr = $1, auth_time = $2 WHERE id = $3 AND revoked_at IS NULL`,
		string(services.ACRFace), now, p.Session)
	if err != nil {
		return Tokens{}, services.Errorf(services.CodeInternal, "step-up: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return Tokens{}, services.E(services.CodeSessionRevoked)
	}
	s.attemptsSucceeded(ctx, person.IDNumber, sess.OpenIDHash)
	sess.ACR, sess.AuthTime = services.ACRFace, now
	tok, err := s.accessToken(sess)
	if err != nil {
		return Tokens{}, err
	}
	return tok, s.record(ctx, audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel,
		Action: "step_up", Target: "session:" + p.Session, Result: "ok"})
}
