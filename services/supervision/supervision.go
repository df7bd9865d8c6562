// Package supervision is the centre's supervision dashboard (issue 20,
// part 4): what handheld did over a date range, from its own records,
// aggregated in SQL — never from Prometheus, whose counters reset with a
// replica and are not a record.
//
//   - volumes by service, channel and hour, and their outcomes: the audit
//     trail (audit_log), whose every use case leaves a record;
//   - cases decided within their promised and statutory time limits, and
//     the open ones past their promised date: the case views
//     (withdrawal_cases, certificate_cases, transfer_cases,
//     loan_prepayment_cases) their owners declare;
//   - satisfaction (好差评) per kind of case and the low ratings' comments:
//     the ratings table (services/cases);
//   - the core's availability and latency, and rate-limit refusals: the
//     per-minute counters each replica adds to activity_minutes (Tally,
//     migration 0034), which this package owns;
//   - shares redeemed per relying party: audit records share.redeem.
//
// Every read is audited (dashboard.read, dashboard.export) with the staff
// member as actor. Personal data does not appear: subjects are not shown,
// case numbers are masked, and comments have long digit runs masked.
package supervision

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/cases"
	"handheld/services/store"
)

// The audit actions of this package.
const (
	ActionRead   = "dashboard.read"
	ActionExport = "dashboard.export"
)

// ActionShareRedeem is the audit action of a relying party redeeming a
// share (issue 20, part 3); ok records are counted per actor
// ("party:<id>").
const ActionShareRedeem = "share.redeem"

// DefaultMaxDays bounds a range: a quarter.
const DefaultMaxDays = 92

// LegalLimits tells a kind of case's statutory time limit (法定时限) in
// working days; false when the catalogue names none, in which case the
// promised date stands for it too.
type LegalLimits interface {
	LegalWorkingDays(kind, typ string) (int, bool)
}

// trail is the audit trail: records this package appends, and the counts
// it reads (a *audit.Log).
type trail interface {
	Append(ctx context.Context, r audit.Record) error
	Volumes(ctx context.Context, start, end time.Time) ([]audit.Volume, error)
	CountByActor(ctx context.Context, action, result string, start, end time.Time) ([]audit.ActorCount, error)
}

// ratings are the 好差评 ratings' counts and low remarks (a *cases.Service).
type ratings interface {
	RatingLevels(ctx context.Context, start, end time.Time) ([]cases.LevelCount, error)
	LowRatings(ctx context.Context, start, end time.Time, atMost, limit int) ([]cases.Remark, error)
}

// Deps are a Service's collaborators, built once in bff/app.go.
type Deps struct {
	Store   *store.Store // the case views and activity_minutes
	Audit   trail
	Ratings ratings
	// Legal is the statutory limits; nil: every case's promised date.
	Legal LegalLimits
	// Holidays are the dates (YYYY-MM-DD) that are not working days, as
	// the withdrawal policy names them.
	Holidays []string
	// MaxDays bounds a range; DefaultMaxDays when 0.
	MaxDays int
	// LowRatingsShown caps the low ratings listed; OverdueShown the
	// overdue cases. 50 each when 0.
	LowRatingsShown, OverdueShown int
	Now                           func() time.Time
	Logger                        *slog.Logger
}

// Service reads the dashboard.
type Service struct {
	Deps
	holidays map[string]bool
}

// New fills defaults; a missing store or audit log is a wiring mistake.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Audit == nil || d.Ratings == nil {
		return nil, fmt.Errorf("supervision: missing store, audit or ratings")
	}
	if d.MaxDays <= 0 {
		d.MaxDays = DefaultMaxDays
	}
	if d.LowRatingsShown <= 0 {
		d.LowRatingsShown = 50
	}
	if d.OverdueShown <= 0 {
		d.OverdueShown = 50
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{Deps: d, holidays: map[string]bool{}}
	for _, h := range d.Holidays {
		s.holidays[h] = true
	}
	return s, nil
}

// Range is a validated date range, both ends included, in the centre's
// time zone.
type Range struct {
	From, To   string    // YYYY-MM-DD
	Start, End time.Time // From 00:00 and the day after To 00:00, Asia/Shanghai
	Days       int
}

// ParseRange validates from and to (YYYY-MM-DD; empty: today): both well
// formed, from ≤ to, to not after today, at most MaxDays days. Every
// failing rule is listed.
func (s *Service) ParseRange(from, to string) (Range, error) {
	today := s.Now().In(services.CentreTime).Format(time.DateOnly)
	if from == "" {
		from = today
	}
	if to == "" {
		to = today
	}
	var fields []services.FieldError
	f, errF := time.ParseInLocation(time.DateOnly, from, services.CentreTime)
	t, errT := time.ParseInLocation(time.DateOnly, to, services.CentreTime)
	if errF != nil || len(from) != 10 {
		fields = append(fields, services.FieldError{Field: "from", Code: services.FieldFormat})
	}
	if errT != nil || len(to) != 10 {
		fields = append(fields, services.FieldError{Field: "to", Code: services.FieldFormat})
	}
	if len(fields) > 0 {
		return Range{}, services.Invalid(fields...)
	}
	// Each bound is named with the dates it may take, for the message
	// "from must lie between min and max".
	earliest := func(last time.Time) string { return last.AddDate(0, 0, 1-s.MaxDays).Format(time.DateOnly) }
	days := int(t.Sub(f).Hours()/24+0.5) + 1
	switch {
	case to > today:
		fields = append(fields, services.FieldError{Field: "to", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": from, "max": today}})
	case from > to || days > s.MaxDays:
		fields = append(fields, services.FieldError{Field: "from", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": earliest(t), "max": to}})
	}
	if len(fields) > 0 {
		return Range{}, services.Invalid(fields...)
	}
	return Range{From: from, To: to, Start: f, End: t.AddDate(0, 0, 1), Days: days}, nil
}

// audited records that p read (or exported a section of) the dashboard
// over r. The record is appended, not queued: the page waits for it.
func (s *Service) audited(ctx context.Context, p services.Principal, action, section string, r Range, requestID string) error {
	if p.Role != services.RoleStaff || p.Subject == "" {
		return services.Errorf(services.CodeForbidden, "supervision: role %q", p.Role)
	}
	err := s.Audit.Append(ctx, audit.Record{At: s.Now(), Actor: p.Subject, Channel: services.ChannelWeb, Action: action,
		Target: "dashboard:" + section + ":" + r.From + ".." + r.To, RequestID: requestID, Result: "ok"})
	if err != nil {
		return services.Errorf(services.CodeInternal, "supervision: audit: %w", err)
	}
	return nil
}
