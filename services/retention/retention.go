// Package retention removes what handheld no longer needs to keep, on a
// schedule that runs once per period across replicas (services/schedule):
// closed outbox rows, old Idempotency-Keys, ended sessions with their
// refresh tokens, and the files of certificates long expired (the record
// and its verifications stay). Each table's owner does its own deleting;
// this package holds the policy and the order.
//
// The audit trail is not among them: it is kept (GB/T 22239 level 3 asks
// six months at least) and never deleted here.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"handheld/services/audit"
	"handheld/services/idempotency"
	"handheld/services/schedule"
)

// Job is the retention job's name in scheduled_runs.
const Job schedule.JobName = "retention"

// ActionPurge is the audit action of a run that removed records of a kind;
// its target is "<kind>:<count>".
const ActionPurge = "retention.purge"

// Policy is how long each kind of record is kept, as configuration
// (`retention:` in the YAML file). Every age counts from the record's end:
// delivery, creation of a key, a session's expiry, a certificate's expiry.
type Policy struct {
	// Every is how often the job runs (one run per period, 1h–7 days).
	Every time.Duration `yaml:"every"`
	// Batch is how many rows one statement removes; the job repeats it
	// until nothing older is left (10–100000).
	Batch int `yaml:"batch"`
	// Outbox keeps closed outbox rows (delivered, or given up on) at
	// least 7 days: a row's id is a deduplication key, and a retry of the
	// request that wrote it must still find it.
	Outbox time.Duration `yaml:"outbox"`
	// IdempotencyKeys keeps keys at least as long as they are replayed.
	IdempotencyKeys time.Duration `yaml:"idempotency_keys"`
	// Sessions keeps ended sessions (and their refresh tokens) at least
	// a day after their expiry, for the security page and the trail.
	Sessions time.Duration `yaml:"sessions"`
	// CertificateFiles keeps an expired certificate's PDF this long after
	// its expiry (at least a day); its record is kept.
	CertificateFiles time.Duration `yaml:"certificate_files"`
	// ReminderSends keeps the record of a reminder sent (reminder_sends)
	// at least 366 days, so that a yearly rule's period is over before
	// its rows go; a `once` rule's rows are never removed.
	ReminderSends time.Duration `yaml:"reminder_sends"`
	// ActivityMinutes keeps the per-minute counters behind the staff
	// dashboard (activity_minutes) at least 93 days, longer than its
	// longest range.
	ActivityMinutes time.Duration `yaml:"activity_minutes"`
	// Shares keeps a share with its uses, and a relying party's request,
	// this long after it ended (expired, revoked, declined), at least 30
	// days, so the person still sees what they shared; the audit trail
	// keeps every creation, use and revocation for good.
	Shares time.Duration `yaml:"shares"`
}

// DefaultPolicy is the shipped policy.
func DefaultPolicy() Policy {
	return Policy{Every: 24 * time.Hour, Batch: 1000, Outbox: 30 * 24 * time.Hour,
		IdempotencyKeys: 7 * 24 * time.Hour, Sessions: 90 * 24 * time.Hour, CertificateFiles: 180 * 24 * time.Hour,
		ReminderSends: 400 * 24 * time.Hour, ActivityMinutes: 400 * 24 * time.Hour,
		Shares: 180 * 24 * time.Hour}
}

// Validate refuses a policy that would delete what must be kept.
func (p Policy) Validate() error {
	switch {
	case p.Every < time.Hour || p.Every > 7*24*time.Hour:
		return fmt.Errorf("every %s must be between 1h and 168h", p.Every)
	case p.Batch < 10 || p.Batch > 100000:
		return fmt.Errorf("batch %d must be between 10 and 100000", p.Batch)
	case p.Outbox < 7*24*time.Hour:
		return fmt.Errorf("outbox %s must be at least 168h (a retried request must still find its message)", p.Outbox)
	case p.IdempotencyKeys < idempotency.Retention:
		return fmt.Errorf("idempotency_keys %s must be at least %s (how long a key is replayed)", p.IdempotencyKeys, idempotency.Retention)
	case p.Sessions < 24*time.Hour:
		return fmt.Errorf("sessions %s must be at least 24h", p.Sessions)
	case p.CertificateFiles < 24*time.Hour:
		return fmt.Errorf("certificate_files %s must be at least 24h", p.CertificateFiles)
	case p.ReminderSends < 366*24*time.Hour:
		return fmt.Errorf("reminder_sends %s must be at least 8784h (366 days: a yearly rule's period must be over)", p.ReminderSends)
	case p.ActivityMinutes < 93*24*time.Hour:
		return fmt.Errorf("activity_minutes %s must be at least 2232h (93 days: the dashboard's longest range)", p.ActivityMinutes)
	case p.Shares < 30*24*time.Hour:
		return fmt.Errorf("shares %s must be at least 720h (30 days: the person still sees what they shared)", p.Shares)
	}
	return nil
}

// Purger removes up to batch records of one kind that ended before
// `before`, and says how many went; the owner of each table provides one.
type Purger func(ctx context.Context, before time.Time, batch int) (int, error)

// Kind is one kind of record the job removes: its name in logs, progress
// notes and the audit trail, how long it is kept, and who removes it.
type Kind struct {
	Name  string
	Keep  time.Duration
	Purge Purger
}

// Retention runs the policy. Build it at the wiring point with the kinds in
// the order they are removed.
type Retention struct {
	Policy Policy
	Kinds  []Kind
	Audit  audit.Queue
	Logger *slog.Logger
	Now    func() time.Time
}

// Job is the scheduled job that applies the policy once per period.
func (r *Retention) Job() schedule.Job {
	return schedule.Job{Name: Job, Every: r.Policy.Every, Run: func(ctx context.Context, _ time.Time) (string, error) {
		return r.Run(ctx)
	}}
}

// Run removes, kind by kind, everything older than the policy keeps, batch
// after batch; it is safe to run again after a crash (each batch is a
// conditional delete). The progress note counts what went, e.g.
// "outbox=120 idempotency_keys=4"; the audit trail gets one record per kind
// that removed anything.
func (r *Retention) Run(ctx context.Context) (string, error) { return r.RunAt(ctx, r.Now()) }

// RunAt is Run as if the clock read now.
func (r *Retention) RunAt(ctx context.Context, now time.Time) (string, error) {
	notes := make([]string, 0, len(r.Kinds))
	for _, k := range r.Kinds {
		total := 0
		for {
			n, err := k.Purge(ctx, now.Add(-k.Keep), r.Policy.Batch)
			total += n
			if err != nil {
				return strings.Join(notes, " "), fmt.Errorf("retention: %s: %w", k.Name, err)
			}
			if n < r.Policy.Batch {
				break
			}
			if err := ctx.Err(); err != nil {
				return strings.Join(notes, " "), err
			}
		}
		notes = append(notes, fmt.Sprintf("%s=%d", k.Name, total))
		if total > 0 {
			r.Logger.InfoContext(ctx, "retention removed", "kind", k.Name, "rows", total)
			_ = audit.Outcome(ctx, r.Audit, r.Logger, audit.Record{At: now, Actor: "system", Channel: "system",
				Action: ActionPurge, Target: fmt.Sprintf("%s:%d", k.Name, total)}, nil)
		}
	}
	return strings.Join(notes, " "), nil
}
