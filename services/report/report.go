// Package report sends the national platform, once a day, the day's 好差评
// ratings and case timeliness per service (issue 20, part 5: reporting
// upward), figures only.
//
// A scheduled job (services/schedule: leased, one run per period across
// replicas) runs each day at the configured time in the centre's time zone
// (Asia/Shanghai) and makes the report of every day of the last few that
// has none yet: it aggregates the day from the cases' own records
// (services/cases), stores the report in daily_reports and queues ONE
// outbox message for it in the same transaction. The table's primary key
// (centre, day, version) makes two replicas, a restart mid-run or an
// operator's rerun store one report and queue one message; the outbox
// delivers it at least once (retrying through outages) to
// POST /platform/v1/reports/daily, which keeps it by (centre, day, version)
// and answers a redelivery as the first delivery.
//
// A day's figures are final once the day is over: a rating counts on the
// day it is given (whenever its case was decided), a case is received,
// decided and withdrawn on the days its own history says. An operator may
// send a day again (`handheld report send --day`): the same figures go
// again under the same version (the platform answers as before), figures
// that have changed since (a correction) under the next version.
//
// Comments never go upward: free text a person typed may name anyone. Only
// how many low ratings came with one is counted; the comments stay sealed
// with the centre, for its staff.
//
// It owns the daily_reports table (migration 0035).
package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/cases"
	"handheld/services/catalogue"
	"handheld/services/outbox"
	"handheld/services/platform"
	"handheld/services/schedule"
	"handheld/services/store"
)

// Job is the daily report's job in scheduled_runs.
const Job schedule.JobName = "report.daily"

// Topic is the outbox topic the reports are delivered on.
const Topic outbox.TopicName = "report.daily"

// Topics lists the outbox topics this package enqueues on.
func Topics() []outbox.TopicName { return []outbox.TopicName{Topic} }

// ActionDaily is the audit action of a report stored and queued; its
// target is report:<centre>:<day>:v<version>.
const ActionDaily = "report.daily"

// How a report was sent, for the metric (Deps.OnSent) and the answer of
// Send.
const (
	SentFirst      = "first"      // the day's first report (version 1)
	SentCorrection = "correction" // other figures than sent before, under the next version
	SentAgain      = "again"      // the same figures again, under the same version
)

// Policy is the job's configuration (`report:` in the YAML file).
type Policy struct {
	// Enabled runs the job; off, nothing is reported (an operator can
	// still send a day).
	Enabled bool `yaml:"enabled"`
	// At is the time of day (HH:MM, the centre's time) the job runs: the
	// previous day is reported then. Leave an hour for work in flight at
	// midnight.
	At string `yaml:"at"`
	// Centre is the centre code reported under; empty means
	// HANDHELD_CENTRE_CODE.
	Centre string `yaml:"centre"`
	// CatchUpDays is how many days back a run looks for days not
	// reported yet (1–31): a centre down over a weekend reports the
	// weekend when it is back.
	CatchUpDays int `yaml:"catch_up_days"`
}

// DefaultPolicy is the shipped policy: on, at 01:00, three days back.
func DefaultPolicy() Policy { return Policy{Enabled: true, At: "01:00", CatchUpDays: 3} }

var (
	timeOfDay  = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	centreCode = regexp.MustCompile(`^[0-9]{6}$`)
)

// Validate names the first wrong setting.
func (p Policy) Validate() error {
	switch {
	case !timeOfDay.MatchString(p.At):
		return fmt.Errorf("at %q: want HH:MM, 00:00 to 23:59", p.At)
	case p.Centre != "" && !centreCode.MatchString(p.Centre):
		return fmt.Errorf("centre %q: want a six-digit centre code", p.Centre)
	case p.CatchUpDays < 1 || p.CatchUpDays > 31:
		return fmt.Errorf("catch_up_days %d: want 1 to 31", p.CatchUpDays)
	}
	return nil
}

