// Package operator is a unit administrator managing the unit's operators
// (issue 15): listing them, adding clerks with a one-time temporary
// password, disabling and re-enabling them, and resetting their password.
// The core holds the operators and their hashed passwords; this package
// never stores, logs or audits a password, and names operators in the
// audit trail by pseudonym only.
package operator

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"time"
	"unicode"
	"unicode/utf8"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
)

// The interfaces the use cases need.
type (
	operatorsCore interface {
		Operators(ctx context.Context, unitCode string) (core.OperatorList, error)
		AddOperator(ctx context.Context, unitCode string, op core.NewOperator) (core.OperatorRecord, error)
		SetOperatorStatus(ctx context.Context, unitCode, operatorID, status string) (core.OperatorRecord, error)
		ResetOperatorPassword(ctx context.Context, unitCode, operatorID, temporary string) (core.OperatorRecord, error)
	}
	// sessions ends an operator's sessions and names their subject.
	sessions interface {
		RevokeOperator(ctx context.Context, unitCode, operatorID, reason string) error
		OperatorSubject(unitCode, operatorID string) string
	}
	// locks keeps two changes of one operator from running at once.
	locks interface {
		SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
		Del(ctx context.Context, key string) error
	}
	auditor interface {
		Append(ctx context.Context, r audit.Record) error
	}
)

