package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/services"
	"handheld/services/store"
)

// Idempotency headers (docs/api.md §Conventions).
const (
	HeaderIdempotencyKey     = "Idempotency-Key"
	HeaderIdempotentReplayed = "Idempotent-Replayed"
)

const (
	// maxIdempotencyKey bounds a key; a UUID needs 36 characters.
	maxIdempotencyKey = 128
	// idempotencyClaimTimeout is when an unfinished claim counts as
	// abandoned (its replica died mid-request) and a retry may take it
	// over. Far above any request deadline, so a live request is never
	// overtaken.
	idempotencyClaimTimeout = 2 * time.Minute
	// idempotencyRetention is how long a finished request is replayed;
	// after it the key is free again, as with the common 24-hour practice.
	idempotencyRetention = 24 * time.Hour
	// idempotencyWriteWait bounds recording the outcome once the request's
	// own deadline has passed: a response already made must still be
	// remembered, or a retry would create the resource again.
	idempotencyWriteWait = 5 * time.Second
	// idempotencyAttempts bounds the claim loop when other requests keep
	// releasing and taking the same key.
	idempotencyAttempts = 3
)

// Idempotency makes a creating write safe to retry. The client sends an
// Idempotency-Key; the first request with it claims the key in the store,
// runs the handler and stores its status, content type and body. A retry
// with the same key and the same request gets that response again, marked
// Idempotent-Replayed: true, without running the handler; the same key
// with another request is 422 idempotency.key_reused; a retry while the
// first is still running is 409 idempotency.in_flight. When the handler
// fails (an error, or a 4xx/5xx status), the claim is released so that the
// client can correct and retry with the same key.
//
// Keys are scoped to the caller and the route (principal subject, method,
// route pattern), so two people, or two routes, never share one. The
// request is identified by SHA-256 over method, path and the raw body:
// resend the same bytes. Auth must run first.
func Idempotency(s *store.Store, now func() time.Time) fiber.Handler {
	if now == nil {
		now = time.Now
	}
	keys := idempotencyKeys{store: s, now: now}
	return func(c *fiber.Ctx) error {
		key := c.Get(HeaderIdempotencyKey)
		if err := checkIdempotencyKey(key); err != nil {
			return err
		}
		p, ok := c.Locals(localPrincipal).(services.Principal)
		if !ok || p.Subject == "" {
			return services.Errorf(services.CodeTokenMissing, "idempotency: no principal on %s", c.Route().Path)
		}
		scope := p.Subject + " " + c.Method() + " " + c.Route().Path
		hash := requestHash(c.Method(), c.Path(), c.Body())
		cl, done, err := keys.claim(c.UserContext(), scope, key, hash)
		if err != nil {
			return err
		}
		if done != nil {
			c.Status(done.status)
			c.Set(fiber.HeaderContentType, done.contentType)
			c.Set(fiber.HeaderCacheControl, "no-store")
			c.Set(HeaderIdempotentReplayed, "true")
			return c.Send(done.body)
		}
		return keys.run(c, cl)
	}
}

// IdempotencyKeyOf reads and checks the request's Idempotency-Key and
// hashes the request the way Idempotency does, for a use case that keeps
// its own record of the key: a withdrawal stores both on the application,
// in the transaction that accepts it, so that no crash can separate the
// application from the answer a retry must get.
func IdempotencyKeyOf(c *fiber.Ctx) (key, hash string, err error) {
	key = c.Get(HeaderIdempotencyKey)
	if err := checkIdempotencyKey(key); err != nil {
		return "", "", err
	}
	return key, requestHash(c.Method(), c.Path(), c.Body()), nil
}

// checkIdempotencyKey admits 1–128 printable ASCII characters.
func checkIdempotencyKey(key string) error {
	if key == "" {
		return services.E(services.CodeIdempotencyKeyMissing)
	}
	if len(key) > maxIdempotencyKey {
		return services.Errorf(services.CodeIdempotencyKeyInvalid, "idempotency key of %d bytes", len(key))
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return services.Errorf(services.CodeIdempotencyKeyInvalid, "idempotency key byte %d is not printable ASCII", i)
		}
	}
	return nil
}

