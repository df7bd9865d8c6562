// Package depositor serves the depositor screens ("/api/v1/me/...") to
// every channel a depositor signs in on: the WeChat mini-program and a
// citizen at a kiosk alike.
package depositor

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
)

// Session is GET /api/v1/me/session: who the token speaks for and until
// when, so a client can tell a person their session state.
func Session(c *fiber.Ctx) error {
	p := middleware.PrincipalOf(c)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{
		"subject":    p.Subject,
		"role":       p.Role,
		"channel":    p.Channel,
		"expires_at": p.ExpiresAt.Format(time.RFC3339),
	})
}
