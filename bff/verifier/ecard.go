// Package verifier serves those who check a holder's credentials: counters,
// partner banks and kiosks holding verifier or device tokens. It verifies
// electronic HPF cards (POST /api/v1/ecard/verify); every route needs a login.
package verifier

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/services"
	"handheld/services/ecard"
)

// ECardChecks is what e-card verification needs from services/ecard;
// *ecard.Service provides it.
type ECardChecks interface {
	Verify(ctx context.Context, verifier services.Principal, payload string) (ecard.Result, error)
}

// ECard serves POST /api/v1/ecard/verify to counters, partner banks and
// kiosks holding verifier credentials.
type ECard struct {
	Service ECardChecks
}

// Routes registers the verify route on the /api/v1 group: auth verifies
// the token, require admits roles verifier and kiosk, limit rate-limits.
func (h ECard) Routes(v1 fiber.Router, auth, require, limit fiber.Handler) {
	v1.Post("/ecard/verify", auth, require, limit, h.Verify)
}

// ECardVerifyRequest is the body of POST /api/v1/ecard/verify: the payload
// as scanned from the holder's QR code.
type ECardVerifyRequest struct {
	Payload string `json:"payload"`
}

// ECardHolderBody is the holder, masked.
type ECardHolderBody struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
}

// ECardVerifyBody is the answer to a verification. A payload is answered
// once: a second scan is 409 ecard.replayed.
type ECardVerifyBody struct {
	Valid         bool            `json:"valid"`
	Holder        ECardHolderBody `json:"holder"`
	AccountStatus string          `json:"account_status"`
	Centre        string          `json:"centre"`
	VerifiedAt    string          `json:"verified_at"`
	// StatusAsOf is "status as of …": when the core last confirmed
	// AccountStatus (VerifiedAt by day; the last known status's time
	// during the core's maintenance window).
	StatusAsOf string `json:"status_as_of"`
}

// Verify is POST /api/v1/ecard/verify.
func (h ECard) Verify(c *fiber.Ctx) error {
	var req ECardVerifyRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	res, err := h.Service.Verify(c.UserContext(), middleware.PrincipalOf(c), req.Payload)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(ECardVerifyBody{Valid: res.Valid, Holder: ECardHolderBody{Name: res.Holder.Name, IDNumber: res.Holder.IDNumber},
		AccountStatus: res.AccountStatus, Centre: res.Centre, VerifiedAt: services.Instant(res.VerifiedAt),
		StatusAsOf: services.Instant(res.StatusAsOf)})
}
