package employer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"handheld/services"
)

// The runner: every replica runs one. It claims the oldest job nobody
// holds, applies its pending lines a batch at a time (Policy.Parallel at
// once), records each line's end under the job's lease, and marks the job
// done when no line is pending. A line is applied through the single
// call's use case with the Idempotency-Key "job:<id>:<line>", so a line
// applied by a runner that died before recording it is answered, when the
// next runner applies it again, from the change already made (a staff
// change's stored row; a base change's core request id): never twice.

// lineBatch is how many pending lines a runner reads at once.
const lineBatch = 64

// Run applies jobs until ctx ends, then gives back the job it holds.
func (j *Jobs) Run(ctx context.Context) error {
	for {
		worked, err := j.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			j.Logger.ErrorContext(ctx, "job runner", "err", err)
		}
		if worked && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-j.wake:
		case <-time.After(j.Poll):
		}
	}
}

// RunOnce claims one job and works on it until it is done, its lease is
// lost or ctx ends; worked is false when no job was waiting.
func (j *Jobs) RunOnce(ctx context.Context) (worked bool, err error) {
	r, ok, err := j.claim(ctx)
	if err != nil || !ok {
		return false, err
	}
	log := j.Logger.With("job", r.ID)
	log.InfoContext(ctx, "job claimed", "kind", r.Kind, "total", r.Total, "processed", r.Processed)
	err = j.work(ctx, r)
	switch {
	case errors.Is(err, errLostLease):
		log.WarnContext(ctx, "job lease lost to another runner")
		return true, nil
	case ctx.Err() != nil:
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		return true, j.release(rctx, r.ID)
	case err != nil:
		return true, err
	}
	log.InfoContext(ctx, "job done")
	return true, nil
}

// work applies r's pending lines until none is left, a batch at a time:
// the batch's lines at once (Policy.Parallel), then their ends recorded
// together. A line that could not be applied for now (the core down, the
// store busy) is left pending and the batch tried again after a pause,
// the lease renewed meanwhile.
func (j *Jobs) work(ctx context.Context, r jobRow) error {
	p := services.Principal{Subject: r.Subject, Role: services.RoleEmployer, Channel: services.ChannelApp, Unit: r.UnitCode}
	pause := 100 * time.Millisecond
	for {
		pending, err := j.lines(ctx, r.ID, "pending", lineBatch)
		if err != nil {
			return fmt.Errorf("employer: job %s: pending lines: %w", r.ID, err)
		}
		if len(pending) == 0 {
			return j.finish(ctx, r.ID)
		}
		results := make([]lineResult, len(pending))
		var g errgroup.Group
		g.SetLimit(j.Policy.Parallel)
		for i, l := range pending {
			g.Go(func() (err error) {
				results[i], err = j.apply(ctx, r, p, l)
				return err
			})
		}
		err = g.Wait()
		if rerr := j.record(context.WithoutCancel(ctx), r.ID, results); rerr != nil {
			return rerr
		}
		switch {
		case err == nil:
			pause = 100 * time.Millisecond
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		}
		j.Logger.WarnContext(ctx, "job line not applied for now", "job", r.ID, "err", err, "retry_in", pause.String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(pause*2, j.lineTimeout())
		if err := j.renew(ctx, r.ID); err != nil {
			return err
		}
	}
}

// apply applies one line. A refusal (the line can never be applied as it
// is) ends the line as failed with the refusal's errors; anything else is
// returned, the line left pending (done false).
func (j *Jobs) apply(ctx context.Context, r jobRow, p services.Principal, l storedLine) (lineResult, error) {
	fl := lineOf(r.Kind, l.line, l.cells, j.Now())
	if len(fl.errs) > 0 {
		// Checked at upload; a policy changed since refuses it now.
		return lineResult{line: l.line, done: true, errs: fl.errs}, nil
	}
	if ctx.Err() != nil {
		return lineResult{line: l.line}, ctx.Err()
	}
	ctx, cancel := context.WithTimeout(ctx, j.lineTimeout())
	defer cancel()
	k, key := keyOfLine(r, l)
	var changeID string
	var err error
	switch r.Kind {
	case JobJoin:
		var v StaffChange
		v, _, err = j.Staff.Join(ctx, p, fl.join, k)
		changeID = v.ID
	case JobLeave:
		var v StaffChange
		v, _, err = j.Staff.Leave(ctx, p, fl.leave, k)
		changeID = v.ID
	case JobRejoin:
		var v StaffChange
		v, _, err = j.Staff.Rejoin(ctx, p, fl.rejoin, k)
		changeID = v.ID
	case JobBase:
		_, err = j.Bases.Adjust(ctx, p, AdjustRequest{Bases: []BaseChange{fl.base}, IdempotencyKey: key})
		changeID = requestID(p, key)
	}
	if err != nil {
		if !refusal(services.ErrorCode(err)) {
			return lineResult{line: l.line}, fmt.Errorf("line %d: %w", l.line, err)
		}
		return lineResult{line: l.line, done: true, errs: rowErrorsOf(err)}, nil
	}
	return lineResult{line: l.line, done: true, changeID: changeID}, nil
}

// keyOfLine is a line's Idempotency-Key, "job:<id>:<line>", and the hash
// of its cells: the same line of the same job reaches the same change.
func keyOfLine(r jobRow, l storedLine) (Key, string) {
	key := "job:" + r.ID + ":" + strconv.Itoa(l.line)
	sum := sha256.Sum256([]byte(r.Kind + "\x00" + strings.Join(l.cells, "\x00")))
	return Key{IdempotencyKey: key, RequestHash: hex.EncodeToString(sum[:])}, key
}