// Deps are the collaborators, built once in bff/app.go.
type Deps struct {
	Core     operatorsCore
	Sessions sessions
	Locks    locks
	Audit    auditor
	// Secret keys the pseudonyms that name operators in the audit trail.
	Secret services.HashKey
	// Rand is the source of temporary passwords; crypto/rand when nil.
	Rand   io.Reader
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the operator management use cases.
type Service struct{ Deps }

// New checks the dependencies.
func New(d Deps) (*Service, error) {
	if d.Core == nil || d.Sessions == nil || d.Locks == nil || d.Audit == nil {
		return nil, errors.New("operator: missing dependency")
	}
	if d.Secret.Size() < 32 {
		return nil, errors.New("operator: secret must be at least 32 bytes")
	}
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{d}, nil
}

// View is one operator as the administrator's list shows them. Self marks
// the administrator's own line (which they cannot disable or reset).
type View struct {
	OperatorID         string
	Name               string
	Role               services.OperatorRole
	Status             string
	MustChangePassword bool
	Self               bool
}

// Added is a new operator and their temporary password, shown once.
type Added struct {
	Operator          View
	TemporaryPassword string
}

var operatorIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// admin admits the unit's administrator only. The route policy already
// does; checking again keeps a wiring mistake from opening the use case.
func admin(p services.Principal) error {
	if p.Role != services.RoleEmployer || p.Unit == "" || p.OperatorRole != services.OperatorAdmin || p.PasswordChange {
		return services.Errorf(services.CodeForbidden, "operator management needs the unit's administrator")
	}
	return nil
}

// List answers the unit's operators.
func (s *Service) List(ctx context.Context, p services.Principal) ([]View, error) {
	if err := admin(p); err != nil {
		return nil, err
	}
	list, err := s.Core.Operators(ctx, p.Unit)
	if err != nil {
		return nil, err
	}
	out := make([]View, 0, len(list.Items))
	for _, o := range list.Items {
		out = append(out, s.view(p, o))
	}
	return out, s.record(ctx, p, "operator.list", "unit:"+s.tag("unit", p.Unit), "ok")
}

// Add adds a clerk with a temporary password, which the answer shows once
// and nothing keeps: lost, it is reset, never read back.
func (s *Service) Add(ctx context.Context, p services.Principal, operatorID, name string) (Added, error) {
	if err := admin(p); err != nil {
		return Added{}, err
	}
	var fields []services.FieldError
	if !operatorIDPattern.MatchString(operatorID) {
		fields = append(fields, services.FieldError{Field: "operator_id", Code: services.FieldFormat})
	}
	switch n := utf8.RuneCountInString(name); {
	case name == "":
		fields = append(fields, services.FieldError{Field: "name", Code: services.FieldRequired})
	case n > 50:
		fields = append(fields, services.FieldError{Field: "name", Code: services.FieldTooLong, Params: map[string]any{"max": 50}})
	case !printable(name):
		fields = append(fields, services.FieldError{Field: "name", Code: services.FieldFormat})
	}
	if len(fields) > 0 {
		return Added{}, services.Invalid(fields...)
	}
	unlock, err := s.lock(ctx, p.Unit, operatorID)
	if err != nil {
		return Added{}, err
	}
	defer unlock()
	temp, err := s.temporaryPassword()
	if err != nil {
		return Added{}, err
	}
	rec, err := s.Core.AddOperator(ctx, p.Unit, core.NewOperator{OperatorID: operatorID, Name: name, Role: core.OperatorClerk, TemporaryPassword: temp})
	if err != nil {
		_ = s.record(ctx, p, "operator.add", s.target(p.Unit, operatorID), "denied")
		return Added{}, err
	}
	return Added{Operator: s.view(p, rec), TemporaryPassword: temp}, s.record(ctx, p, "operator.add", s.target(p.Unit, operatorID), "ok")
}

// Disable stops an operator signing in and ends their sessions at once.
// Administrators cannot disable themselves; the unit's last active
// administrator stays (the core checks it with the change).
func (s *Service) Disable(ctx context.Context, p services.Principal, operatorID string) (View, error) {
	return s.change(ctx, p, operatorID, "operator.disable", func() (core.OperatorRecord, error) {
		return s.Core.SetOperatorStatus(ctx, p.Unit, operatorID, core.OperatorDisabled)
	}, "disabled")
}

// Enable lets a disabled operator sign in again, with their password as it
// was.
func (s *Service) Enable(ctx context.Context, p services.Principal, operatorID string) (View, error) {
	return s.change(ctx, p, operatorID, "operator.enable", func() (core.OperatorRecord, error) {
		return s.Core.SetOperatorStatus(ctx, p.Unit, operatorID, core.OperatorActive)
	}, "")
}

// Reset gives an operator a new temporary password, shown once, and ends
// their sessions: whoever held the old password is out.
func (s *Service) Reset(ctx context.Context, p services.Principal, operatorID string) (Added, error) {
	temp, err := s.temporaryPassword()
	if err != nil {
		return Added{}, err
	}
	v, err := s.change(ctx, p, operatorID, "operator.reset_password", func() (core.OperatorRecord, error) {
		return s.Core.ResetOperatorPassword(ctx, p.Unit, operatorID, temp)
	}, "password_reset")
	if err != nil {
		return Added{}, err
	}
	return Added{Operator: v, TemporaryPassword: temp}, nil
}

// change runs one change of another operator of the unit: one at a time
// per operator, audited, and ending the operator's sessions when revoke
// names a reason.
func (s *Service) change(ctx context.Context, p services.Principal, operatorID, action string,
	apply func() (core.OperatorRecord, error), revoke string) (View, error) {
	if err := admin(p); err != nil {
		return View{}, err
	}
	if !operatorIDPattern.MatchString(operatorID) {
		return View{}, services.E(services.CodeOperatorNotFound)
	}
	if s.Sessions.OperatorSubject(p.Unit, operatorID) == p.Subject {
		_ = s.record(ctx, p, action, s.target(p.Unit, operatorID), "denied")
		return View{}, services.E(services.CodeOperatorSelf)
	}
	unlock, err := s.lock(ctx, p.Unit, operatorID)
	if err != nil {
		return View{}, err
	}
	defer unlock()
	rec, err := apply()
	if err != nil {
		_ = s.record(ctx, p, action, s.target(p.Unit, operatorID), "denied")
		return View{}, err
	}
	if revoke != "" {
		if err := s.Sessions.RevokeOperator(ctx, p.Unit, operatorID, revoke); err != nil {
			return View{}, err
		}
	}
	return s.view(p, rec), s.record(ctx, p, action, s.target(p.Unit, operatorID), "ok")
}

// lock holds one operator for the length of a change: a second change at
// once (two resets, each showing a password only one of which would work)
// is refused with operator.in_flight.
func (s *Service) lock(ctx context.Context, unitCode, operatorID string) (func(), error) {
	key := "operator-change:" + s.Sessions.OperatorSubject(unitCode, operatorID)
	ok, err := s.Locks.SetNX(ctx, key, []byte{1}, 30*time.Second)
	if err != nil {
		return nil, services.Errorf(services.CodeUnavailable, "operator lock: %w", err)
	}
	if !ok {
		return nil, services.E(services.CodeOperatorInFlight)
	}
	return func() {
		if err := s.Locks.Del(context.WithoutCancel(ctx), key); err != nil {
			s.Logger.WarnContext(ctx, "operator lock not released; it expires by itself", "cause", err.Error())
		}
	}, nil
}

func (s *Service) view(p services.Principal, o core.OperatorRecord) View {
	return View{OperatorID: o.OperatorID, Name: o.Name, Role: services.OperatorRole(o.Role), Status: o.Status,
		MustChangePassword: o.MustChangePassword, Self: s.Sessions.OperatorSubject(p.Unit, o.OperatorID) == p.Subject}
}

func (s *Service) tag(namespace, value string) string {
	return s.Secret.Pseudonym(namespace, value)[:32]
}

// target names an operator in the audit trail by pseudonym.
func (s *Service) target(unitCode, operatorID string) string {
	return "operator:" + s.tag("operator", unitCode+"/"+operatorID)
}

func (s *Service) record(ctx context.Context, p services.Principal, action, target, result string) error {
	err := s.Audit.Append(ctx, audit.Record{At: s.Now(), Actor: p.Subject, Channel: p.Channel, Action: action,
		Target: target, RequestID: services.RequestID(ctx), Result: result})
	if err != nil {
		return services.Errorf(services.CodeInternal, "audit %s: %w", action, err)
	}
	return nil
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