// offset is where the job's daily period starts, past midnight UTC.
func (p Policy) offset() time.Duration {
	h, _ := strconv.Atoi(p.At[:2])
	m, _ := strconv.Atoi(p.At[3:])
	_, zone := time.Date(2026, 1, 1, 0, 0, 0, 0, services.CentreTime).Zone()
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute - time.Duration(zone)*time.Second
	return (d%(24*time.Hour) + 24*time.Hour) % (24 * time.Hour)
}

// The collaborators a Service needs.
type (
	// caseRecords are the cases' figures of a window (cases.Service).
	caseRecords interface {
		Timelines(ctx context.Context, from, to time.Time) ([]cases.Timeline, error)
		RatingCounts(ctx context.Context, from, to time.Time) ([]cases.RatingCount, error)
	}
	// services are the catalogue's items: codes and time limits.
	serviceList interface {
		Items(f catalogue.Filter) []catalogue.Service
	}
	// upward delivers a report to the national platform (platform.Client).
	upward interface {
		SendDailyReport(ctx context.Context, r platform.DailyReport) (platform.ReportReceipt, error)
	}
)

// Deps are a Service's collaborators, built once in bff/app.go.
type Deps struct {
	Store     *store.Store
	Cases     caseRecords
	Catalogue serviceList
	// Platform delivers the reports; nil (a centre not connected) leaves
	// them in the outbox, retried, until one is.
	Platform upward
	Audit    audit.Queue
	Policy   Policy
	// CentreCode is HANDHELD_CENTRE_CODE, the centre reported under
	// unless Policy.Centre says otherwise.
	CentreCode string
	// Holidays are the dates (YYYY-MM-DD) that are not working days, for
	// the legal time limits.
	Holidays []string
	// Wake nudges the outbox worker after a report is queued; may be nil.
	Wake func()
	// OnSent, when set, is told how each report was sent (the Sent
	// constants), for a counter.
	OnSent func(how string)
	Now    func() time.Time
	Logger *slog.Logger
}

// Service makes, stores and delivers the daily reports.
type Service struct {
	d        Deps
	centre   string
	holidays map[string]bool
	limits   map[string]limits // by service code
	byKind   map[string]string // withdrawal kind → service code
	reported []string          // the services every report lists
}

// limits are a service's time limits in working days.
type limits struct{ promised, legal int }

// New checks the dependencies and the policy.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Cases == nil || d.Catalogue == nil || d.Audit == nil {
		return nil, errors.New("report: Store, Cases, Catalogue and Audit are required")
	}
	if err := d.Policy.Validate(); err != nil {
		return nil, err
	}
	s := &Service{d: d, centre: d.Policy.Centre, holidays: map[string]bool{}, limits: map[string]limits{}, byKind: map[string]string{}}
	if s.centre == "" {
		s.centre = d.CentreCode
	}
	if !centreCode.MatchString(s.centre) {
		return nil, fmt.Errorf("report: centre code %q: want six digits", s.centre)
	}
	if s.d.Now == nil {
		s.d.Now = time.Now
	}
	if s.d.Wake == nil {
		s.d.Wake = func() {}
	}
	if s.d.Logger == nil {
		s.d.Logger = slog.New(slog.DiscardHandler)
	}
	for _, h := range d.Holidays {
		s.holidays[h] = true
	}
	for _, it := range d.Catalogue.Items(catalogue.Filter{}) {
		s.limits[it.Code] = limits{promised: it.PromisedWorkingDays, legal: it.LegalWorkingDays}
		if it.WithdrawalKind != "" {
			s.byKind[it.WithdrawalKind] = it.Code
		}
	}
	s.reported = s.casesServices()
	return s, nil
}

// Centre is the centre code the reports go under.
func (s *Service) Centre() string { return s.centre }

// JobOf is the scheduled job, nil when the policy switches it off.
func (s *Service) JobOf() *schedule.Job {
	if !s.d.Policy.Enabled {
		return nil
	}
	return &schedule.Job{Name: Job, Every: 24 * time.Hour, Offset: s.d.Policy.offset(),
		Run: func(ctx context.Context, _ time.Time) (string, error) { return s.CatchUp(ctx) }}
}

