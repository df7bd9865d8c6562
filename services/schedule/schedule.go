// Package schedule runs periodic jobs once per period however many replicas
// run them: retention today, reminders and standing withdrawals next. It owns
// the scheduled_runs table.
//
// Every replica polls; the first to insert (job, period) runs the job for
// that period, under a lease it renews while the job runs. A replica that
// dies mid-run leaves the lease to run out, and the next poll of any replica
// takes the period over and runs the job again from its start: a job must
// therefore be resumable, each of its steps safe to repeat (a conditional
// delete, an insert keyed by person and period). A finished period is never
// run again.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"handheld/services/store"
)

// Defaults for a Runner's zero fields.
const (
	DefaultLease = 5 * time.Minute
	DefaultPoll  = time.Minute
)

// JobName names a periodic job; it is the first half of a run's key, so a
// renamed job runs again in the period it was renamed in.
type JobName string

// Job is one periodic job: Run is called at most once per period of length
// Every (periods are aligned to Unix time, so a 24h period is a UTC day),
// with the period's start. It returns a short note of what it did, kept
// with the run (e.g. "outbox=120 sessions=4").
type Job struct {
	Name  JobName
	Every time.Duration
	// Offset moves the periods' start that far past the Unix-aligned
	// boundaries (0 ≤ Offset < Every): a 24h job with an Offset of 17h
	// runs from 01:00 in Shanghai (17:00 UTC) each day.
	Offset time.Duration
	Run    func(ctx context.Context, period time.Time) (progress string, err error)
}

// Runner claims and runs jobs. Its zero durations take the defaults.
type Runner struct {
	Store  *store.Store
	Now    func() time.Time
	Logger *slog.Logger
	// Holder names this replica in the table; empty means host:pid:random.
	Holder string
	// Lease is how long a claim holds without renewal; the runner renews
	// it at a third of that while the job runs.
	Lease time.Duration
	// Poll is how often Run looks for a period to run.
	Poll time.Duration
}

// Run is one row of scheduled_runs, for operators and tests.
type Run struct {
	Job        JobName
	Period     string
	Holder     string
	StartedAt  time.Time
	DoneAt     time.Time // zero while not done
	Attempts   int
	Progress   string
	LeaseUntil time.Time
}

// PeriodKey is how a period's start is written in the table.
func PeriodKey(start time.Time) string { return start.UTC().Format(time.RFC3339) }

// PeriodOf is the start of the period of length every that t falls in.
func PeriodOf(t time.Time, every time.Duration) time.Time {
	return time.Unix(0, 0).UTC().Add(t.Sub(time.Unix(0, 0)).Truncate(every))
}

func (r *Runner) holder() string {
	if r.Holder == "" {
		host, _ := os.Hostname()
		r.Holder = host + ":" + strconv.Itoa(os.Getpid()) + ":" + strconv.FormatUint(rand.Uint64()%1e6, 10)
	}
	return r.Holder
}

func (r *Runner) lease() time.Duration { return cmpOr(r.Lease, DefaultLease) }

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Claim takes (job, period) for this runner: a new period, or one whose
// holder's lease ran out before it was done. false means another replica
// holds it or it is done.
func (r *Runner) Claim(ctx context.Context, job JobName, period time.Time) (bool, error) {
	now := store.Timestamp(r.Now())
	key, until := PeriodKey(period), now.Add(r.lease())
	res, err := r.Store.Exec(ctx, `INSERT INTO scheduled_runs (job, period, holder, lease_until, started_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job, period) DO NOTHING`, string(job), key, r.holder(), until, now)
	if err != nil {
		return false, fmt.Errorf("schedule: claim %s: %w", job, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	res, err = r.Store.Exec(ctx, `UPDATE scheduled_runs SET holder = $3, lease_until = $4, attempts = attempts + 1
		WHERE job = $1 AND period = $2 AND done_at IS NULL AND lease_until < $5`, string(job), key, r.holder(), until, now)
	if err != nil {
		return false, fmt.Errorf("schedule: take over %s: %w", job, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// errLost is a renewal that found the run no longer ours.
var errLost = errors.New("schedule: lease lost")

// renew extends this runner's lease on a run it holds.
func (r *Runner) renew(ctx context.Context, job JobName, key string) error {
	res, err := r.Store.Exec(ctx, `UPDATE scheduled_runs SET lease_until = $4
		WHERE job = $1 AND period = $2 AND holder = $3 AND done_at IS NULL`,
		string(job), key, r.holder(), store.Timestamp(r.Now()).Add(r.lease()))
	if err != nil {
		return fmt.Errorf("schedule: renew %s: %w", job, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errLost
	}
	return nil
}

// done marks a run this runner holds finished.
func (r *Runner) done(ctx context.Context, job JobName, key, progress string) error {
	res, err := r.Store.Exec(ctx, `UPDATE scheduled_runs SET done_at = $4, progress = $5
		WHERE job = $1 AND period = $2 AND holder = $3 AND done_at IS NULL`,
		string(job), key, r.holder(), store.Timestamp(r.Now()), progress)
	if err != nil {
		return fmt.Errorf("schedule: done %s: %w", job, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errLost
	}
	return nil
}

// Once runs j for the period now falls in, if no replica has run it or is
// running it. ran tells whether this call ran it to the end.
func (r *Runner) Once(ctx context.Context, j Job) (ran bool, err error) {
	period := PeriodOf(r.Now().Add(-j.Offset), j.Every).Add(j.Offset)
	ok, err := r.Claim(ctx, j.Name, period)
	if err != nil || !ok {
		return false, err
	}
	key := PeriodKey(period)
	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(r.lease() / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := r.renew(ctx, j.Name, key); err != nil {
					cancel(err) // another replica has it, or the store is gone: stop
					return
				}
			}
		}
	}()
	progress, err := j.Run(jobCtx, period)
	close(stop)
	<-renewed
	if cause := context.Cause(jobCtx); err == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	if err != nil {
		return false, fmt.Errorf("schedule: %s %s: %w", j.Name, key, err)
	}
	return true, r.done(ctx, j.Name, key, progress)
}

// Loop polls until ctx ends, running each job once per period. A failed
// run is logged and left to its lease: a later poll, here or on another
// replica, takes it over.
func (r *Runner) Loop(ctx context.Context, jobs ...Job) error {
	poll := cmpOr(r.Poll, DefaultPoll)
	for {
		for _, j := range jobs {
			if ran, err := r.Once(ctx, j); err != nil && ctx.Err() == nil {
				r.Logger.Error("scheduled job failed", "job", j.Name, "err", err)
			} else if ran {
				r.Logger.Info("scheduled job done", "job", j.Name)
			}
		}
		// Jittered, so replicas started together do not poll in step.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll/2 + rand.N(poll/2+1)):
		}
	}
}

// Runs lists a job's latest n runs, newest period first.
func (r *Runner) Runs(ctx context.Context, job JobName, n int) ([]Run, error) {
	rows, err := r.Store.Query(ctx, `SELECT job, period, holder, started_at, done_at, attempts, progress, lease_until
		FROM scheduled_runs WHERE job = $1 ORDER BY period DESC LIMIT `+strconv.Itoa(max(n, 1)), string(job))
	if err != nil {
		return nil, fmt.Errorf("schedule: runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var u Run
		if err := rows.Scan(&u.Job, &u.Period, &u.Holder, &u.StartedAt, store.ScanTime(&u.DoneAt), &u.Attempts, &u.Progress, &u.LeaseUntil); err != nil {
			return nil, fmt.Errorf("schedule: runs: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
