package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/services"
	"handheld/services/idempotency"
)

// Idempotency headers (docs/api.md §Conventions).
const (
	HeaderIdempotencyKey     = "Idempotency-Key"
	HeaderIdempotentReplayed = "Idempotent-Replayed"
)

const (
	// maxIdempotencyKey bounds a key; a UUID needs 36 characters.
	maxIdempotencyKey = 128
	// idempotencyWriteWait bounds recording the outcome once the request's
	// own deadline has passed: a response already made must still be
	// remembered, or a retry would create the resource again.
	idempotencyWriteWait = 5 * time.Second
)

// IdempotencyKeys is the store of claimed keys and their answers
// (services/idempotency owns the table; *idempotency.Keys).
type IdempotencyKeys interface {
	Claim(ctx context.Context, scope, key, hash string) (idempotency.Claim, *idempotency.Response, error)
	Finish(ctx context.Context, cl idempotency.Claim, r idempotency.Response) error
	Release(ctx context.Context, cl idempotency.Claim)
}

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
// resend the same bytes. Auth must run first. Withdrawals keep their key on
// the application instead (IdempotencyKeyOf); services/idempotency says why.
func Idempotency(keys IdempotencyKeys) fiber.Handler {
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
		cl, done, err := keys.Claim(c.UserContext(), scope, key, hash)
		if err != nil {
			return err
		}
		if done != nil {
			c.Status(done.Status)
			c.Set(fiber.HeaderContentType, done.ContentType)
			c.Set(fiber.HeaderCacheControl, "no-store")
			c.Set(HeaderIdempotentReplayed, "true")
			return c.Send(done.Body)
		}
		return runClaimed(c, keys, cl)
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

// runClaimed calls the handler holding the claim and records the outcome:
// a success is stored for replays, anything else releases the key, and so
// does a panic on its way up to Recover.
func runClaimed(c *fiber.Ctx, keys IdempotencyKeys, cl idempotency.Claim) (err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), idempotencyWriteWait)
	defer cancel()
	settled := false
	defer func() {
		if !settled {
			keys.Release(ctx, cl)
		}
	}()
	err = c.Next()
	status := c.Response().StatusCode()
	if err != nil || status >= 400 {
		settled = true
		keys.Release(ctx, cl)
		return err
	}
	// From here the claim is kept whatever happens: a response that was
	// made but could not be recorded still goes out, since the resource
	// exists; the claim then stays in flight until it counts as abandoned,
	// so a quick retry is refused (409) rather than repeated.
	settled = true
	_ = keys.Finish(ctx, cl, idempotency.Response{Status: status,
		ContentType: string(c.Response().Header.ContentType()), Body: c.Response().Body()})
	return nil
}
