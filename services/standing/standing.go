// Package standing runs standing withdrawals (按月提取): a person signs up
// once for a kind that allows it (rent) with an amount and a payout account
// of their own, and each month the scheduled job makes one application for
// them through the normal withdrawal pipeline (services/withdrawal: the
// same eligibility, caps, outbox and messages). A month that cannot be
// applied for (not eligible, a cap reached, the account not normal) is
// recorded and reported to the person once, never retried. The person may
// pause, resume and stop it; the policy may ask them to confirm it again
// every so many months, and pauses it until they do.
//
// It owns the standing_withdrawals and standing_withdrawal_months tables.
// A month is one application however many replicas run the job, and
// across restarts: the month's row is keyed by (standing withdrawal,
// month), and the application is made under an Idempotency-Key derived
// from the same pair, so a repeat gets the first application back.
package standing

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/schedule"
	"handheld/services/store"
	"handheld/services/withdrawal"
)

// idKind prefixes the id of a standing withdrawal.
const idKind services.RecordKind = "sw"

// Statuses of a standing withdrawal.
const (
	StatusActive  = "active"
	StatusPaused  = "paused"
	StatusStopped = "stopped"
)

// Why a standing withdrawal is paused.
const (
	PausedByPerson  = "person"    // the person paused it
	PausedReconfirm = "reconfirm" // the policy's confirmation is due
)

// Outcomes of a month.
const (
	OutcomeApplied = "applied"
	OutcomeFailed  = "failed"
)

// The audit actions of this package.
const (
	ActionSignUp  = "standing_withdrawal.sign_up"
	ActionPause   = "standing_withdrawal.pause"
	ActionResume  = "standing_withdrawal.resume"
	ActionStop    = "standing_withdrawal.stop"
	ActionConfirm = "standing_withdrawal.confirm"
	// ActionApply is a month's application (or its failure), by the job.
	ActionApply = "standing_withdrawal.apply"
	// ActionReconfirmDue is the job pausing one until it is confirmed.
	ActionReconfirmDue = "standing_withdrawal.reconfirm_due"
	ActionRead         = "read.standing_withdrawals"
)

// Notification statuses (templates/notifications): a month that failed,
// and a standing withdrawal paused until the person confirms it again.
const (
	NotifyFailed    = "standing_failed"
	NotifyReconfirm = "standing_reconfirm"
)

// JobName is the scheduled job's name in scheduled_runs.
const JobName schedule.JobName = "standing_withdrawals.monthly"

// jobEvery is how often the job looks for months to apply for: a month's
// application is made within an hour of its day, and a run that failed
// is tried again by the next.
const jobEvery = time.Hour

// The collaborators, declared by what this package needs of them.
type (
	// withdrawals makes the month's application and checks a payout
	// account is the person's (*withdrawal.Service).
	withdrawals interface {
		ApplyStanding(ctx context.Context, p services.Principal, r withdrawal.Request, terms withdrawal.StandingTerms, at time.Time) (withdrawal.Application, bool, error)
		PayoutAccounts(ctx context.Context, p services.Principal) ([]withdrawal.PayoutAccount, error)
	}
	auditor interface {
		Enqueue(ctx context.Context, r audit.Record) error
	}
)

// Deps are a Service's collaborators and policy, built once in bff/app.go.
type Deps struct {
	Store       *store.Store
	Withdrawals withdrawals
	Audit       auditor
	// Kinds are the withdrawal policies: a sign-up's amount must fit the
	// kind's caps too.
	Kinds    withdrawal.Policies
	Policies Policies
	// Wake nudges the outbox worker after a message is queued; may be nil.
	Wake   func()
	Now    func() time.Time
	Logger *slog.Logger
}

// Service runs standing withdrawals.
type Service struct{ Deps }

// New checks the policies against the withdrawal kinds and builds a Service.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Withdrawals == nil || d.Audit == nil {
		return nil, errors.New("standing: store, withdrawals and audit are required")
	}
	if err := d.Policies.Validate(d.Kinds); err != nil {
		return nil, err
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
	return &Service{Deps: d}, nil
}

// Topics are the outbox topics this package enqueues on.
func Topics() []outbox.TopicName { return []outbox.TopicName{notify.Topic} }

// Standing is one standing withdrawal as its person sees it.
type Standing struct {
	ID              string
	Kind            string
	AmountFen       int64
	PayoutAccountID string
	Status          string
	PauseReason     string // PausedByPerson or PausedReconfirm while paused
	Channel         string
	Locale          string
	ConfirmedAt     time.Time
	// ReconfirmBy is when it pauses unless confirmed again; zero when the
	// policy asks for no confirmation.
	ReconfirmBy time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Months are its latest months, newest first (Get only).
	Months []Month
}

// Month is what became of one month: its application, or why it failed.
type Month struct {
	Month         string // YYYY-MM
	Outcome       string
	ApplicationID string
	Reason        string // a failed month's reason code (withdrawal.reason.<code>)
	AmountFen     int64
	At            time.Time
}

// reconfirmBy is when s must be confirmed again under p; zero for never.
func reconfirmBy(s Standing, p Policy) time.Time {
	if p.ReconfirmEveryMonths == 0 {
		return time.Time{}
	}
	return s.ConfirmedAt.In(services.CentreTime).AddDate(0, p.ReconfirmEveryMonths, 0)
}

// monthOf is the month at falls in, Asia/Shanghai.
func monthOf(at time.Time) string { return at.In(services.CentreTime).Format("2006-01") }

// internal wraps a store failure.
func internal(what string, err error) error {
	return services.Errorf(services.CodeInternal, "standing: %s: %w", what, err)
}
