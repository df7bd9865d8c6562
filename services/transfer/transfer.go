// Package transfer is the transfer in (转移接续): a person brings a sealed
// account they hold at another centre into their account here, through the
// national HPF platform (services/platform). The person asks; handheld
// checks the rules (Policy, data), stores the transfer with its outbox row
// and the person's Idempotency-Key in one transaction, and the outbox
// delivers it to the platform with the transfer's id as the platform's
// transfer_ref, so a second delivery asks for nothing twice. The old
// centre decides; the platform calls back (signed, each status with a
// sequence), and a leased poller asks the platform about transfers it has
// not heard of for a while, so a lost callback stalls nothing. When the
// funds have moved, the outbox credits them to the local account through
// the core, idempotent by the transfer's id: the money arrives once.
//
// Statuses: accepted → sent → accepted_by_old_centre → funds_moved →
// merged, or refused (with the old centre's reason) or cancelled (by the
// person, before the old centre accepted). Each is recorded once (the
// transfer_events table) and notified once (services/notify).
package transfer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/kv"
	"handheld/services/mask"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/platform"
	"handheld/services/store"
)

// idKind prefixes the id of a transfer.
const idKind services.RecordKind = "tr"

// Statuses of a transfer.
const (
	StatusAccepted   = "accepted"               // accepted here, to be sent
	StatusSent       = "sent"                   // the platform has it
	StatusOldAccepts = "accepted_by_old_centre" // the old centre agreed
	StatusFundsMoved = "funds_moved"            // the money is on its way here
	StatusMerged     = "merged"                 // credited to the local account
	StatusRefused    = "refused"                // the old centre refused, with a reason
	StatusCancelled  = "cancelled"              // the person withdrew it in time
)

// Statuses lists every status, in the order a transfer goes.
func Statuses() []string {
	return []string{StatusAccepted, StatusSent, StatusOldAccepts, StatusFundsMoved, StatusMerged, StatusRefused, StatusCancelled}
}

// Finished reports whether a transfer can change no more.
func Finished(status string) bool {
	return status == StatusMerged || status == StatusRefused || status == StatusCancelled
}

// Kind is the case type of a transfer (services/cases, notifications).
const Kind = "transfer_in"

// CatalogueItem is the service catalogue's item whose promised time limit
// a transfer is due by.
const CatalogueItem = "transfer.in"

// Outbox topics of this package. Status changes also go out on
// notify.Topic.
const (
	TopicSend  outbox.TopicName = "transfer.send"  // ask the platform
	TopicPoll  outbox.TopicName = "transfer.poll"  // ask again when callbacks stop
	TopicMerge outbox.TopicName = "transfer.merge" // credit the funds through the core
)

// Topics are the outbox topics this package enqueues on.
func Topics() []outbox.TopicName {
	return []outbox.TopicName{TopicSend, TopicPoll, TopicMerge, notify.Topic}
}

// The audit actions of this package.
const (
	ActionApply    = "transfer.apply"
	ActionRead     = "read.transfers"
	ActionCancel   = "transfer.cancel"
	ActionCallback = "transfer.callback"
)

// The collaborators, declared by what this package needs of them.
type (
	// carrier is the national platform (*platform.Client).
	carrier interface {
		Accounts(ctx context.Context, q platform.AccountQuery) (platform.AccountsAnswer, error)
		RequestTransfer(ctx context.Context, r platform.TransferRequest) (platform.Transfer, error)
		TransferStatus(ctx context.Context, platformRef string) (platform.Transfer, error)
		CancelTransfer(ctx context.Context, platformRef string) (platform.Transfer, error)
	}
	// reader reads the person and their local account (core.Reader).
	reader interface {
		Person(ctx context.Context, personID string) (core.Person, core.Freshness, error)
		Account(ctx context.Context, personID string) (core.Account, core.Freshness, error)
	}
	// crediter credits the moved funds (core.Client).
	crediter interface {
		CreditTransferIn(ctx context.Context, t core.TransferIn) (core.TransferInStatus, error)
	}
	// people maps a pseudonymous subject to the core's person id.
	people interface {
		PersonID(ctx context.Context, subject string) (string, error)
	}
	auditor interface {
		Enqueue(ctx context.Context, r audit.Record) error
	}
	// TimeLimits is the service catalogue: the item's promised working days.
	TimeLimits interface {
		PromisedDays(code string) (int, bool)
	}
)

// Deps are a Service's collaborators and policy, built once in bff/app.go.
type Deps struct {
	Store    *store.Store
	Platform carrier
	Reader   reader
	Core     crediter
	People   people
	Audit    auditor
	// Nonces remembers the callbacks' nonces across replicas (the shared
	// key-value store).
	Nonces kv.Store
	Policy Policy
	// CentreCode is this centre on the platform (HANDHELD_CENTRE_CODE).
	CentreCode string
	// CallbackURL is where the platform calls back (the public base and
	// PathCallback).
	CallbackURL string
	// CallbackKeys are the platform's key ids and secrets its callbacks
	// are signed with.
	CallbackKeys map[string][]byte
	TimeLimits   TimeLimits
	// Holidays are the dates (YYYY-MM-DD) that are not working days.
	Holidays []string
	Mask     mask.Policy
	Wake     func()
	Now      func() time.Time
	Logger   *slog.Logger
}

// PathCallback is handheld's route for the platform's transfer callbacks.
const PathCallback = "/platform/v1/callbacks/transfers"

// sealedAccountRef is the old centre's account number, sealed at rest and
// bound to its transfer.
var sealedAccountRef = store.SealedColumn{Table: "transfers", Key: []string{"id"}, Column: "account_ref", Text: true}

// SealedColumns are the columns of this package's tables that hold sealed
// personal data, for the sealing step and `handheld keys reseal`.
func SealedColumns() []store.SealedColumn { return []store.SealedColumn{sealedAccountRef} }

// Service runs transfers in.
type Service struct {
	Deps
	holidays map[string]bool
}

// New checks the dependencies and the policy.
func New(d Deps) (*Service, error) {
	switch {
	case d.Store == nil || d.Platform == nil || d.Reader == nil || d.Core == nil || d.People == nil || d.Audit == nil || d.Nonces == nil:
		return nil, errors.New("transfer: store, platform, reader, core, people, audit and nonces are required")
	case len(d.CentreCode) != 6:
		return nil, errors.New("transfer: the centre code must be 6 digits (HANDHELD_CENTRE_CODE)")
	case !strings.HasPrefix(d.CallbackURL, "http://") && !strings.HasPrefix(d.CallbackURL, "https://"):
		return nil, fmt.Errorf("transfer: the callback URL must be http(s), got %q", d.CallbackURL)
	}
	if err := d.Policy.Validate(); err != nil {
		return nil, err
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

// dueOn is the date a transfer asked for at is promised by: the
// catalogue item's promised working days (else Policy.DueWorkingDays),
// skipping weekends and holidays.
func (s *Service) dueOn(at time.Time) string {
	days := s.Policy.DueWorkingDays
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

// newCaseNumber is what the person quotes at a counter: ZY (转移), the
// date and eight Crockford base32 characters.
func newCaseNumber(at time.Time) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = services.Crockford[b[i]&31]
	}
	return "ZY" + at.In(services.CentreTime).Format("20060102") + "-" + string(b)
}
