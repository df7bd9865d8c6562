package depositor

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/services"
	"handheld/services/identity"
)

// KioskLoginUses is what the phone's side of sign-in at a kiosk needs;
// *identity.Service provides it.
type KioskLoginUses interface {
	PreviewKioskLogin(ctx context.Context, phone services.Principal, code string) (identity.KioskLoginPreview, error)
	ConfirmKioskLogin(ctx context.Context, phone services.Principal, code string) (identity.KioskLoginPreview, error)
}

// KioskLogins serves the mini-program's side of sign-in at a kiosk by
// phone QR (docs/api.md § Sign-in at a kiosk by phone QR): having scanned
// the kiosk's QR code, the person sees which kiosk and where, then
// confirms.
type KioskLogins struct {
	Service KioskLoginUses
}

// Routes registers the routes on the /me group. channel admits the
// mini-program only; confirm (the kiosk_login assurance: a recent face
// check) runs before limit (the kiosk_login rate class), as every step-up
// does, so that a refused confirmation costs the person nothing.
func (h KioskLogins) Routes(me fiber.Router, channel, confirm, limit fiber.Handler) {
	me.Get("/kiosk-logins/:code", channel, limit, h.Preview)
	me.Post("/kiosk-logins", channel, confirm, limit, h.Confirm)
}

// Preview is GET /api/v1/me/kiosk-logins/{code}: {device_id, location,
// expires_in}.
func (h KioskLogins) Preview(c *fiber.Ctx) error {
	pv, err := h.Service.PreviewKioskLogin(c.UserContext(), middleware.PrincipalOf(c), c.Params("code"))
	if err != nil {
		return err
	}
	return private(c).JSON(fiber.Map{"device_id": pv.DeviceID, "location": pv.Location, "expires_in": roundUp(pv.ExpiresIn)})
}

// KioskLoginRequest is the body of POST /api/v1/me/kiosk-logins.
type KioskLoginRequest struct {
	Code string `json:"code"`
}

// Confirm is POST /api/v1/me/kiosk-logins {code}: the person is signed in
// at the kiosk showing code; 200 {device_id, location, confirmed_at}.
func (h KioskLogins) Confirm(c *fiber.Ctx) error {
	var req KioskLoginRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	pv, err := h.Service.ConfirmKioskLogin(c.UserContext(), middleware.PrincipalOf(c), req.Code)
	if err != nil {
		return err
	}
	return private(c).JSON(fiber.Map{"device_id": pv.DeviceID, "location": pv.Location, "confirmed_at": services.Instant(pv.ConfirmedAt)})
}

// roundUp is a remaining time in whole seconds, rounded up so that 0
// means gone.
func roundUp(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }
