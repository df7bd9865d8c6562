// Package withdrawal is where money moves: a person checks whether they may
// withdraw from their HPF account for a kind (rent, purchase, ...), applies,
// follows the application and may cancel it. Kinds and limits are data
// (Policies). An accepted application is never lost nor done twice: it is
// stored together with its outbox row and the person's Idempotency-Key in
// one transaction, delivered to the core by the outbox worker with its id as
// the core's idempotency key, and followed by polling; every status change
// is recorded once and announced once.
package withdrawal

import (
	"handheld/services"

	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/mask"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/store"
)

// idKind prefixes the id of an application.
const idKind services.RecordKind = "wd"

// Application statuses: accepted here → submitted to the core → approved
// or rejected → paid; cancelled by the person before the core approves.
const (
	StatusAccepted  = "accepted"
	StatusSubmitted = "submitted"
	StatusApproved  = "approved"
	StatusRejected  = "rejected"
	StatusPaid      = "paid"
	StatusCancelled = "cancelled"
)

var statuses = []string{StatusAccepted, StatusSubmitted, StatusApproved, StatusRejected, StatusPaid, StatusCancelled}

// Finished reports whether an application can change no more.
func Finished(status string) bool {
	return status == StatusRejected || status == StatusPaid || status == StatusCancelled
}

// Payout account kinds: money goes only to one of the person's own (the
// core's list, PayoutAccounts).
const (
	PayoutBankCard = core.PayoutBankCard // a bank card held under the person's name
	PayoutECNY     = core.PayoutECNY     // an e-CNY wallet held under the person's name
)

// Outbox topics of this package. Status changes also go out on
// notify.Topic, carrying a notify.Event to the notifier.
const (
	TopicSubmit outbox.TopicName = "withdrawal.submit"
	TopicPoll   outbox.TopicName = "withdrawal.poll"
)

// Topics are the outbox topics this package enqueues on, for the wiring's
// outbox.Config.Enqueued.
func Topics() []outbox.TopicName {
	return []outbox.TopicName{TopicSubmit, TopicPoll, TopicCheck, notify.Topic}
}

// The audit actions of this package.
const (
	ActionEligibility = "read.withdrawal_eligibility"
	ActionApply       = "withdrawal.apply"
	ActionRead        = "read.withdrawals"
	ActionCancel      = "withdrawal.cancel"
)

// The collaborators, declared by what this package needs of them.
type (
	// reader is the core, read with deadlines and breakers (core.Reader).
	reader interface {
		Person(ctx context.Context, personID string) (core.Person, core.Freshness, error)
		Account(ctx context.Context, personID string) (core.Account, core.Freshness, error)
		Deposits(ctx context.Context, personID string, q core.DepositQuery) (core.DepositPage, core.Freshness, error)
		Loan(ctx context.Context, personID string) (core.Loan, core.Freshness, error)
	}
	// coreWriter sends, follows and cancels applications, and answers
	// what must be asked fresh: the person's payout accounts and whether
	// evidence names their records (core.Client).
	coreWriter interface {
		PayoutAccounts(ctx context.Context, personID string) (core.PayoutAccountList, error)
		CheckEvidence(ctx context.Context, personID string, check core.EvidenceCheck) (core.EvidenceResult, error)
		SubmitWithdrawal(ctx context.Context, w core.Withdrawal) (core.WithdrawalStatus, error)
		PutWithdrawalMaterial(ctx context.Context, applicationID, materialID, mediaType string, data []byte) error
		Withdrawal(ctx context.Context, applicationID string) (core.WithdrawalStatus, error)
		CancelWithdrawal(ctx context.Context, applicationID string) (core.WithdrawalStatus, error)
	}
	// people maps a pseudonymous subject to the core's person id;
	// PersonIDs for many at once, leaving out the subjects it does not
	// know.
	people interface {
		PersonID(ctx context.Context, subject string) (string, error)
		PersonIDs(ctx context.Context, subjects []string) (map[string]string, error)
	}
	// auditor queues audit records.
	auditor interface {
		Enqueue(ctx context.Context, r audit.Record) error
	}
)

// Deps are a Service's collaborators and policy, built once in bff/app.go.
type Deps struct {
	Store    *store.Store
	Reader   reader
	Core     coreWriter
	People   people
	Audit    auditor
	Policies Policies
	// Consents and Materials are the person's shared-data consents and
	// uploads an application may name; nil refuses any that names one.
	Consents  consents
	Materials materials
	// TimeLimits are the promised decision times per kind (the service
	// catalogue, services/catalogue); nil means every kind is due within
	// Policies.DecisionWorkingDays, the statutory time.
	TimeLimits TimeLimits
	// Mask is the centre's masking policy; nil means mask.DefaultPolicy.
	Mask mask.Policy
	// Wake nudges the outbox worker after an application is stored; may
	// be nil.
	Wake   func()
	Now    func() time.Time
	Logger *slog.Logger
}

// The payout account (a card or wallet number) and the evidence references
// (deeds, contracts, bills naming the person) are sealed at rest, each bound
// to its application.
var (
	sealedPayoutAccount = store.SealedColumn{Table: "withdrawals", Key: []string{"id"}, Column: "payout_account", Text: true}
	sealedEvidenceRefs  = store.SealedColumn{Table: "withdrawals", Key: []string{"id"}, Column: "evidence_refs", Text: true}
	sealedEvidence      = store.SealedColumn{Table: "withdrawals", Key: []string{"id"}, Column: "evidence", Text: true}
)

// SealedColumns are the columns of this package's tables that hold sealed
// personal data, for the sealing step and `handheld keys reseal`.
func SealedColumns() []store.SealedColumn {
	return []store.SealedColumn{sealedPayoutAccount, sealedEvidenceRefs, sealedEvidence, sealedCheckEvidenceRefs, sealedCheckEvidence}
}

// Service runs withdrawal applications.
type Service struct {
	Deps
	holidays map[string]bool
	// lock serializes one person's applications (lockSubject); a field
	// only so that a benchmark can weigh it against no lock.
	lock func(ctx context.Context, tx *store.Tx, subject string) error
	// asOf, when set, is the time eligibility is judged at instead of
	// Now (ApplyStanding); what is written is stamped with Now.
	asOf time.Time
}

// New checks the policies and builds a Service.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Reader == nil || d.Core == nil || d.People == nil || d.Audit == nil {
		return nil, fmt.Errorf("withdrawal: store, reader, core, people and audit are required")
	}
	if err := d.Policies.Validate(); err != nil {
		return nil, err
	}
	if d.Mask == nil {
		d.Mask = mask.DefaultPolicy()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Wake == nil {
		d.Wake = func() {}
	}
	s := &Service{Deps: d, holidays: map[string]bool{}, lock: lockSubject}
	for _, h := range d.Policies.Holidays {
		s.holidays[h] = true
	}
	return s, nil
}

// TimeLimits is what the service catalogue says the centre promises: the
// working days within which an application of kind is decided (承诺时限),
// false for a kind it does not list.
type TimeLimits interface {
	PromisedWorkingDays(kind string) (int, bool)
}

// dueOn is the date a case of kind is promised to be decided by: the
// catalogue's promised working days for the kind (else the statutory
// Policies.DecisionWorkingDays) after the application, skipping weekends
// and the configured holidays.
func (s *Service) dueOn(at time.Time, kind string) string {
	days := s.Policies.DecisionWorkingDays
	if s.TimeLimits != nil {
		if n, ok := s.TimeLimits.PromisedWorkingDays(kind); ok {
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

// newCaseNumber is what the person quotes at a counter: TQ, the date and
// eight Crockford base32 characters (40 random bits), e.g.
// TQ20261124-7K3M9Q2D.
func newCaseNumber(at time.Time) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = services.Crockford[b[i]&31]
	}
	return "TQ" + at.In(services.CentreTime).Format("20060102") + "-" + string(b)
}
