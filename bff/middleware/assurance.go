package middleware

import (
	"github.com/gofiber/fiber/v2"

	"handheld/services"
	"handheld/services/identity"
)

// AssuranceChecker decides whether a session is identified strongly and
// recently enough for a service.
type AssuranceChecker interface {
	RequireAssurance(p services.Principal, service identity.ServiceName) error
}

// Assurance admits a request to service only when the principal's session
// meets the centre's requirement for it; otherwise 403
// auth.step_up_required, naming the required acr and max age, and nothing
// further runs (no rate-limit count, no idempotency record). Auth must
// have run.
func Assurance(a AssuranceChecker, service identity.ServiceName) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := a.RequireAssurance(PrincipalOf(c), service); err != nil {
			return err
		}
		return c.Next()
	}
}