// requestHash identifies a request for comparing a retry with the first.
func requestHash(method, path string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{'\n'})
	h.Write([]byte(path))
	h.Write([]byte{'\n'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// sealedResponse is a stored response body: the answer to a bind, an
// application or an issue may name the person, so it is sealed at rest,
// bound to its scope and key.
var sealedResponse = store.SealedColumn{Table: "idempotency_keys", Key: []string{"scope", "key"}, Column: "response"}

// SealedColumns are the columns of idempotency_keys that hold sealed
// personal data, for the sealing step and `handheld keys reseal`.
func SealedColumns() []store.SealedColumn { return []store.SealedColumn{sealedResponse} }

// idempotencyKeys is the idempotency_keys table.
type idempotencyKeys struct {
	store *store.Store
	now   func() time.Time
}

// claimed names a key this request holds; at is the claim's created_at and
// tells this claim from a later one that took the key over.
type claimed struct {
	scope, key string
	at         time.Time
}

// finished is a stored response to replay.
type finished struct {
	status      int
	contentType string
	body        []byte
}

// claim takes the key for this request, or returns the stored response of
// the request that finished with it, or the error a retry deserves.
func (k idempotencyKeys) claim(ctx context.Context, scope, key, hash string) (claimed, *finished, error) {
	for range idempotencyAttempts {
		at := store.Timestamp(k.now())
		_, err := k.store.Exec(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, status, created_at)
			VALUES ($1, $2, $3, 0, $4)`, scope, key, hash, at)
		if err == nil {
			return claimed{scope: scope, key: key, at: at}, nil, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return claimed{}, nil, services.Errorf(services.CodeInternal, "idempotency: claim: %w", err)
		}
		var (
			prevHash string
			created  time.Time
			done     finished
		)
		err = k.store.QueryRow(ctx, `SELECT request_hash, status, response, content_type, created_at
			FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, key).
			Scan(&prevHash, &done.status, &done.body, &done.contentType, &created)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue // released between our INSERT and SELECT: try again
		case err != nil:
			return claimed{}, nil, services.Errorf(services.CodeInternal, "idempotency: read: %w", err)
		}
		expired := created.Before(at.Add(-idempotencyRetention))
		abandoned := done.status == 0 && created.Before(at.Add(-idempotencyClaimTimeout))
		if expired || abandoned {
			ok, err := k.takeOver(ctx, scope, key, hash, created, at)
			if err != nil {
				return claimed{}, nil, err
			}
			if ok {
				return claimed{scope: scope, key: key, at: at}, nil, nil
			}
			continue // someone else took it first: look again
		}
		switch {
		case prevHash != hash:
			return claimed{}, nil, services.E(services.CodeIdempotencyKeyReused)
		case done.status == 0:
			return claimed{}, nil, services.E(services.CodeIdempotencyInFlight)
		}
		if done.body, err = k.store.Open(done.body, sealedResponse.Place(scope, key)); err != nil {
			return claimed{}, nil, services.Errorf(services.CodeInternal, "idempotency: stored response: %w", err)
		}
		return claimed{}, &done, nil
	}
	return claimed{}, nil, services.Errorf(services.CodeIdempotencyInFlight, "idempotency: key contended %d times", idempotencyAttempts)
}

// takeOver claims an expired or abandoned key, unless another request
// changed it since it was read (compare-and-set on created_at).
func (k idempotencyKeys) takeOver(ctx context.Context, scope, key, hash string, was, at time.Time) (bool, error) {
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

// run calls the handler holding the claim and records the outcome: a
// success is stored for replays, anything else releases the key, and so
// does a panic on its way up to Recover.
func (k idempotencyKeys) run(c *fiber.Ctx, cl claimed) (err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), idempotencyWriteWait)
	defer cancel()
	settled := false
	defer func() {
		if !settled {
			k.release(ctx, cl)
		}
	}()
	err = c.Next()
	status := c.Response().StatusCode()
	if err != nil || status >= 400 {
		settled = true
		k.release(ctx, cl)
		return err
	}
	// From here the claim is kept whatever happens: a response that was
	// made but could not be recorded still goes out, since the resource
	// exists; the claim then stays in flight until it counts as abandoned,
	// so a quick retry is refused (409) rather than repeated.
	settled = true
	body, serr := k.store.Seal(c.Response().Body(), sealedResponse.Place(cl.scope, cl.key))
	if serr != nil {
		return nil
	}
	contentType := string(c.Response().Header.ContentType())
	_, _ = k.store.Exec(ctx, `UPDATE idempotency_keys
		SET status = $3, response = $4, content_type = $5, completed_at = $6
		WHERE scope = $1 AND key = $2 AND created_at = $7 AND status = 0`,
		cl.scope, cl.key, status, body, contentType, store.Timestamp(k.now()), cl.at)
	return nil
}

// release deletes this request's claim so the key can be used again.
// Best effort: a claim left behind is taken over once abandoned.
func (k idempotencyKeys) release(ctx context.Context, cl claimed) {
	_, _ = k.store.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at = $3 AND status = 0`,
		cl.scope, cl.key, cl.at)
}