// CatchUp reports every day of the last Policy.CatchUpDays (yesterday
// included, in the centre's time) that has no report yet, oldest first.
// Safe to run again, from any replica at once: a day reported is left
// alone. The note counts the days it reported, e.g. "reported=1 already=2".
func (s *Service) CatchUp(ctx context.Context) (string, error) {
	today := s.d.Now().In(services.CentreTime)
	reported, already := 0, 0
	for back := s.d.Policy.CatchUpDays; back >= 1; back-- {
		day := time.Date(today.Year(), today.Month(), today.Day()-back, 0, 0, 0, 0, services.CentreTime).Format(time.DateOnly)
		sent, err := s.send(ctx, day, "system", false)
		if err != nil {
			return fmt.Sprintf("reported=%d already=%d", reported, already), err
		}
		if sent.How == "" {
			already++
		} else {
			reported++
		}
	}
	return fmt.Sprintf("reported=%d already=%d", reported, already), nil
}

// Sent is what Send did: the report and how it went ("" when the job
// found the day reported already).
type Sent struct {
	Report platform.DailyReport
	How    string
}

// Send reports a day again, as an operator asks: the day's figures now,
// under the same version as the last report of the day when they are the
// same (delivered again; the platform answers as the first time), under
// the next version when they differ (a correction), as version 1 when the
// day was never reported. Only a day that is over can be reported.
func (s *Service) Send(ctx context.Context, day string) (Sent, error) {
	return s.send(ctx, day, "operator", true)
}

// Figures are a day's figures as they stand now, without storing or
// sending anything (version 0): what Send would send.
func (s *Service) Figures(ctx context.Context, day string) (platform.DailyReport, error) {
	from, to, err := s.window(day)
	if err != nil {
		return platform.DailyReport{}, err
	}
	return s.aggregate(ctx, day, from, to)
}

// window is a day's [from, to) in the centre's time zone; the day must be
// over.
func (s *Service) window(day string) (time.Time, time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, day, services.CentreTime)
	if err != nil || d.Format(time.DateOnly) != day {
		return time.Time{}, time.Time{}, services.Invalid(services.FieldError{Field: "day", Code: services.FieldFormat})
	}
	to := d.AddDate(0, 0, 1)
	if to.After(s.d.Now()) {
		return time.Time{}, time.Time{}, services.Invalid(services.FieldError{Field: "day", Code: services.FieldOutOfRange})
	}
	return d, to, nil
}

