package employer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// The employer_jobs and employer_job_rows tables are this package's
// (migration 0014); their SQL is here and nowhere else.

// sealedCells is a line's cells, sealed at rest and bound to their job and
// line.
var sealedCells = store.SealedColumn{Table: "employer_job_rows", Key: []string{"job_id", "line"}, Column: "cells", Text: true}

// jobRow is an employer_jobs row.
type jobRow struct {
	Job
	UnitCode, Subject string
}

const jobColumnsSQL = `id, unit_code, subject, kind, status, total, processed, failed, created_at, updated_at, finished_at`

// insertBatch is how many lines one INSERT stores.
const insertBatch = 200

// insert stores a job and its lines in one transaction: a job is never
// seen without all of its lines.
func (j *Jobs) insert(ctx context.Context, r jobRow, lines []fileLine, key, hash string) error {
	return j.Store.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO employer_jobs (id, unit_code, subject, kind, status, total, processed, failed,
			idempotency_key, request_hash, created_at, updated_at, finished_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			r.ID, r.UnitCode, r.Subject, r.Kind, r.Status, r.Total, r.Processed, r.Failed, key, hash,
			r.CreatedAt, r.UpdatedAt, store.NullTime(r.FinishedAt)); err != nil {
			return err
		}
		for start := 0; start < len(lines); start += insertBatch {
			batch := lines[start:min(start+insertBatch, len(lines))]
			var sql strings.Builder
			sql.WriteString(`INSERT INTO employer_job_rows (job_id, line, cells, status, errors) VALUES `)
			args := make([]any, 0, 5*len(batch))
			for i, l := range batch {
				cells, _ := json.Marshal(l.Cells)
				sealed, err := tx.SealText(string(cells), sealedCells.Place(r.ID, fmt.Sprint(l.Line)))
				if err != nil {
					return err
				}
				status, errs := "pending", ""
				if len(l.errs) > 0 {
					b, _ := json.Marshal(l.errs)
					status, errs = "failed", string(b)
				}
				if i > 0 {
					sql.WriteString(", ")
				}
				n := len(args)
				fmt.Fprintf(&sql, "($%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5)
				args = append(args, r.ID, l.Line, sealed, status, errs)
			}
			if _, err := tx.Exec(ctx, sql.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

func (j *Jobs) load(ctx context.Context, where string, args ...any) (jobRow, error) {
	var r jobRow
	err := j.Store.QueryRow(ctx, `SELECT `+jobColumnsSQL+` FROM employer_jobs WHERE `+where, args...).Scan(
		&r.ID, &r.UnitCode, &r.Subject, &r.Kind, &r.Status, &r.Total, &r.Processed, &r.Failed,
		store.ScanTime(&r.CreatedAt), store.ScanTime(&r.UpdatedAt), store.ScanTime(&r.FinishedAt))
	return r, err
}

// byKey finds the job this operator uploaded under key: the same file
// gets it again, another idempotency.key_reused.
func (j *Jobs) byKey(ctx context.Context, subject, key, hash string) (Job, bool, error) {
	var stored string
	err := j.Store.QueryRow(ctx, `SELECT request_hash FROM employer_jobs WHERE subject = $1 AND idempotency_key = $2`,
		subject, key).Scan(&stored)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Job{}, false, nil
	case err != nil:
		return Job{}, false, services.Errorf(services.CodeInternal, "employer: job by key: %w", err)
	case stored != hash:
		return Job{}, false, services.E(services.CodeIdempotencyKeyReused)
	}
	r, err := j.load(ctx, `subject = $1 AND idempotency_key = $2`, subject, key)
	if err != nil {
		return Job{}, false, services.Errorf(services.CodeInternal, "employer: job by key: %w", err)
	}
	return r.Job, true, nil
}

// active counts a unit's unfinished jobs.
func (j *Jobs) active(ctx context.Context, unit string) (int, error) {
	var n int
	if err := j.Store.QueryRow(ctx, `SELECT COUNT(*) FROM employer_jobs WHERE unit_code = $1 AND status <> 'done'`, unit).Scan(&n); err != nil {
		return 0, services.Errorf(services.CodeInternal, "employer: active jobs: %w", err)
	}
	return n, nil
}

// storedLine is an employer_job_rows row, its cells opened.
type storedLine struct {
	line  int
	cells []string
	errs  []RowError
}

func (j *Jobs) lines(ctx context.Context, jobID, status string, limit int) ([]storedLine, error) {
	q := `SELECT line, cells, errors FROM employer_job_rows WHERE job_id = $1 AND status = $2 ORDER BY line`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := j.Store.Query(ctx, q, jobID, status)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedLine
	for rows.Next() {
		var l storedLine
		var cells, errs string
		if err := rows.Scan(&l.line, &cells, &errs); err != nil {
			return nil, err
		}
		plain, err := j.Store.OpenText(cells, sealedCells.Place(jobID, fmt.Sprint(l.line)))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", l.line, err)
		}
		if err := json.Unmarshal([]byte(plain), &l.cells); err != nil {
			return nil, fmt.Errorf("line %d: %w", l.line, err)
		}
		if errs != "" {
			if err := json.Unmarshal([]byte(errs), &l.errs); err != nil {
				return nil, fmt.Errorf("line %d: %w", l.line, err)
			}
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

func (j *Jobs) failedLines(ctx context.Context, r jobRow) ([]storedLine, error) {
	return j.lines(ctx, r.ID, "failed", 0)
}

// claimSQL leases the oldest unfinished job nobody holds: queued, or
// running under a lease that has run out (its replica died or stopped),
// or one this runner held and let go of after an error.
// $1 the owner, $2 the lease's end, $3 now. PostgreSQL skips a job another
// replica is claiming or recording a line of (FOR UPDATE SKIP LOCKED);
// SQLite has one writer at a time, and the conditional UPDATE is the claim.
func claimSQL(d store.Dialect) string {
	pick := `SELECT id FROM employer_jobs WHERE status <> 'done' AND (lease_until IS NULL OR lease_until <= $3 OR lease_owner = $1)
		ORDER BY created_at LIMIT 1`
	if d == store.Postgres {
		pick += ` FOR UPDATE SKIP LOCKED`
	}
	return `UPDATE employer_jobs SET status = 'running', lease_owner = $1, lease_until = $2, updated_at = $3
		WHERE id = (` + pick + `) AND status <> 'done' AND (lease_until IS NULL OR lease_until <= $3 OR lease_owner = $1)
		RETURNING ` + jobColumnsSQL
}

// claim leases one job for this runner, if any is waiting.
func (j *Jobs) claim(ctx context.Context) (jobRow, bool, error) {
	now := store.Timestamp(j.Now())
	var r jobRow
	err := j.Store.QueryRow(ctx, claimSQL(j.Store.Dialect()), j.Owner, now.Add(j.Policy.Lease), now).Scan(
		&r.ID, &r.UnitCode, &r.Subject, &r.Kind, &r.Status, &r.Total, &r.Processed, &r.Failed,
		store.ScanTime(&r.CreatedAt), store.ScanTime(&r.UpdatedAt), store.ScanTime(&r.FinishedAt))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return jobRow{}, false, nil
	case err != nil:
		return jobRow{}, false, err
	}
	return r, true, nil
}

// errLostLease: another runner holds the job now (this one's lease ran
// out); this runner stops working on it.
var errLostLease = errors.New("employer: job lease lost")

// lineResult is how a line ended, or (done false) that it did not end
// for now.
type lineResult struct {
	line     int
	done     bool
	changeID string     // applied
	errs     []RowError // refused
}

// record ends a batch's lines in one transaction, only while this runner
// still holds the job's lease (errLostLease otherwise), each only if still
// pending: a line another runner recorded first is left as it is (its
// change is the same one, keyed by job and line). The lease is renewed
// and the progress counted on the way. One commit a batch: a crash before
// it loses nothing, as the next runner's attempt at the batch's lines is
// answered from the changes already made.
func (j *Jobs) record(ctx context.Context, jobID string, results []lineResult) error {
	now := store.Timestamp(j.Now())
	return j.Store.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE employer_jobs SET updated_at = $1, lease_until = $2
			WHERE id = $3 AND lease_owner = $4 AND status = 'running'`, now, now.Add(j.Policy.Lease), jobID, j.Owner)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errLostLease
		}
		for _, r := range results {
			if !r.done {
				continue
			}
			status, errText := "applied", ""
			if len(r.errs) > 0 {
				b, _ := json.Marshal(r.errs)
				status, errText = "failed", string(b)
			}
			if _, err := tx.Exec(ctx, `UPDATE employer_job_rows SET status = $1, errors = $2, change_id = $3
				WHERE job_id = $4 AND line = $5 AND status = 'pending'`, status, errText, r.changeID, jobID, r.line); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, countSQL, jobID)
		return err
	})
}

// countSQL sets a job's progress from its lines. Counting (not adding)
// makes it right however often it runs and whoever recorded the lines.
const countSQL = `UPDATE employer_jobs SET
	processed = (SELECT COUNT(*) FROM employer_job_rows WHERE job_id = $1 AND status <> 'pending'),
	failed = (SELECT COUNT(*) FROM employer_job_rows WHERE job_id = $1 AND status = 'failed')
	WHERE id = $1`

// renew extends this runner's lease; errLostLease when it holds it no more.
func (j *Jobs) renew(ctx context.Context, jobID string) error {
	now := store.Timestamp(j.Now())
	res, err := j.Store.Exec(ctx, `UPDATE employer_jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND status = 'running'`,
		now.Add(j.Policy.Lease), jobID, j.Owner)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errLostLease
	}
	return nil
}

// finish marks a job done once no line is pending.
func (j *Jobs) finish(ctx context.Context, jobID string) error {
	now := store.Timestamp(j.Now())
	if err := j.record(ctx, jobID, nil); err != nil {
		return err
	}
	_, err := j.Store.Exec(ctx, `UPDATE employer_jobs SET status = 'done', finished_at = $1, updated_at = $1, lease_owner = '',
		lease_until = NULL WHERE id = $2 AND lease_owner = $3 AND status = 'running'
		AND NOT EXISTS (SELECT 1 FROM employer_job_rows WHERE job_id = $2 AND status = 'pending')`, now, jobID, j.Owner)
	return err
}

// release gives a job back at shutdown, so that another replica takes it
// over at once rather than after the lease.
func (j *Jobs) release(ctx context.Context, jobID string) error {
	_, err := j.Store.Exec(ctx, `UPDATE employer_jobs SET lease_until = NULL WHERE id = $1 AND lease_owner = $2 AND status = 'running'`,
		jobID, j.Owner)
	return err
}

// lineTimeout bounds one line's application: well inside the lease.
func (j *Jobs) lineTimeout() time.Duration { return j.Policy.Lease / 3 }
