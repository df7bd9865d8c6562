// Package idempotency owns the idempotency_keys table: the stored answers
// that make a creating HTTP request safe to retry. bff/middleware's
// Idempotency claims a key here, runs the handler and records its response
// here; no other package touches the table.
//
// # Two mechanisms, and why
//
// handheld has two idempotency mechanisms on purpose:
//
//   - This package, a response cache keyed by (caller and route, key): used
//     where replaying the first HTTP answer is all a retry needs, today
//     POST /api/v1/me/certificates. The claim, the handler's work and the
//     recorded answer are separate statements; if a replica dies between
//     the work and the record, the claim stays in flight until
//     ClaimTimeout and a retry then runs the handler again. For a
//     certificate that is harmless: a second copy states the same facts
//     and costs no money.
//   - The withdrawal application's own unique idempotency key
//     (services/withdrawal, columns of the withdrawals table): the key and
//     the request hash are written in the same SQL transaction as the
//     application, its outbox row and its status, under the person's lock.
//     A withdrawal moves money, so no crash may separate the application
//     from the answer a retry must get: a retry finds the application
//     itself, never a second one. A response cache in another table cannot
//     give that guarantee without joining the use case's transaction.
//
// Both read the same Idempotency-Key header and hash the request the same
// way (bff/middleware), so clients see one convention (docs/api.md).
package idempotency

import (
	"context"
	"errors"
	"time"

	"handheld/services"
	"handheld/services/store"
)

const (
	// ClaimTimeout is when an unfinished claim counts as abandoned (its
	// replica died mid-request) and a retry may take it over. Far above any
	// request deadline, so a live request is never overtaken.
	ClaimTimeout = 2 * time.Minute
	// Retention is how long a finished request is replayed; after it the
	// key is free again, as with the common 24-hour practice.
	Retention = 24 * time.Hour
	// attempts bounds the claim loop when other requests keep releasing
	// and taking the same key.
	attempts = 3
)

// sealedResponse is a stored response body: the answer to a bind, an
// application or an issue may name the person, so it is sealed at rest,
// bound to its scope and key.
var sealedResponse = store.SealedColumn{Table: "idempotency_keys", Key: []string{"scope", "key"}, Column: "response"}

// SealedColumns are the columns of idempotency_keys that hold sealed
// personal data, for the sealing step and `handheld keys reseal`.
func SealedColumns() []store.SealedColumn { return []store.SealedColumn{sealedResponse} }

// Keys is the idempotency_keys table. It is safe for concurrent use, across
// replicas too: claims are rows, taken with a unique key.
type Keys struct {
	store *store.Store
	now   func() time.Time
}

// New returns the table over s; now nil means time.Now.
func New(s *store.Store, now func() time.Time) *Keys {
	if now == nil {
		now = time.Now
	}
	return &Keys{store: s, now: now}
}

// Claim names a key a request holds. Its instant tells this claim from a
// later one that took the key over, so a slow request never finishes or
// releases someone else's.
type Claim struct {
	scope, key string
	at         time.Time
}

// Response is a finished request's answer, stored for replays.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}

// Claim takes key within scope for a request identified by hash, or
// returns the stored response of the request that finished with it, or the
// error a retry deserves: idempotency.key_reused for the same key with
// another request, idempotency.in_flight while the first still runs. An
// expired or abandoned key is taken over.
func (k *Keys) Claim(ctx context.Context, scope, key, hash string) (Claim, *Response, error) {
	for range attempts {
		at := store.Timestamp(k.now())
		_, err := k.store.Exec(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, status, created_at)
			VALUES ($1, $2, $3, 0, $4)`, scope, key, hash, at)
		if err == nil {
			return Claim{scope: scope, key: key, at: at}, nil, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return Claim{}, nil, services.Errorf(services.CodeInternal, "idempotency: claim: %w", err)
		}
		var (
			prevHash string
			created  time.Time
			done     Response
		)
		err = k.store.QueryRow(ctx, `SELECT request_hash, status, response, content_type, created_at
			FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, key).
			Scan(&prevHash, &done.Status, &done.Body, &done.ContentType, &created)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue // released between our INSERT and SELECT: try again
		case err != nil:
			return Claim{}, nil, services.Errorf(services.CodeInternal, "idempotency: read: %w", err)
		}
		expired := created.Before(at.Add(-Retention))
		abandoned := done.Status == 0 && created.Before(at.Add(-ClaimTimeout))
		if expired || abandoned {
			ok, err := k.takeOver(ctx, scope, key, hash, created, at)
			if err != nil {
				return Claim{}, nil, err
			}
			if ok {
				return Claim{scope: scope, key: key, at: at}, nil, nil
			}
			continue // someone else took it first: look again
		}
		switch {
		case prevHash != hash:
			return Claim{}, nil, services.E(services.CodeIdempotencyKeyReused)
		case done.Status == 0:
			return Claim{}, nil, services.E(services.CodeIdempotencyInFlight)
		}
		if done.Body, err = k.store.Open(done.Body, sealedResponse.Place(scope, key)); err != nil {
			return Claim{}, nil, services.Errorf(services.CodeInternal, "idempotency: stored response: %w", err)
		}
		return Claim{}, &done, nil
	}
	return Claim{}, nil, services.Errorf(services.CodeIdempotencyInFlight, "idempotency: key contended %d times", attempts)
}

// takeOver claims an expired or abandoned key, unless another request
// changed it since it was read (compare-and-set on created_at).
func (k *Keys) takeOver(ctx context.Context, scope, key, hash string, was, at time.Time) (bool, error) {
	res, err := k.store.Exec(ctx, `UPDATE idempotency_keys
		SET request_hash = $3, status = 0, response = NULL, content_type = '', created_at = $4, completed_at = NULL
		WHERE scope = $1 AND key = $2 AND created_at = $5`, scope, key, hash, at, was)
	if err != nil {
		return false, services.Errorf(services.CodeInternal, "idempotency: take over: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, services.Errorf(services.CodeInternal, "idempotency: take over: %w", err)
	}
	return n == 1, nil
}

// Finish records the response of the request holding cl, sealed, for
// replays. A claim that was taken over meanwhile is left alone. On an
// error the claim stays in flight until it counts as abandoned, so a quick
// retry is refused (409) rather than repeated.
func (k *Keys) Finish(ctx context.Context, cl Claim, r Response) error {
	body, err := k.store.Seal(r.Body, sealedResponse.Place(cl.scope, cl.key))
	if err != nil {
		return services.Errorf(services.CodeInternal, "idempotency: seal response: %w", err)
	}
	if _, err := k.store.Exec(ctx, `UPDATE idempotency_keys
		SET status = $3, response = $4, content_type = $5, completed_at = $6
		WHERE scope = $1 AND key = $2 AND created_at = $7 AND status = 0`,
		cl.scope, cl.key, r.Status, body, r.ContentType, store.Timestamp(k.now()), cl.at); err != nil {
		return services.Errorf(services.CodeInternal, "idempotency: finish: %w", err)
	}
	return nil
}

// Release deletes cl so the key can be used again, after a failure.
// Best effort: a claim left behind is taken over once abandoned.
func (k *Keys) Release(ctx context.Context, cl Claim) {
	_, _ = k.store.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at = $3 AND status = 0`,
		cl.scope, cl.key, cl.at)
}