// send stores and queues the day's report. again: as Send (the same
// figures queued once more, other figures as a correction); otherwise as
// the job (a day reported already is left alone, How "").
func (s *Service) send(ctx context.Context, day, actor string, again bool) (Sent, error) {
	from, to, err := s.window(day)
	if err != nil {
		return Sent{}, err
	}
	if !again {
		// The job's common case, a day reported already, reads one row.
		if v, _, err := s.latest(ctx, s.d.Store, day); err != nil || v > 0 {
			return Sent{}, err
		}
	}
	r, err := s.aggregate(ctx, day, from, to)
	if err != nil {
		return Sent{}, err
	}
	digest := digestOf(r)
	var out Sent
	err = s.d.Store.Tx(ctx, func(tx *store.Tx) error {
		out = Sent{}
		version, last, err := s.latest(ctx, tx, day)
		if err != nil {
			return err
		}
		r.Version = 1
		switch {
		case version > 0 && !again:
			return nil
		case version > 0 && last == digest:
			r.Version, out.How = version, SentAgain
		case version > 0:
			r.Version, out.How = version+1, SentCorrection
		default:
			out.How = SentFirst
		}
		body, err := json.Marshal(r)
		if err != nil {
			return err
		}
		id := MessageID(s.centre, day, r.Version)
		if out.How == SentAgain {
			// A message id of its own, so that the outbox delivers it
			// again; the platform knows the report by its centre, day and
			// version.
			id += ":again:" + strconv.FormatInt(s.d.Now().UnixNano(), 36)
		} else {
			res, err := tx.Exec(ctx, `INSERT INTO daily_reports (centre, day, version, body, digest, made_by, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (centre, day, version) DO NOTHING`,
				s.centre, day, r.Version, string(body), digest, actor, store.Timestamp(s.d.Now()))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				// Another replica stored it in the meantime: theirs is queued.
				out.How = ""
				return nil
			}
		}
		_, err = outbox.Enqueue(ctx, tx, outbox.Message{ID: id, Topic: Topic, Payload: body}, s.d.Now())
		return err
	})
	if err != nil {
		return Sent{}, services.Errorf(services.CodeInternal, "report: %s: %w", day, err)
	}
	out.Report = r
	if out.How == "" {
		return out, nil
	}
	s.d.Wake()
	if s.d.OnSent != nil {
		s.d.OnSent(out.How)
	}
	s.d.Logger.InfoContext(ctx, "daily report queued", "day", day, "version", r.Version, "how", out.How)
	_ = audit.Outcome(ctx, s.d.Audit, s.d.Logger, audit.Record{At: s.d.Now(), Actor: actor, Channel: "system",
		Action: ActionDaily, Target: MessageID(s.centre, day, r.Version)}, nil)
	return out, nil
}

// MessageID is a report's outbox id and audit target:
// report:<centre>:<day>:v<version>.
func MessageID(centre, day string, version int) string {
	return "report:" + centre + ":" + day + ":v" + strconv.Itoa(version)
}

// querier is a store or a transaction.
type querier interface {
	QueryRow(ctx context.Context, query string, args ...any) *store.Row
}

// latest is the day's last version and its digest (0 and "" for none).
func (s *Service) latest(ctx context.Context, q querier, day string) (int, string, error) {
	var (
		version int
		digest  string
	)
	err := q.QueryRow(ctx, `SELECT version, digest FROM daily_reports WHERE centre = $1 AND day = $2
		ORDER BY version DESC LIMIT 1`, s.centre, day).Scan(&version, &digest)
	if errors.Is(err, store.ErrNotFound) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", services.Errorf(services.CodeInternal, "report: latest of %s: %w", day, err)
	}
	return version, digest, nil
}

// digestOf is the SHA-256 of a report's figures, whatever its version.
func digestOf(r platform.DailyReport) string {
	b, _ := json.Marshal(struct {
		Services []platform.ServiceFigures `json:"services"`
		Totals   platform.Figures          `json:"totals"`
	}{r.Services, r.Totals})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Deliver is the outbox topic's handler: the report to the platform. The
// same report delivered again gets the same receipt; a conflict (other
// figures under the version) can never succeed and is given up on, loudly.
func (s *Service) Deliver(ctx context.Context, m outbox.Message) error {
	var r platform.DailyReport
	if err := json.Unmarshal(m.Payload, &r); err != nil {
		return outbox.Permanent(fmt.Errorf("report: %s: malformed payload: %w", m.ID, err))
	}
	if s.d.Platform == nil {
		return fmt.Errorf("report: %s: no platform configured (HANDHELD_PLATFORM_URL)", m.ID)
	}
	receipt, err := s.d.Platform.SendDailyReport(ctx, r)
	if errors.Is(err, platform.ErrReportConflict) {
		s.d.Logger.ErrorContext(ctx, "daily report refused as a conflict", "day", r.Day, "version", r.Version)
		return outbox.Permanent(fmt.Errorf("report: %s: %w", m.ID, err))
	}
	if err != nil {
		return fmt.Errorf("report: %s: %w", m.ID, err)
	}
	s.d.Logger.InfoContext(ctx, "daily report delivered", "day", r.Day, "version", r.Version, "reference", receipt.Reference)
	return nil
}
