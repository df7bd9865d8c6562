// Package employer is the employer app's use cases: today the operator's
// own unit. The unit is read through the core.Reader like the depositor's
// screens, so it gets the same deadline, circuit breaker (the "employer"
// group of core_reads), short encrypted cache and stale answers while the
// core is down.
//
// Every use case takes the caller's services.Principal and reaches only the
// unit named in the operator's token: the unit code is never taken from
// anything the client sends, so no parameter can reach another unit (no
// BOLA). Every read leaves an audit record (read.unit) naming the operator,
// never the unit's code; a read that cannot be audited is not answered.
package employer

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
)

// ActionUnit is the audit action of a read of the operator's unit.
const ActionUnit = "read.unit"

// The collaborators, declared here by what this package needs of them.
type (
	// reader is the core read with deadlines, breakers and a short cache
	// (core.Reader).
	reader interface {
		Unit(ctx context.Context, unitCode string) (core.Unit, core.Freshness, error)
	}
	// auditor queues audit records without waiting for the commit.
	auditor interface {
		Enqueue(ctx context.Context, r audit.Record) error
	}
)

// Deps are a Service's collaborators, built once at the wiring point.
type Deps struct {
	Reader reader
	Audit  auditor
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the employer app's read use cases.
type Service struct {
	Deps
}

// New checks the dependencies and fills defaults.
func New(d Deps) (*Service, error) {
	if d.Reader == nil || d.Audit == nil {
		return nil, errors.New("employer: missing dependency (reader or audit)")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{Deps: d}, nil
}

// UnitView is the unit screen: the core's record of the unit and when it
// holds (stale when the core could not confirm it).
type UnitView struct {
	core.Unit
	core.Freshness
}

// Unit is the operator's own unit, the one in p's token.
func (s *Service) Unit(ctx context.Context, p services.Principal) (UnitView, error) {
	if err := operator(p); err != nil {
		return UnitView{}, err
	}
	u, f, err := s.Reader.Unit(ctx, p.Unit)
	if err == nil && u.UnitCode != p.Unit {
		// The core answered for another unit: show nothing rather than
		// someone else's record.
		err = services.Errorf(services.CodeInternal, "employer: the core answered for another unit")
	}
	if err := audit.Outcome(ctx, s.Audit, s.Logger, audit.Record{
		At: s.Now(), Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionUnit, Target: "unit:self",
	}, err); err != nil {
		return UnitView{}, err
	}
	if f.AsOf.IsZero() {
		f.AsOf = s.Now()
	}
	return UnitView{Unit: u, Freshness: f}, nil
}

// operator admits an employer operator with a unit and refuses anyone else
// with auth.forbidden. The route guards already ensure it; checking again
// keeps a wiring mistake from showing a unit to a depositor or a device.
func operator(p services.Principal) error {
	if p.Role != services.RoleEmployer || p.Subject == "" || p.Unit == "" {
		return services.Errorf(services.CodeForbidden, "role %q without a unit is not an employer operator", p.Role)
	}
	return nil
}
