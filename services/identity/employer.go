package identity

import (
	"context"
	"errors"
	"regexp"
	"time"
	"unicode/utf8"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/ratelimit"
)

// EmployerLogin is an operator's credentials from the employer app.
type EmployerLogin struct {
	UnitCode   string
	OperatorID string
	Password   string
	// Address is the client's address, which failures are counted by
	// together with the operator (see LoginEmployer).
	Address string
}

var operatorIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Validate checks the fields before anything is counted or sent.
func (l EmployerLogin) Validate() error {
	var fields []services.FieldError
	if err := services.ValidateUnitCode(l.UnitCode); err != nil {
		fields = append(fields, services.FieldError{Field: "unit_code", Code: services.FieldCode(err)})
	}
	if !operatorIDPattern.MatchString(l.OperatorID) {
		fields = append(fields, services.FieldError{Field: "operator_id", Code: services.FieldFormat})
	}
	if l.Password == "" {
		fields = append(fields, services.FieldError{Field: "password", Code: services.FieldRequired})
	} else if utf8.RuneCountInString(l.Password) > 128 { // characters, as the contract counts them
		fields = append(fields, services.FieldError{Field: "password", Code: services.FieldFormat})
	}
	if len(fields) > 0 {
		return services.Invalid(fields...)
	}
	return nil
}

// LoginEmployer checks an operator's credentials with the core, under the
// lockout policy (Policy.Lockout*): failures are counted per operator and
// address, and per operator alone.
//
//   - One address's failures on one operator lock that pair after
//     LockoutFailures within LockoutWindow, for LockoutDuration: a
//     stranger's guesses lock out the stranger, not the operator signing
//     in from elsewhere.
//   - Failures from every address together lock the operator after
//     LockoutOperatorFailures (a higher threshold), against guessing spread
//     over many addresses.
//   - After each failure the pair waits LockoutDelay, doubling with every
//     further failure up to LockoutDelayMax, before the core is asked again.
//
// A locked or waiting attempt is refused with auth.locked and Retry-After,
// without asking the core.
//
// While the core is in its maintenance window or unreachable, the password
// is checked against the sealed argon2id hash of the last one the core
// accepted for this operator (employer_cache.go), counting failures the
// same way; the check is forgotten on a failure the core saw, a password
// change, a reset and a disable, and expires after OperatorCredentialTTL.
func (s *Service) LoginEmployer(ctx context.Context, l EmployerLogin) (Tokens, error) {
	if err := l.Validate(); err != nil {
		return Tokens{}, err
	}
	operator := s.pseudonym("operator", l.UnitCode+"/"+l.OperatorID)
	actor := "operator:" + tag(operator)
	lk := lockKeysFor(operator, ratelimit.AddressKey(l.Address))
	if err := s.checkLocks(ctx, lk); err != nil {
		return Tokens{}, err
	}
	op, err := s.Core.AuthenticateOperator(ctx, core.OperatorLogin{UnitCode: l.UnitCode, OperatorID: l.OperatorID, Password: l.Password})
	action := "login.success"
	switch {
	case errors.Is(err, core.ErrInvalidCredentials):
		s.forgetOperatorCredential(ctx, operator)
		return Tokens{}, s.operatorFailed(ctx, actor, lk)
	case coreAway(err):
		// The core's nightly window or an outage: the cached check of the
		// last password the core accepted stands in, under the same
		// lockout. Nothing cached: the core's own 503.
		cached, found, ok := s.checkCachedCredential(ctx, operator, l.Password)
		switch {
		case !found:
			return Tokens{}, err
		case !ok:
			return Tokens{}, s.operatorFailed(ctx, actor, lk)
		}
		op, action = cached, "login.success_cached"
	case err != nil:
		return Tokens{}, err
	default:
		s.rememberOperatorCredential(ctx, operator, l.Password, op)
	}
	_ = s.KV.Del(ctx, lk.pairFail)
	_ = s.KV.Del(ctx, lk.pairWait)
	tok, err := s.operatorSession(ctx, op)
	if err != nil {
		return Tokens{}, err
	}
	return tok, s.record(ctx, audit.Record{Actor: actor, Channel: services.ChannelApp, Action: action,
		Target: "unit:" + tag(s.pseudonym("unit", op.UnitCode)), Result: "ok"})
}

// OperatorSubject is the subject of an operator's sessions: a pseudonym of
// the unit and operator id, never the id itself.
func (s *Service) OperatorSubject(unitCode, operatorID string) string {
	return "op_" + s.pseudonym("operator", unitCode+"/"+operatorID)[:26]
}

