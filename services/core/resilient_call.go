package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"handheld/services"
)

// ErrCircuitOpen is wrapped in the Cause of the core.unavailable error a
// Reader returns without asking the core because the group's breaker is
// open (or half-open and already trying its few calls), so logs and
// readiness checks can tell "we did not ask" from "the core failed".
var ErrCircuitOpen = errors.New("core: circuit breaker open, the core was not called")

// fetched is the outcome of one shared core read. Payload is the answer as
// JSON: callers that joined someone else's read decode their own copy, so
// no two callers share slices they might modify.
type fetched[T any] struct {
	value   T
	payload []byte
	asOf    time.Time
}

// staleLoadTimeout bounds reading a stand-in once the core has failed
// (the caller's own deadline may be what failed).
const staleLoadTimeout = 200 * time.Millisecond

// read is the path of every Reader method: fresh cache, else one shared
// core read (retried, behind the breaker), else the last known answer.
func read[T any](ctx context.Context, r *Reader, g *group, resource, personID, query string, call func(context.Context) (T, error)) (T, Freshness, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, Freshness{}, callerGone(g, err)
	}
	key := cacheKey(resource, personID, query)
	// With nothing served fresh, the remembered answer only stands in when
	// the core fails: it is read then, not on every call.
	var (
		last     remembered
		haveLast bool
	)
	var kept any // last decoded, when this replica holds it so in memory
	if g.policy.FreshFor > 0 {
		last, kept, haveLast = r.load(ctx, g, key)
	}
	if haveLast && g.policy.fresh(last.AsOf, r.now()) {
		if v, ok := kept.(T); ok {
			r.cached(g, true)
			return v, Freshness{AsOf: last.AsOf}, nil
		}
		var v T
		if err := json.Unmarshal(last.Payload, &v); err == nil {
			if shareable[T]() {
				r.local.keepValue(key, last.AsOf, v)
			}
			r.cached(g, true)
			return v, Freshness{AsOf: last.AsOf}, nil
		}
		r.log.WarnContext(ctx, "core reader: cached answer does not decode, treated as a miss", "group", g.name)
		haveLast = false
	}
	r.cached(g, false)

	// The shared read runs detached from this caller: if it gives up, the
	// others still get their answer, and the answer still reaches the cache.
	r.waiting(key, +1)
	defer r.waiting(key, -1)
	ch := r.flights.DoChan(key, func() (any, error) { return fetch(ctx, r, g, key, call) })
	var err error
	select {
	case res := <-ch:
		if res.Err == nil {
			f := res.Val.(fetched[T])
			if res.Shared && f.payload != nil {
				var v T
				if json.Unmarshal(f.payload, &v) == nil {
					return v, Freshness{AsOf: f.asOf}, nil
				}
			}
			return f.value, Freshness{AsOf: f.asOf}, nil
		}
		err = res.Err
	case <-ctx.Done():
		err = callerGone(g, ctx.Err())
		if errors.Is(err, context.Canceled) {
			return zero, Freshness{}, err // nobody is waiting for a stale answer
		}
	}

	if degraded(err) && g.policy.FreshFor <= 0 {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), staleLoadTimeout)
		last, _, haveLast = r.load(lctx, g, key)
		cancel()
	}
	if haveLast && degraded(err) && g.policy.usable(last.AsOf, r.now()) {
		var v T
		if json.Unmarshal(last.Payload, &v) == nil {
			r.servedStale(g)
			r.log.InfoContext(ctx, "core reader: serving a stale answer", "group", g.name,
				"code", string(services.ErrorCode(err)), "age", r.now().Sub(last.AsOf).Round(time.Second).String())
			return v, Freshness{AsOf: last.AsOf, Stale: true, MaintenanceUntil: MaintenanceEnd(err, r.now())}, nil
		}
	}
	return zero, Freshness{}, err
}

// fetch is the shared core read. Its deadline is its own: enough for every
// attempt and wait the policy allows, whoever is still waiting.
func fetch[T any](caller context.Context, r *Reader, g *group, key string, call func(context.Context) (T, error)) (any, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(caller), g.budget)
	defer cancel()
	v, err := attempts(ctx, r, g, key, call)
	if err != nil {
		if notFound(err) {
			r.forget(ctx, g, key)
		}
		return nil, err
	}
	f := fetched[T]{value: v, asOf: r.now()}
	payload, err := json.Marshal(v)
	if err != nil {
		r.log.ErrorContext(ctx, "core reader: answer does not encode, not cached", "group", g.name, "err", err)
		return f, nil
	}
	f.payload = payload
	r.store(ctx, g, key, remembered{AsOf: f.asOf, Payload: payload})
	return f, nil
}

