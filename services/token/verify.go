package token

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"handheld/services"
	"handheld/services/keys"
)

// Verify checks an access token and returns its claims. Every request carries
// one, so verified claims are cached (keyed by the token's SHA-256, until the
// token's exp) and a repeat costs a hash and a map lookup instead of an
// Ed25519 verification. Errors are *services.Error: CodeTokenExpired when a
// token we signed has run out (the client should refresh), CodeTokenInvalid
// otherwise, with a cause for the log that never quotes the token.
func (t *Tokens) Verify(token string) (Claims, error) {
	if err := precheck(token); err != nil {
		return Claims{}, err
	}
	if t.cache == nil {
		return t.verify(token)
	}
	var buf [MaxSize]byte // on the stack: hashing the string allocates nothing
	key := sha256.Sum256(buf[:copy(buf[:], token)])
	if c, ok := t.cache.get(key, t.cfg.Now()); ok {
		return c, nil
	}
	c, err := t.verify(token)
	if err != nil {
		return Claims{}, err
	}
	t.cache.put(key, c, t.cfg.Now())
	return c, nil
}

// VerifyNoCache is Verify without the cache: what every call would cost
// without it, for benchmarks and for callers that must see each check.
func (t *Tokens) VerifyNoCache(token string) (Claims, error) {
	if err := precheck(token); err != nil {
		return Claims{}, err
	}
	return t.verify(token)
}

// precheck refuses what is not worth parsing. Size is checked before any
// decoding, so an unauthenticated caller cannot make us decode large JSON.
func precheck(token string) error {
	switch {
	case token == "":
		return services.E(services.CodeTokenMissing)
	case len(token) > MaxSize:
		return services.Errorf(services.CodeTokenInvalid, "token is %d bytes, over the %d limit", len(token), MaxSize)
	}
	return nil
}

// verify does the full check: parse with the algorithm pinned, look the key
// up by kid among tokens keys only, verify the signature, then the claims.
func (t *Tokens) verify(token string) (Claims, error) {
	var w wireClaims
	if _, err := t.parser.ParseWithClaims(token, &w, t.keyFor); err != nil {
		return Claims{}, classify(err)
	}
	if w.IssuedAt == nil {
		return Claims{}, services.Errorf(services.CodeTokenInvalid, "token has no iat")
	}
	c := Claims{
		Subject:  w.Subject,
		Channel:  w.Channel,
		Role:     w.Role,
		Session:  w.Session,
		Unit:     w.Unit,
		Device:   w.Device,
		IssuedAt: w.IssuedAt.Time,
		// exp is required by the parser; nbf is optional in general but
		// always set by Mint.
		ExpiresAt: w.ExpiresAt.Time,
		ID:        w.ID,
		ACR:       services.ACR(w.ACR),

		OperatorRole:   services.OperatorRole(w.OperatorRole),
		PasswordChange: w.PasswordChange,
	}
	if w.AuthTime != nil {
		c.AuthTime = w.AuthTime.Time
	}
	if w.NotBefore != nil {
		c.NotBefore = w.NotBefore.Time
	}
	if err := c.validate(); err != nil {
		return Claims{}, services.Errorf(services.CodeTokenInvalid, "claims: %w", err)
	}
	return c, nil
}

// keyFor is the parser's key function. It runs after the alg pin and before
// the signature check, and decides from the header alone whether the token
// could be an access token of ours.
func (t *Tokens) keyFor(tok *jwt.Token) (any, error) {
	typ, _ := tok.Header["typ"].(string)
	if !strings.EqualFold(typ, tokenType) && !strings.EqualFold(typ, "application/"+tokenType) {
		return nil, errors.New("typ is not at+jwt")
	}
	// RFC 7515 §4.1.11: extensions we do not understand must be rejected.
	if _, ok := tok.Header["crit"]; ok {
		return nil, errors.New("crit header is not supported")
	}
	return t.ring.JWTKey(tok, keys.PurposeTokens)
}

// classify maps a parser error to the error type. Only a token whose sole
// fault is expiry counts as expired: the client's fix (refresh) is right for
// it and wrong for a token that is also for another audience. A malformed
// token's cause keeps the parser's step ("could not JSON decode claim") but
// not the decoder's detail, which can quote the token's content.
func classify(err error) error {
	if errors.Is(err, jwt.ErrTokenMalformed) {
		step, _, _ := strings.Cut(strings.TrimPrefix(err.Error(), jwt.ErrTokenMalformed.Error()+": "), ": ")
		return &services.Error{Code: services.CodeTokenInvalid, Cause: fmt.Errorf("%w: %s", jwt.ErrTokenMalformed, step)}
	}
	if errors.Is(err, jwt.ErrTokenExpired) {
		other := []error{jwt.ErrTokenInvalidAudience, jwt.ErrTokenInvalidIssuer, jwt.ErrTokenNotValidYet,
			jwt.ErrTokenUsedBeforeIssued, jwt.ErrTokenRequiredClaimMissing, jwt.ErrTokenInvalidSubject, jwt.ErrTokenInvalidId}
		if !slices.ContainsFunc(other, func(o error) bool { return errors.Is(err, o) }) {
			return &services.Error{Code: services.CodeTokenExpired, Cause: err}
		}
	}
	return &services.Error{Code: services.CodeTokenInvalid, Cause: err}
}

// quote renders an untrusted header value for the log: quoted (so control
// characters cannot forge log lines) and cut short.
func quote(s string) string {
	const limit = 64
	if len(s) > limit {
		return fmt.Sprintf("%q…", s[:limit])
	}
	return fmt.Sprintf("%q", s)
}