// operatorSession starts an employer session with the operator's role, and
// as a password-change-only session when they signed in with a temporary
// password. An operator the core names no known role for is refused.
func (s *Service) operatorSession(ctx context.Context, op core.Operator) (Tokens, error) {
	role := services.OperatorRole(op.Role)
	if !role.Valid() {
		return Tokens{}, services.Errorf(services.CodeCoreUnavailable, "core answered operator role %q", op.Role)
	}
	return s.startSession(ctx, session{Subject: s.OperatorSubject(op.UnitCode, op.OperatorID), Role: services.RoleEmployer,
		Channel: services.ChannelApp, Unit: op.UnitCode, ExpiresAt: s.Now().Add(s.Policy.RefreshTTL[services.ChannelApp]),
		OperatorRole: role, PasswordChange: op.MustChangePassword}, true)
}

// lockKeys are the kv keys of one operator's lockout state, seen from one
// address. kv hashes key names, so neither the operator's pseudonym nor
// the address is readable in kv.
type lockKeys struct {
	opLock, opFail               string // the operator, from any address
	pairLock, pairFail, pairWait string // the operator from this address
}

func lockKeysFor(operator, address string) lockKeys {
	pair := operator + "@" + address
	return lockKeys{opLock: "oplock:" + operator, opFail: "opfail:" + operator,
		pairLock: "oppairlock:" + pair, pairFail: "oppairfail:" + pair, pairWait: "oppairwait:" + pair}
}

// checkLocks refuses while the operator, or the operator from this address,
// is locked or waiting out its delay.
func (s *Service) checkLocks(ctx context.Context, lk lockKeys) error {
	for _, key := range []string{lk.opLock, lk.pairLock, lk.pairWait} {
		d, err := s.KV.TTL(ctx, key)
		if err != nil {
			return services.Errorf(services.CodeInternal, "lockout check: %w", err)
		}
		if d > 0 {
			return &services.Error{Code: services.CodeLocked, RetryAfter: d}
		}
	}
	return nil
}

// operatorFailed counts a failure for the pair and the operator, locks
// whichever reached its threshold, and otherwise makes the pair wait.
func (s *Service) operatorFailed(ctx context.Context, actor string, lk lockKeys) error {
	p := s.Policy
	pairN, err := s.KV.Incr(ctx, lk.pairFail, p.LockoutWindow)
	if err != nil {
		return services.Errorf(services.CodeInternal, "count failure: %w", err)
	}
	opN, err := s.KV.Incr(ctx, lk.opFail, p.LockoutWindow)
	if err != nil {
		return services.Errorf(services.CodeInternal, "count failure: %w", err)
	}
	if err := s.record(ctx, audit.Record{Actor: actor, Channel: services.ChannelApp, Action: "login.failure", Target: "employer", Result: "denied"}); err != nil {
		return err
	}
	lock, failKey := "", ""
	switch {
	case opN >= int64(p.LockoutOperatorFailures):
		lock, failKey = lk.opLock, lk.opFail
	case pairN >= int64(p.LockoutFailures):
		lock, failKey = lk.pairLock, lk.pairFail
	default:
		if d := failureDelay(p, pairN); d > 0 {
			if err := s.KV.Set(ctx, lk.pairWait, []byte{1}, d); err != nil {
				return services.Errorf(services.CodeInternal, "delay: %w", err)
			}
		}
		return services.E(services.CodeBadCredentials)
	}
	if err := s.KV.Set(ctx, lock, []byte{1}, p.LockoutDuration); err != nil {
		return services.Errorf(services.CodeInternal, "lock: %w", err)
	}
	_ = s.KV.Del(ctx, failKey)
	if err := s.record(ctx, audit.Record{Actor: actor, Channel: services.ChannelApp, Action: "lockout", Target: "employer", Result: "denied"}); err != nil {
		return err
	}
	return &services.Error{Code: services.CodeLocked, RetryAfter: p.LockoutDuration}
}

// failureDelay is the wait after a pair's n-th failure: LockoutDelay,
// doubled for each further failure, at most LockoutDelayMax.
func failureDelay(p Policy, n int64) time.Duration {
	d := p.LockoutDelay
	for i := int64(1); i < n && d < p.LockoutDelayMax; i++ {
		d *= 2
	}
	return min(d, p.LockoutDelayMax)
}
