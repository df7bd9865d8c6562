package reminder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/identity"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/schedule"
	"handheld/services/store"
)

// ActionQueued is the audit action of a reminder queued for a person
// (target reminder:<rule>:<period>); what became of its WeChat copy is
// audited by the message centre (inbox.ActionPush).
const ActionQueued = "reminder.queued"

// DefaultBatch is how many people a run reads and asks the core about at
// once.
const DefaultBatch = 200

// The collaborators a Service needs.
type (
	// people pages through the people handheld knows (identity's Service).
	people interface {
		Subjects(ctx context.Context, after string, limit int) ([]identity.Subject, error)
	}
	// facts answers the core's reminder facts of a batch of persons.
	facts interface {
		ReminderFacts(ctx context.Context, personIDs []string) ([]core.ReminderFacts, error)
	}
	// certificates tells the earliest expiry of the certificates due
	// (certificate's Service).
	certificates interface {
		Expiring(ctx context.Context, subjects []string, from, to time.Time) (map[string]time.Time, error)
	}
)

// Deps are a Service's collaborators.
type Deps struct {
	Store        *store.Store
	People       people
	Facts        facts
	Certificates certificates
	Audit        audit.Queue
	Rules        Rules
	// Wake nudges the outbox worker after a batch is queued; may be nil.
	Wake func()
	// Now is the reminders' clock (the message centre's); nil is time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Batch is the page size (DefaultBatch when 0, at most
	// core.MaxReminderFacts).
	Batch int
}

// Service evaluates the rules and queues their messages. It is safe for
// concurrent use, and so are its runs: two at once send nobody twice.
type Service struct {
	d Deps
}

// New checks the dependencies and the rules.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.People == nil || d.Facts == nil || d.Certificates == nil || d.Audit == nil {
		return nil, errors.New("reminder: Store, People, Facts, Certificates and Audit are required")
	}
	if err := d.Rules.Validate(); err != nil {
		return nil, err
	}
	if d.Batch == 0 {
		d.Batch = DefaultBatch
	}
	if d.Batch < 1 || d.Batch > core.MaxReminderFacts {
		return nil, fmt.Errorf("reminder: batch %d, want 1..%d", d.Batch, core.MaxReminderFacts)
	}
	if d.Wake == nil {
		d.Wake = func() {}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d}, nil
}

// Rules are the configured rules.
func (s *Service) Rules() Rules { return s.d.Rules }

// Report is what one run of a rule did, or a dry run would do.
type Report struct {
	Rule    string `json:"rule"`
	Period  string `json:"period"`
	People  int    `json:"people"`  // people evaluated
	Matched int    `json:"matched"` // people the rule matches
	Already int    `json:"already"` // of those, told in this period before
	Written int    `json:"written"` // messages queued by this run (0 in a dry run)
	DryRun  bool   `json:"dry_run"`
}

// String is the run's note in scheduled_runs.
func (r Report) String() string {
	return fmt.Sprintf("people=%d matched=%d already=%d written=%d", r.People, r.Matched, r.Already, r.Written)
}

// Jobs are the scheduled jobs of the enabled rules, one per rule.
func (s *Service) Jobs() []schedule.Job {
	var jobs []schedule.Job
	for _, r := range s.d.Rules {
		if !r.Enabled {
			continue
		}
		code := r.Code
		jobs = append(jobs, schedule.Job{Name: JobName(code), Every: r.every(),
			Run: func(ctx context.Context, _ time.Time) (string, error) {
				rep, err := s.Run(ctx, code)
				return rep.String(), err
			}})
	}
	return jobs
}

// JobName is the scheduled job of rule code.
func JobName(code string) schedule.JobName { return schedule.JobName("reminder." + code) }

// Run evaluates rule code over everyone at the clock's time and queues a
// message for each person it matches who was not told in this period.
// A disabled rule does not run. Safe to repeat, from any replica.
func (s *Service) Run(ctx context.Context, code string) (Report, error) {
	r, ok := s.d.Rules.Find(code)
	if !ok {
		return Report{}, services.Errorf(services.CodeNotFound, "reminder: no rule %q", code)
	}
	if !r.Enabled {
		return Report{}, fmt.Errorf("reminder: rule %s is disabled", code)
	}
	return s.run(ctx, r, false)
}

// DryRun reports how many people rule code would reach now, and how many
// of them were told in this period already, writing nothing. A disabled
// rule may be tried before it is switched on.
func (s *Service) DryRun(ctx context.Context, code string) (Report, error) {
	r, ok := s.d.Rules.Find(code)
	if !ok {
		return Report{}, services.Errorf(services.CodeNotFound, "reminder: no rule %q", code)
	}
	return s.run(ctx, r, true)
}

