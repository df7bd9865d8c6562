package bff

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"handheld/services/audit"
	"handheld/services/certificate"
	"handheld/services/idempotency"
	"handheld/services/identity"
	"handheld/services/outbox"
	"handheld/services/reminder"
	"handheld/services/report"
	"handheld/services/retention"
	"handheld/services/schedule"
	"handheld/services/share"
	"handheld/services/store"
	"handheld/services/supervision"
)

// retentionJob builds the retention policy, kinds in the order they are
// removed.
func (a *App) retentionJob(cfg Config, people *identity.Service, certs *certificate.Service, trail audit.Queue, log *slog.Logger) *retention.Retention {
	p := cfg.Retention
	st := a.store
	r := &retention.Retention{Policy: p, Audit: trail, Logger: log, Now: time.Now, Kinds: []retention.Kind{
		{Name: "outbox", Keep: p.Outbox, Purge: func(ctx context.Context, before time.Time, n int) (int, error) {
			return outbox.Purge(ctx, st, before, n)
		}},
		{Name: "idempotency_keys", Keep: p.IdempotencyKeys, Purge: func(ctx context.Context, before time.Time, n int) (int, error) {
			return idempotency.Purge(ctx, st, before, n)
		}},
		{Name: "sessions", Keep: p.Sessions, Purge: people.PurgeSessions},
		{Name: "certificate_files", Keep: p.CertificateFiles, Purge: certs.PurgeFiles},
		{Name: "reminder_sends", Keep: p.ReminderSends, Purge: func(ctx context.Context, before time.Time, n int) (int, error) {
			return reminder.Purge(ctx, st, before, n)
		}},
		{Name: "activity_minutes", Keep: p.ActivityMinutes, Purge: func(ctx context.Context, before time.Time, n int) (int, error) {
			return supervision.Purge(ctx, st, before, n)
		}},
		{Name: "shares", Keep: p.Shares, Purge: func(ctx context.Context, before time.Time, n int) (int, error) {
			return share.PurgeShares(ctx, st, before, n)
		}},
		{Name: "share_requests", Keep: p.Shares, Purge: func(ctx context.Context, before time.Time, n int) (int, error) {
			return share.PurgeRequests(ctx, st, before, n)
		}},
	}}
	return r
}

// auditAnchorSettle is how long after an hour ends its shards are
// anchored: beyond any replica's clock skew and a batch in flight.
const auditAnchorSettle = 10 * time.Minute

// auditAnchors is the hourly job that anchors the audit trail's closed
// hours (audit.Anchor); on a single chain it finds nothing to do.
func (a *App) auditAnchors() schedule.Job {
	return schedule.Job{Name: "audit.anchor", Every: time.Hour, Run: func(ctx context.Context, _ time.Time) (string, error) {
		n, err := audit.Anchor(ctx, a.store, a.cfg.Suite(), time.Now(), auditAnchorSettle)
		return fmt.Sprintf("hours=%d", n), err
	}}
}

// auditPartitions is the daily job that makes the audit trail's monthly
// partitions ahead of time on PostgreSQL (audit.EnsurePartitions).
func (a *App) auditPartitions() schedule.Job {
	return schedule.Job{Name: "audit.partitions", Every: 24 * time.Hour, Run: func(ctx context.Context, _ time.Time) (string, error) {
		n, err := audit.EnsurePartitions(ctx, a.store, time.Now())
		return fmt.Sprintf("made=%d", n), err
	}}
}

// auditReplica names this replica's audit shards on PostgreSQL (host and
// process); "" keeps SQLite's single chain, whose one writer holds the
// file anyway.
func (a *App) auditReplica() string {
	if a.store.Dialect() != store.Postgres {
		return ""
	}
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid())
}

// RetentionAt applies the retention policy as if the clock read at: what
// a run then would remove goes now. The tests use it to age records; the
// scheduled job runs at the clock's time.
func (a *App) RetentionAt(ctx context.Context, at time.Time) (string, error) {
	return a.retention.RunAt(ctx, at)
}

// StandingAt runs the standing-withdrawal job as if the clock read at:
// the months due then are applied for, judged at that time. The tests use
// it to pass months; the scheduled job runs at the clock's time.
func (a *App) StandingAt(ctx context.Context, at time.Time) (string, error) {
	return a.standing.Run(ctx, at)
}

// Reminders are the reminder rules' use case: runs and dry runs outside
// the schedule, for `handheld reminders` and the tests.
func (a *App) Reminders() *reminder.Service { return a.reminders }

// Reports are the daily report's use case: a day's figures, a day sent
// again, a catch-up outside the schedule, for `handheld report` and the
// tests.
func (a *App) Reports() *report.Service { return a.reports }
