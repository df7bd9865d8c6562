// Package employer serves the employer app ("/api/v1/employer/..."). Every
// handler reaches only the unit in the operator's token.
package employer

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/services/core"
)

// Units is what the handlers need from the core.
type Units interface {
	Unit(ctx context.Context, unitCode string) (core.Unit, error)
}

// Handlers serve the employer routes.
type Handlers struct {
	Units Units
}

// Unit is GET /api/v1/employer/unit: the operator's own unit.
func (h Handlers) Unit(c *fiber.Ctx) error {
	u, err := h.Units.Unit(c.UserContext(), middleware.PrincipalOf(c).Unit)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{
		"unit_code":        u.UnitCode,
		"name":             u.Name,
		"account_number":   u.AccountNumber,
		"status":           u.Status,
		"staff_count":      u.StaffCount,
		"unit_rate_bp":     u.UnitRateBP,
		"personal_rate_bp": u.PersonalRateBP,
		"paid_up_to":       u.PaidUpTo,
	})
}
