// Package cases is a person's cases (办件) across the centre's services —
// withdrawal applications, deposit-and-use certificates and transfers in — in one
// list, and their ratings (好差评): once a case is finished its applicant
// may rate it once, from very dissatisfied to very satisfied. The centre
// reports the share of satisfied ratings (满意率) upwards: Satisfaction
// counts it over every rating in the store, and Deps.OnRated feeds the
// per-level counters an operator's dashboard divides.
//
// Every use case takes the caller's services.Principal and reaches only
// that person's cases: the subject comes from the token, never from the
// client, and another person's case is not found, exactly as an id that
// does not exist. Reads and ratings leave an audit record (read.cases,
// rate.case) that names the subject and the case id, never personal data.
//
// It owns the ratings table. The cases themselves are other packages' rows:
// it reads them only through the views their owners declare
// (withdrawal_cases of services/withdrawal, certificate_cases of
// services/certificate, migration 0011; transfer_cases of
// services/transfer, migration 0024), never their tables.
package cases

import (
	"context"
	"log/slog"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/store"
)

// Kinds of case, as the ratings table names them.
const (
	KindWithdrawal  = "withdrawal"
	KindCertificate = "certificate"
	KindTransfer    = "transfer" // a transfer in from another centre (services/transfer)
	// KindLoan is an early repayment or an arrears payment of a loan
	// (services/repayment; loan_prepayment_cases, migration 0032).
	KindLoan = "loan"
)

// Rating levels of the national 好差评 scale, from best to worst.
const (
	LevelVerySatisfied      = 5 // 非常满意
	LevelSatisfied          = 4 // 满意
	LevelBasicallySatisfied = 3 // 基本满意
	LevelDissatisfied       = 2 // 不满意
	LevelVeryDissatisfied   = 1 // 非常不满意
)

// SatisfiedFrom is the lowest level that counts as satisfied in the
// centre's 满意率: basically satisfied and better.
const SatisfiedFrom = LevelBasicallySatisfied

// MaxCommentRunes bounds a rating's comment, after trimming, in
// characters: a remark, not a complaint letter (those go to 12329).
const MaxCommentRunes = 200

// List paging, as docs/api.md §Conventions sets for every list.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// The audit actions of this package.
const (
	ActionList = "read.cases"
	ActionRate = "rate.case"
)

// Case is one of a person's cases, whichever service it belongs to, with
// what a progress screen and a rating prompt need.
type Case struct {
	ID         string // application id or certificate id
	Kind       string // KindWithdrawal | KindCertificate | KindTransfer
	Type       string // withdrawal kind (rent, purchase, ...) or certificate type (deposit_use)
	CaseNumber string // withdrawal case number or certificate number
	Status     string // the record's own status
	// Finished is a withdrawal that is rejected, paid or cancelled, or a
	// certificate (issued on the spot): only finished cases are rateable.
	Finished             bool
	CreatedAt, UpdatedAt time.Time
	// DueOn is a withdrawal's statutory decision date (YYYY-MM-DD); ""
	// for certificates.
	DueOn string
	// Rating is the level the person gave; 0 while not rated.
	Rating int
}

// auditor queues audit records without waiting for the commit (a
// *audit.Log).
type auditor interface {
	Enqueue(ctx context.Context, r audit.Record) error
}

// Deps are a Service's collaborators, built once in bff/app.go.
type Deps struct {
	Store *store.Store
	Audit auditor
	// Logger reports audit records that were lost; default: discard.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// OnRated, when set, is told the level of each rating recorded, for a
	// counter per level: counters from every replica add up, where a
	// ratio each replica worked out would not. It must be quick.
	OnRated func(level int)
}

// Service lists and rates a person's cases.
type Service struct {
	Deps
}

// New fills defaults. A missing store or audit log is a wiring mistake
// that must stop start-up rather than the first request, so it panics.
func New(d Deps) *Service {
	if d.Store == nil || d.Audit == nil {
		panic("cases: missing dependency (store or audit)")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{Deps: d}
}

// audited records what p did (see audit.Outcome). target is "self" for
// the list, "<kind>:<id>" for one case, and "self" again when the case was
// not found: an id nobody owns never enters the trail.
func (s *Service) audited(ctx context.Context, p services.Principal, action, target string, opErr error) error {
	return audit.Outcome(ctx, s.Audit, s.Logger, audit.Record{
		At: s.Now(), Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: action, Target: target,
	}, opErr)
}

// finished tells whether a case has reached an end state and may be
// rated. Withdrawal end states never change again, so a case found
// finished stays finished while it is being rated.
func finished(kind, status string) bool {
	switch kind {
	case KindWithdrawal:
		return status == "rejected" || status == "paid" || status == "cancelled"
	case KindTransfer:
		return status == "merged" || status == "refused" || status == "cancelled"
	case KindLoan:
		return status == "applied" || status == "rejected"
	case KindCertificate:
		// Issued on the spot (a revoked one was issued too); one asked for
		// during the core's maintenance window is pending until issued, and
		// a failed request was never issued.
		return status != "pending" && status != "failed"
	}
	return false
}
