// Package account is the depositor's own screens: account, deposit history,
// loan, repayment plan and the home screen that sums them up. Every use case
// takes the caller's services.Principal and reads only that person's data:
// the person is found from the token's subject, never from anything the
// client sends, and lists are paged with cursors sealed to the subject (see
// cursor.go), so no parameter can reach another person (no BOLA).
//
// Every read of personal data leaves an audit record (read.account,
// read.deposits, read.loan, read.loan_schedule, read.home) naming the
// subject, never the data; a read that cannot be audited is not answered.
// Values shown are masked per channel by the centre's mask.Policy.
package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/mask"
)

// The audit actions of this package.
const (
	ActionAccount      = "read.account"
	ActionDeposits     = "read.deposits"
	ActionLoan         = "read.loan"
	ActionLoanSchedule = "read.loan_schedule"
	ActionHome         = "read.home"
)

// DefaultHomeDeadline bounds the home screen's core reads: a part slower
// than this is left out rather than hold the whole screen.
const DefaultHomeDeadline = 800 * time.Millisecond

// The collaborators, declared here by what this package needs of them.
type (
	// reader is the core, read with deadlines, breakers and a short cache
	// (core.Reader); Freshness says whether an answer is remembered.
	reader interface {
		Person(ctx context.Context, personID string) (core.Person, core.Freshness, error)
		Account(ctx context.Context, personID string) (core.Account, core.Freshness, error)
		Deposits(ctx context.Context, personID string, q core.DepositQuery) (core.DepositPage, core.Freshness, error)
		Loan(ctx context.Context, personID string) (core.Loan, core.Freshness, error)
		LoanSchedule(ctx context.Context, personID string, limit int, cursor string) (core.SchedulePage, core.Freshness, error)
	}
	// people maps the token's subject to the core's person id.
	people interface {
		PersonID(ctx context.Context, subject string) (string, error)
	}
	// auditor queues audit records without waiting for the commit.
	auditor interface {
		Enqueue(ctx context.Context, r audit.Record) error
	}
	// applications lists a subject's applications still in progress
	// (withdrawals, later transfers) for the home screen.
	applications interface {
		InFlight(ctx context.Context, subject string) ([]Application, error)
	}
)

// Deps are a Service's collaborators and policy, built once in bff/app.go.
type Deps struct {
	Reader reader
	People people
	Audit  auditor
	// Applications feeds the home screen's in-flight list; nil shows an
	// empty list (until withdrawals exist).
	Applications applications
	// Mask is the centre's masking policy (mask.DefaultPolicy overlaid
	// with its configuration); nil means mask.DefaultPolicy.
	Mask mask.Policy
	// Secret keys the sealing of list cursors and entry ids; at least 32
	// bytes, the same on every replica.
	Secret services.HashKey
	// HomeDeadline bounds the home screen's parallel reads; default
	// DefaultHomeDeadline.
	HomeDeadline time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
}

// Service is the depositor's read use cases.
type Service struct {
	Deps
	seal sealer
}

// New checks the dependencies and fills defaults.
func New(d Deps) (*Service, error) {
	switch {
	case d.Reader == nil || d.People == nil || d.Audit == nil:
		return nil, errors.New("account: missing dependency (reader, people or audit)")
	case d.Secret.Size() < 32:
		return nil, errors.New("account: secret must be at least 32 bytes")
	case d.HomeDeadline < 0:
		return nil, fmt.Errorf("account: home deadline %s is negative", d.HomeDeadline)
	}
	if err := d.Mask.Validate(); err != nil {
		return nil, err
	}
	if d.Mask == nil {
		d.Mask = mask.DefaultPolicy()
	}
	if d.HomeDeadline == 0 {
		d.HomeDeadline = DefaultHomeDeadline
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	seal, err := newSealer(d.Secret)
	if err != nil {
		return nil, err
	}
	return &Service{Deps: d, seal: seal}, nil
}

// personID resolves the principal to the core's person. Only depositor
// principals have one; the route guards already ensure it, and checking
// again here keeps a wiring mistake from exposing anyone's account.
func (s *Service) personID(ctx context.Context, p services.Principal) (string, error) {
	if err := p.Depositor(); err != nil {
		return "", err
	}
	return s.People.PersonID(ctx, p.Subject)
}

// audited records a read of p's own data (see audit.Outcome).
func (s *Service) audited(ctx context.Context, p services.Principal, action string, readErr error) error {
	return audit.Outcome(ctx, s.Audit, s.Logger, audit.Record{
		At: s.Now(), Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: action, Target: "self",
	}, readErr)
}

// freshness folds the freshness of several reads into one: stale when any
// is, as of the oldest answer. Zero when given none.
func freshness(fs ...core.Freshness) core.Freshness {
	var out core.Freshness
	for _, f := range fs {
		out.Stale = out.Stale || f.Stale
		if f.MaintenanceUntil.After(out.MaintenanceUntil) {
			out.MaintenanceUntil = f.MaintenanceUntil
		}
		if !f.AsOf.IsZero() && (out.AsOf.IsZero() || f.AsOf.Before(out.AsOf)) {
			out.AsOf = f.AsOf
		}
	}
	return out
}

// stamped fills a missing AsOf with now, so every view says when it holds.
func (s *Service) stamped(f core.Freshness) core.Freshness {
	if f.AsOf.IsZero() {
		f.AsOf = s.Now()
	}
	return f
}
