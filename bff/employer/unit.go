// Package employer serves the employer app ("/api/v1/employer/..."). Every
// handler reaches only the unit in the operator's token: the use cases in
// services/employer take the principal, never a unit code from the request.
package employer

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/services"
	units "handheld/services/employer"
)

// Units is what the handlers need of the employer use cases.
type Units interface {
	Unit(ctx context.Context, p services.Principal) (units.UnitView, error)
}

// Handlers serve the employer routes.
type Handlers struct {
	Units Units
}

// UnitBody is GET /api/v1/employer/unit, as bff/openapi.yaml publishes it.
type UnitBody struct {
	UnitCode       string `json:"unit_code"`
	Name           string `json:"name"`
	AccountNumber  string `json:"account_number"`
	Status         string `json:"status"`
	StaffCount     int    `json:"staff_count"`
	UnitRateBP     int    `json:"unit_rate_bp"`
	PersonalRateBP int    `json:"personal_rate_bp"`
	PaidUpTo       string `json:"paid_up_to"`
	AsOf           string `json:"as_of"`
	Stale          bool   `json:"stale"`
}

// Unit is GET /api/v1/employer/unit: the operator's own unit.
func (h Handlers) Unit(c *fiber.Ctx) error {
	u, err := h.Units.Unit(c.UserContext(), middleware.PrincipalOf(c))
	if err != nil {
		return err
	}
	return c.JSON(UnitBody{
		UnitCode: u.UnitCode, Name: u.Name, AccountNumber: u.AccountNumber, Status: u.Status,
		StaffCount: u.StaffCount, UnitRateBP: u.UnitRateBP, PersonalRateBP: u.PersonalRateBP, PaidUpTo: u.PaidUpTo,
		AsOf: services.Instant(u.AsOf), Stale: u.Stale,
	})
}