// attempts calls the core until it answers, the error is not worth
// repeating, the retries are spent, the next wait would outlast the
// deadline, or every caller has stopped waiting: a retry nobody waits for
// only adds load to a core that is already failing.
func attempts[T any](ctx context.Context, r *Reader, g *group, key string, call func(context.Context) (T, error)) (T, error) {
	for n := 0; ; n++ {
		v, err := attempt(ctx, g, call)
		if err == nil || n >= g.policy.Retries || !retryable(err) {
			return v, err
		}
		wait := r.backoff(g.policy.Backoff, n)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return v, err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return v, err
		}
		if !r.awaited(key) {
			r.log.DebugContext(ctx, "core reader: no caller is waiting, retries stopped", "group", g.name)
			return v, err
		}
		r.retried(g)
	}
}

// attempt is one call through the breaker, bounded by the group's Timeout.
func attempt[T any](ctx context.Context, g *group, call func(context.Context) (T, error)) (T, error) {
	done, err := g.breaker.Allow()
	if err != nil {
		var zero T
		return zero, &services.Error{
			Code:  services.CodeCoreUnavailable,
			Cause: fmt.Errorf("core %s: %w (breaker %s: %v)", g.name, ErrCircuitOpen, g.breaker.Name(), err),
		}
	}
	ctx, cancel := context.WithTimeout(ctx, g.policy.Timeout)
	defer cancel()
	v, err := call(ctx)
	done(err)
	return v, err
}

// retryable: only failures to get an answer (transport, timeout, 5xx) may
// go away on their own. Answers (not found, rejected), a maintenance window,
// a refused signature and an open breaker will be the same next time.
func retryable(err error) bool {
	return services.ErrorCode(err) == services.CodeCoreUnavailable &&
		!errors.Is(err, ErrCircuitOpen) &&
		!errors.Is(err, ErrSignatureRejected) &&
		!errors.Is(err, context.Canceled)
}

// degraded: the core could not answer, so a last known answer may stand in.
func degraded(err error) bool {
	c := services.ErrorCode(err)
	return c == services.CodeCoreUnavailable || c == services.CodeCoreMaintenance
}

// notFound: the core answered that the person or the account does not
// exist. That is not cached as a value (a new account must show at once)
// and it erases any remembered answer.
func notFound(err error) bool {
	c := services.ErrorCode(err)
	return c == services.CodePersonNotFound || c == services.CodeAccountNotFound || c == services.CodeNotFound
}

// breakerSuccess counts every answer from a working core as a success:
// not found, rejected and maintenance are the core doing its job.
func breakerSuccess(err error) bool {
	return err == nil || services.ErrorCode(err) != services.CodeCoreUnavailable
}

// breakerExcluded leaves out what says nothing about the core: a request
// refused before it was sent (invalid input, a bug) and a cancelled one.
func breakerExcluded(err error) bool {
	if err == nil {
		return false
	}
	c := services.ErrorCode(err)
	return c == services.CodeInvalid || c == services.CodeInternal || errors.Is(err, context.Canceled)
}

// callerGone is the error of a caller whose context ended before the core
// answered; it wraps the context's error for errors.Is.
func callerGone(g *group, err error) error {
	return &services.Error{
		Code:  services.CodeCoreUnavailable,
		Cause: fmt.Errorf("core %s: stopped waiting: %w", g.name, err),
	}
}

// MaintenanceEnd is when the core's maintenance window ends according to
// err (its Retry-After from now), zero when err is not a maintenance
// answer or names no end.
func MaintenanceEnd(err error, now time.Time) time.Time {
	if services.ErrorCode(err) != services.CodeCoreMaintenance {
		return time.Time{}
	}
	if e := services.AsError(err); e != nil && e.RetryAfter > 0 {
		return now.Add(e.RetryAfter).Truncate(time.Second)
	}
	return time.Time{}
}
