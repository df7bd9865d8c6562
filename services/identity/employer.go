package identity

import (
	"context"
	"errors"
	"regexp"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
)

// EmployerLogin is an operator's credentials from the employer app.
type EmployerLogin struct {
	UnitCode   string
	OperatorID string
	Password   string
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
	} else if len(l.Password) > 128 {
		fields = append(fields, services.FieldError{Field: "password", Code: services.FieldFormat})
	}
	if len(fields) > 0 {
		return services.Invalid(fields...)
	}
	return nil
}

// LoginEmployer checks an operator's credentials with the core. After
// LockoutFailures failures within LockoutWindow the operator is locked for
// LockoutDuration, whatever address the attempts come from.
func (s *Service) LoginEmployer(ctx context.Context, l EmployerLogin) (Tokens, error) {
	if err := l.Validate(); err != nil {
		return Tokens{}, err
	}
	operator := s.pseudonym("operator", l.UnitCode+"/"+l.OperatorID)
	actor := "operator:" + tag(operator)
	lockKey, failKey := "oplock:"+operator, "opfail:"+operator
	if d, err := s.KV.TTL(ctx, lockKey); err != nil {
		return Tokens{}, services.Errorf(services.CodeInternal, "lockout check: %w", err)
	} else if d > 0 {
		return Tokens{}, &services.Error{Code: services.CodeLocked, RetryAfter: d}
	}
	op, err := s.Core.AuthenticateOperator(ctx, core.OperatorLogin{UnitCode: l.UnitCode, OperatorID: l.OperatorID, Password: l.Password})
	if errors.Is(err, core.ErrInvalidCredentials) {
		return Tokens{}, s.operatorFailed(ctx, actor, lockKey, failKey)
	}
	if err != nil {
		return Tokens{}, err
	}
	_ = s.KV.Del(ctx, failKey)
	tok, err := s.startSession(ctx, session{Subject: "op_" + operator[:26], Role: RoleEmployer, Channel: ChannelApp,
		Unit: op.UnitCode, ExpiresAt: s.Now().Add(s.Policy.RefreshTTL[ChannelApp])}, true)
	if err != nil {
		return Tokens{}, err
	}
	return tok, s.record(ctx, audit.Record{Actor: actor, Channel: ChannelApp, Action: "login.success",
		Target: "unit:" + tag(s.pseudonym("unit", op.UnitCode)), Result: "ok"})
}

// operatorFailed counts a failure and locks the operator at the threshold.
func (s *Service) operatorFailed(ctx context.Context, actor, lockKey, failKey string) error {
	n, err := s.KV.Incr(ctx, failKey, s.Policy.LockoutWindow)
	if err != nil {
		return services.Errorf(services.CodeInternal, "count failure: %w", err)
	}
	if err := s.record(ctx, audit.Record{Actor: actor, Channel: ChannelApp, Action: "login.failure", Target: "employer", Result: "denied"}); err != nil {
		return err
	}
	if n < int64(s.Policy.LockoutFailures) {
		return services.E(services.CodeBadCredentials)
	}
	if err := s.KV.Set(ctx, lockKey, []byte{1}, s.Policy.LockoutDuration); err != nil {
		return services.Errorf(services.CodeInternal, "lock: %w", err)
	}
	_ = s.KV.Del(ctx, failKey)
	if err := s.record(ctx, audit.Record{Actor: actor, Channel: ChannelApp, Action: "lockout", Target: "employer", Result: "denied"}); err != nil {
		return err
	}
	return &services.Error{Code: services.CodeLocked, RetryAfter: s.Policy.LockoutDuration}
}
