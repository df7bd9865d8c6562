package bff

import (
	"context"
	"log/slog"
	"time"

	"handheld/services/audit"
	"handheld/services/certificate"
	"handheld/services/idempotency"
	"handheld/services/identity"
	"handheld/services/outbox"
	"handheld/services/retention"
	"handheld/services/schedule"
)

// retentionJob builds the retention policy's job, kinds in the order they
// are removed, and the runner that runs it once per period.
func (a *App) retentionJob(cfg Config, people *identity.Service, certs *certificate.Service, trail audit.Queue, log *slog.Logger) (*retention.Retention, *schedule.Runner) {
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
	}}
	return r, &schedule.Runner{Store: st, Now: time.Now, Logger: log}
}

// RetentionAt applies the retention policy as if the clock read at: what
// a run then would remove goes now. The tests use it to age records; the
// scheduled job runs at the clock's time.
func (a *App) RetentionAt(ctx context.Context, at time.Time) (string, error) {
	return a.retention.RunAt(ctx, at)
}
