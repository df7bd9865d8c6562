package identity

import (
	"context"
	"errors"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/ratelimit"
)

// PasswordChange is an operator choosing their own password.
type PasswordChange struct {
	CurrentPassword string
	NewPassword     string
	// Address is the client's address: failures of the current password
	// count towards the operator's lockout as sign-in failures do.
	Address string
}

// ChangeOperatorPassword lets a signed-in operator choose a new password,
// the only thing a session signed in with a temporary password may do.
// The new password must meet the policy (request.invalid with a field code
// per broken rule); the current one is checked by the core under the same
// lockout as sign-in, so the route cannot be used to guess it. On success
// every session of the operator ends, this one included, and a new one
// begins, with the operator's role and without the password-change mark.
func (s *Service) ChangeOperatorPassword(ctx context.Context, p services.Principal, ch PasswordChange) (Tokens, error) {
	if p.Role != services.RoleEmployer || p.Unit == "" {
		return Tokens{}, services.Errorf(services.CodeForbidden, "role %q has no operator password", p.Role)
	}
	if ch.CurrentPassword == "" {
		return Tokens{}, services.Invalid(services.FieldError{Field: "current_password", Code: services.FieldRequired})
	}
	if len(ch.CurrentPassword) > 4*s.Policy.Password.MaxLength {
		return Tokens{}, services.Invalid(services.FieldError{Field: "current_password", Code: services.FieldFormat})
	}
	operatorID, err := s.operatorIDOf(ctx, p)
	if err != nil {
		return Tokens{}, err
	}
	if fields := s.Policy.Password.Check("new_password", ch.NewPassword, operatorID, ch.CurrentPassword); len(fields) > 0 {
		return Tokens{}, services.Invalid(fields...)
	}
	operator := s.pseudonym("operator", p.Unit+"/"+operatorID)
	actor := "operator:" + tag(operator)
	lk := lockKeysFor(operator, ratelimit.AddressKey(ch.Address))
	if err := s.checkLocks(ctx, lk); err != nil {
		return Tokens{}, err
	}
	op, err := s.Core.ChangeOperatorPassword(ctx, core.PasswordChange{UnitCode: p.Unit, OperatorID: operatorID,
		CurrentPassword: ch.CurrentPassword, NewPassword: ch.NewPassword})
	if errors.Is(err, core.ErrInvalidCredentials) {
		return Tokens{}, s.operatorFailed(ctx, actor, lk)
	}
	if err != nil {
		return Tokens{}, err
	}
	_ = s.KV.Del(ctx, lk.pairFail)
	_ = s.KV.Del(ctx, lk.pairWait)
	if err := s.RevokeOperator(ctx, p.Unit, operatorID, "password_changed"); err != nil {
		return Tokens{}, err
	}
	s.rememberOperatorCredential(ctx, operator, ch.NewPassword, op)
	tok, err := s.operatorSession(ctx, op)
	if err != nil {
		return Tokens{}, err
	}
	return tok, s.record(ctx, audit.Record{Actor: actor, Channel: services.ChannelApp, Action: "operator.password_change",
		Target: "operator:" + tag(operator), Result: "ok"})
}

// operatorIDOf finds the operator a session belongs to among the unit's
// operators: sessions and tokens hold only a pseudonym of the operator id.
func (s *Service) operatorIDOf(ctx context.Context, p services.Principal) (string, error) {
	list, err := s.Core.Operators(ctx, p.Unit)
	if err != nil {
		return "", err
	}
	for _, o := range list.Items {
		if s.OperatorSubject(p.Unit, o.OperatorID) == p.Subject {
			return o.OperatorID, nil
		}
	}
	// Removed from the unit since signing in.
	return "", services.Errorf(services.CodeSessionRevoked, "the session's operator is not one of the unit's")
}

// RevokeOperator ends every live session of a unit's operator, on every
// replica (through kv, as logout does): after a disable, a reset or a
// password change, neither the operator's access tokens nor their refresh
// tokens are accepted again.
func (s *Service) RevokeOperator(ctx context.Context, unitCode, operatorID, reason string) error {
	// A disabled, reset or changed password must not be accepted at night
	// from the cached check either.
	s.forgetOperatorCredential(ctx, s.pseudonym("operator", unitCode+"/"+operatorID))
	subject := s.OperatorSubject(unitCode, operatorID)
	rows, err := s.Store.Query(ctx, `SELECT id, expires_at FROM sessions
		WHERE subject = $1 AND role = $2 AND unit_code = $3 AND revoked_at IS NULL AND expires_at > $4`,
		subject, services.RoleEmployer, unitCode, s.Now())
	if err != nil {
		return services.Errorf(services.CodeInternal, "operator sessions: %w", err)
	}
	var live []session
	for rows.Next() {
		sess := session{Subject: subject, Role: services.RoleEmployer, Channel: services.ChannelApp}
		var expires time.Time
		if err := rows.Scan(&sess.ID, &expires); err != nil {
			rows.Close()
			return services.Errorf(services.CodeInternal, "operator sessions: %w", err)
		}
		sess.ExpiresAt = expires
		live = append(live, sess)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return services.Errorf(services.CodeInternal, "operator sessions: %w", err)
	}
	rows.Close()
	for _, sess := range live {
		if err := s.revoke(ctx, sess, reason); err != nil {
			return err
		}
	}
	return nil
}
