package audit

import (
	"context"
	"log/slog"
	"time"

	"handheld/services"
)

// Queue takes records without waiting for their commit (a *Log).
type Queue interface {
	Enqueue(ctx context.Context, r Record) error
}

// outcomeWait bounds how long an operation waits for room in the queue; it
// is detached from the request, so a client hanging up does not lose the
// record of what it did.
const outcomeWait = 2 * time.Second

// Outcome records an operation on personal data and decides what its
// caller gets, the same way for every use case: the operation's own error
// when it failed (the record is then best effort, a loss is logged), an
// internal error when it succeeded but cannot be recorded (the data is
// withheld: what cannot be audited does not happen), or nil. It fills the
// request id from ctx, and Result ("ok" or "error") unless set.
func Outcome(ctx context.Context, q Queue, log *slog.Logger, r Record, opErr error) error {
	r.RequestID = services.RequestID(ctx)
	if r.Result == "" {
		r.Result = "ok"
		if opErr != nil {
			r.Result = "error"
		}
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), outcomeWait)
	defer cancel()
	err := q.Enqueue(qctx, r)
	switch {
	case opErr != nil:
		if err != nil {
			log.ErrorContext(ctx, "audit record lost", "action", r.Action, "request_id", r.RequestID, "err", err)
		}
		return opErr
	case err != nil:
		return services.Errorf(services.CodeInternal, "audit %s: %w", r.Action, err)
	}
	return nil
}