func (s *Service) run(ctx context.Context, r Rule, dry bool) (Report, error) {
	now := s.d.Now()
	rep := Report{Rule: r.Code, Period: r.Period.Key(now), DryRun: dry}
	after := ""
	for {
		page, err := s.d.People.Subjects(ctx, after, s.d.Batch)
		if err != nil {
			return rep, err
		}
		if len(page) == 0 {
			return rep, nil
		}
		after = page[len(page)-1].ID
		rep.People += len(page)
		hits, err := s.evaluate(ctx, r, page, now)
		if err != nil {
			return rep, err
		}
		rep.Matched += len(hits)
		if len(hits) == 0 {
			continue
		}
		if dry {
			n, err := s.told(ctx, r.Code, rep.Period, hits)
			if err != nil {
				return rep, err
			}
			rep.Already += n
			continue
		}
		written, err := s.queue(ctx, r, rep.Period, hits, now)
		if err != nil {
			return rep, err
		}
		rep.Written += len(written)
		rep.Already += len(hits) - len(written)
		if len(written) > 0 {
			s.d.Wake()
		}
		for _, h := range written {
			if err := s.d.Audit.Enqueue(ctx, audit.Record{At: now, Subject: h.Subject, Actor: "system", Channel: "system",
				Action: ActionQueued, Target: "reminder:" + r.Code + ":" + rep.Period, Result: "ok"}); err != nil {
				s.d.Logger.WarnContext(ctx, "reminder: audit record not queued", "rule", r.Code, "subject", h.Subject, "error", err)
			}
		}
	}
}

// evaluate asks for the page's facts and matches them.
func (s *Service) evaluate(ctx context.Context, r Rule, page []identity.Subject, now time.Time) ([]Hit, error) {
	var hits []Hit
	if r.When == CertificateExpiring {
		subjects := make([]string, len(page))
		for i, p := range page {
			subjects[i] = p.ID
		}
		due, err := s.d.Certificates.Expiring(ctx, subjects, now, dayOf(now).AddDate(0, 0, r.Params.DaysBefore+1))
		if err != nil {
			return nil, err
		}
		for _, p := range page {
			if amount, values, ok := r.Match(Facts{Expires: due[p.ID]}, now); ok {
				hits = append(hits, Hit{Subject: p.ID, AmountFen: amount, Values: values})
			}
		}
		return hits, nil
	}
	ids := make([]string, len(page))
	for i, p := range page {
		ids[i] = p.PersonID
	}
	got, err := s.d.Facts.ReminderFacts(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reminder: %s: core facts: %w", r.Code, err)
	}
	byPerson := make(map[string]core.ReminderFacts, len(got))
	for _, f := range got {
		byPerson[f.PersonID] = f
	}
	for _, p := range page {
		f, ok := byPerson[p.PersonID]
		if !ok {
			continue
		}
		if amount, values, ok := r.Match(Facts{Core: f}, now); ok {
			hits = append(hits, Hit{Subject: p.ID, AmountFen: amount, Values: values})
		}
	}
	return hits, nil
}

// queue records each hit for the period and queues its message, in one
// transaction; it returns the hits recorded now (the others were told in
// this period before, by this run's predecessor or a replica at once).
func (s *Service) queue(ctx context.Context, r Rule, period string, hits []Hit, now time.Time) ([]Hit, error) {
	var written []Hit
	err := s.d.Store.Tx(ctx, func(tx *store.Tx) error {
		written = written[:0]
		for _, h := range hits {
			res, err := tx.Exec(ctx, `INSERT INTO reminder_sends (rule, period, subject, sent_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (rule, period, subject) DO NOTHING`, r.Code, period, h.Subject, store.Timestamp(now))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				if err != nil {
					return err
				}
				continue
			}
			id := "reminder:" + r.Code + ":" + period
			payload, err := json.Marshal(notify.Event{Subject: h.Subject, Reminder: r.Code, Category: r.Category,
				ID: id, AmountFen: h.AmountFen, Values: h.Values, Locale: "zh-CN", At: now})
			if err != nil {
				return err
			}
			if _, err := outbox.Enqueue(ctx, tx, outbox.Message{ID: string(notify.Topic) + ":" + id + ":" + h.Subject,
				Topic: notify.Topic, Payload: payload}, now); err != nil {
				return err
			}
			written = append(written, h)
		}
		return nil
	})
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "reminder: %s: queue: %w", r.Code, err)
	}
	return written, nil
}

// told counts the hits already told in period (dry run: a read only).
func (s *Service) told(ctx context.Context, code, period string, hits []Hit) (int, error) {
	args := []any{code, period}
	marks := make([]string, len(hits))
	for i, h := range hits {
		args = append(args, h.Subject)
		marks[i] = "$" + strconv.Itoa(len(args))
	}
	var n int
	if err := s.d.Store.QueryRow(ctx, `SELECT COUNT(*) FROM reminder_sends WHERE rule = $1 AND period = $2 AND subject IN (`+
		strings.Join(marks, ", ")+`)`, args...).Scan(&n); err != nil {
		return 0, services.Errorf(services.CodeInternal, "reminder: dry run: %w", err)
	}
	return n, nil
}
