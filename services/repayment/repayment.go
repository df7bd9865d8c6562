// Package repayment is what an HPF loan's holder does with it from the
// phone (issue 21): quote and make an early repayment (提前还款, part or
// whole, shortening the term or lowering the instalment), see and change
// the account instalments are taken from (代扣账户), see and clear arrears
// with their penalty interest, read the repayment history and follow a
// loan applied for at a counter.
//
// The rules are the core's loan policy, as data (GET /core/v1/loan-policy:
// minimum amount, how often, the modes, the cut-off day, whether the HPF
// balance may pay); they are checked here before anything is written, so
// bad input is a 4xx with nothing stored, and again by the core, which has
// the last word. A quote is services/loan's Prepay on the loan's position,
// the same maths as the public calculator and the core, exact to the fen.
//
// A payment is stored with its outbox row and the person's
// Idempotency-Key in one transaction (202), delivered to the core with
// its id as the core's idempotency key (a second delivery pays nothing
// twice), and recorded applied or rejected; each status is notified once
// (services/notify) and the payment is a case (services/cases) with its
// promised time limit from the service catalogue, rateable once finished.
package repayment

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/mask"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/store"
)

// idKind prefixes a payment's id.
const idKind services.RecordKind = "lp"

// Statuses of a payment.
const (
	StatusAccepted = "accepted" // stored here, to be sent to the core
	StatusApplied  = "applied"  // the core took the money and changed the loan
	StatusRejected = "rejected" // the core refused it, with a reason
)

// Kinds of payment (the case types are "loan_" and the kind).
const (
	KindPrepayment = "prepayment"
	KindArrears    = "arrears"
)

// CatalogueItem is the service catalogue's item whose promised time limit
// a payment is due by.
const CatalogueItem = "loan.prepayment"

// TopicApply is the outbox topic that sends a payment to the core.
const TopicApply outbox.TopicName = "loan.prepayment.apply"

// Topics are the outbox topics this package enqueues on.
func Topics() []outbox.TopicName { return []outbox.TopicName{TopicApply, notify.Topic} }

// The audit actions of this package.
const (
	ActionQuote         = "read.loan_prepayment_quote"
	ActionPrepay        = "loan.prepay"
	ActionPayArrears    = "loan.pay_arrears"
	ActionRead          = "read.loan_payments"
	ActionReadAccount   = "read.loan_repayment_account"
	ActionChangeAccount = "loan.change_repayment_account"
	ActionReadHistory   = "read.loan_repayments"
	ActionReadApps      = "read.loan_applications"
)

// The collaborators, declared by what this package needs of them.
type (
	// Core is the centre's core (*core.Client).
	Core interface {
		LoanPolicy(ctx context.Context) (core.LoanPolicy, error)
		LoanPosition(ctx context.Context, personID string) (core.LoanPosition, error)
		RepaymentAccount(ctx context.Context, personID string) (core.RepaymentAccount, error)
		ChangeRepaymentAccount(ctx context.Context, personID, accountID string) (core.RepaymentAccount, error)
		LoanRepayments(ctx context.Context, personID string, limit int, cursor string) (core.RepaymentPage, error)
		LoanApplications(ctx context.Context, personID string) (core.LoanApplicationList, error)
		ApplyPrepayment(ctx context.Context, p core.Prepayment) (core.PrepaymentStatus, error)
		PayArrears(ctx context.Context, p core.ArrearsPayment) (core.PrepaymentStatus, error)
		PayoutAccounts(ctx context.Context, personID string) (core.PayoutAccountList, error)
		Account(ctx context.Context, personID string) (core.Account, error)
	}
	// people maps a pseudonymous subject to the core's person id.
	people interface {
		PersonID(ctx context.Context, subject string) (string, error)
	}
	auditor interface {
		Enqueue(ctx context.Context, r audit.Record) error
	}
	// notices queues security messages (*notify.Publisher).
	notices interface {
		Notice(ctx context.Context, subject, notice string) error
	}
	// TimeLimits is the service catalogue: the item's promised working days.
	TimeLimits interface {
		PromisedDays(code string) (int, bool)
	}
)

// Deps are a Service's collaborators, built once in bff/app.go.
type Deps struct {
	Store      *store.Store
	Core       Core
	People     people
	Audit      auditor
	Notices    notices
	TimeLimits TimeLimits
	// DueWorkingDays is a payment's time limit when the catalogue has no
	// item for it.
	DueWorkingDays int
	// Holidays are the dates (YYYY-MM-DD) that are not working days.
	Holidays []string
	Mask     mask.Policy
	Wake     func()
	Now      func() time.Time
	Logger   *slog.Logger
}

// Service runs the loan holders' services.
type Service struct {
	Deps
	holidays map[string]bool
}

// New checks the dependencies.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Core == nil || d.People == nil || d.Audit == nil || d.Notices == nil {
		return nil, errors.New("repayment: store, core, people, audit and notices are required")
	}
	if d.DueWorkingDays <= 0 {
		d.DueWorkingDays = 3
	}
	if d.Mask == nil {
		d.Mask = mask.DefaultPolicy()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Wake == nil {
		d.Wake = func() {}
	}
	s := &Service{Deps: d, holidays: map[string]bool{}}
	for _, h := range d.Holidays {
		s.holidays[h] = true
	}
	return s, nil
}

// audited records what p did (see audit.Outcome).
func (s *Service) audited(ctx context.Context, p services.Principal, action, target string, err error) error {
	return audit.Outcome(ctx, s.Audit, s.Logger, audit.Record{At: s.Now(), Subject: p.Subject, Actor: p.Actor(),
		Channel: p.Channel, Action: action, Target: target}, err)
}

// dueOn is the date a payment asked for at is promised by: the catalogue
// item's promised working days (else DueWorkingDays), skipping weekends
// and holidays.
func (s *Service) dueOn(at time.Time) string {
	days := s.DueWorkingDays
	if s.TimeLimits != nil {
		if n, ok := s.TimeLimits.PromisedDays(CatalogueItem); ok && n > 0 {
			days = n
		}
	}
	d := at.In(services.CentreTime)
	for n := 0; n < days; {
		d = d.AddDate(0, 0, 1)
		if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday && !s.holidays[d.Format(time.DateOnly)] {
			n++
		}
	}
	return d.Format(time.DateOnly)
}

// newCaseNumber is what the person quotes at a counter: TQ (提前), the
// date and eight Crockford base32 characters.
func newCaseNumber(at time.Time) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = services.Crockford[b[i]&31]
	}
	return "TQ" + at.In(services.CentreTime).Format("20060102") + "-" + string(b)
}

// reasonCode is the error code of a core rejection reason (the same
// rules, checked here first).
func reasonCode(reason string) services.Code {
	switch reason {
	case core.ReasonBelowMinimum:
		return services.CodeLoanPrepaymentBelowMinimum
	case core.ReasonAboveOwed:
		return services.CodeLoanPrepaymentAboveOwed
	case core.ReasonTooSoon:
		return services.CodeLoanPrepaymentTooSoon
	case core.ReasonAfterCutoff:
		return services.CodeLoanPrepaymentAfterCutoff
	case core.ReasonSourceRefused:
		return services.CodeLoanPrepaymentSourceRefused
	case core.ReasonInArrears:
		return services.CodeLoanInArrears
	case core.ReasonNoArrears:
		return services.CodeLoanNoArrears
	case core.ReasonNoLoan:
		return services.CodeLoanNone
	case core.ReasonModeRefused:
		return services.CodeInvalid
	}
	return services.CodeCoreRejected
}
