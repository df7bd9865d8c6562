package middleware

import (
	"context"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"handheld/services"
)

const localPrincipal = "principal"

// maxTokenBytes bounds what is parsed at all; real tokens are far smaller.
const maxTokenBytes = 4096

// Authenticator verifies a bearer token and its session.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (services.Principal, error)
}

// Bearer returns the token of an "Authorization: Bearer" header.
func Bearer(c *fiber.Ctx) (string, error) {
	h := c.Get(fiber.HeaderAuthorization)
	if h == "" {
		return "", services.E(services.CodeTokenMissing)
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || len(tok) > maxTokenBytes {
		return "", services.Errorf(services.CodeTokenInvalid, "malformed Authorization header")
	}
	return strings.TrimSpace(tok), nil
}

// Auth requires a valid access token on a live session and puts the
// principal on the request. Handlers read the subject from it, never from
// the path, query or body.
func Auth(a Authenticator) fiber.Handler {
	return func(c *fiber.Ctx) error {
		tok, err := Bearer(c)
		if err != nil {
			return err
		}
		p, err := a.Authenticate(c.UserContext(), tok)
		if err != nil {
			return err
		}
		c.Locals(localPrincipal, p)
		return c.Next()
	}
}

// Require admits only the given roles (and, when channels is not empty,
// channels). It runs after Auth.
func Require(roles []string, channels ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, ok := c.Locals(localPrincipal).(services.Principal)
		if !ok {
			return services.E(services.CodeTokenMissing)
		}
		if !slices.Contains(roles, p.Role) || (len(channels) > 0 && !slices.Contains(channels, p.Channel)) {
			return services.Errorf(services.CodeForbidden, "role %s on %s may not use %s", p.Role, p.Channel, c.Route().Path)
		}
		return c.Next()
	}
}

// PrincipalOf returns the request's principal; Auth must have run.
func PrincipalOf(c *fiber.Ctx) services.Principal {
	p, _ := c.Locals(localPrincipal).(services.Principal)
	return p
}

// SetPrincipal puts p on the request as Auth does, for a transport that
// authenticates otherwise (the kiosk screen reads the citizen's token from
// its cookie), so that RateLimit, Service and PrincipalOf see who it is.
func SetPrincipal(c *fiber.Ctx, p services.Principal) {
	c.Locals(localPrincipal, p)
}
