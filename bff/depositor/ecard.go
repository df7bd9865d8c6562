package depositor

import (
	"context"
	"math"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/services"
	"handheld/services/ecard"
)

// ECardUses is what the e-card screens need from services/ecard;
// *ecard.Service provides it.
type ECardUses interface {
	Card(ctx context.Context, p services.Principal) (ecard.Card, error)
	QR(ctx context.Context, p services.Principal, size int) ([]byte, error)
	Usage(ctx context.Context, p services.Principal) ([]ecard.Use, error)
}

// ECard serves the depositor's e-card on the /api/v1/me group: the current
// one-time payload, the same as a QR PNG, and who verified it. Every answer
// carries Cache-Control: no-store: a payload is good for one scan only.
type ECard struct {
	Service ECardUses
}

// Routes registers the e-card routes on the /me group; limit (the e-card
// rate-limit class) runs before the two that mint a payload.
func (h ECard) Routes(me fiber.Router, limit fiber.Handler) {
	me.Get("/ecard", limit, h.Card)
	me.Get("/ecard/qr.png", limit, h.QR)
	me.Get("/ecard/usage", h.Usage)
}

// ECardBody is GET /api/v1/me/ecard. refresh_after is when to fetch the
// next payload, a little before expires_at.
type ECardBody struct {
	Payload       string `json:"payload"`
	ExpiresAt     string `json:"expires_at"`
	RefreshAfter  string `json:"refresh_after"`
	AccountStatus string `json:"account_status"`
	// StatusAsOf is when the core last confirmed AccountStatus (during
	// the core's maintenance window, the last known status's time).
	StatusAsOf string `json:"status_as_of"`
}

// Card is GET /api/v1/me/ecard.
func (h ECard) Card(c *fiber.Ctx) error {
	card, err := h.Service.Card(c.UserContext(), middleware.PrincipalOf(c))
	if err != nil {
		return err
	}
	return private(c).JSON(ECardBody{Payload: card.Payload, ExpiresAt: services.Instant(card.ExpiresAt),
		RefreshAfter: services.Instant(card.RefreshAfter), AccountStatus: card.Status,
		StatusAsOf: services.Instant(card.StatusAsOf)})
}

// QR is GET /api/v1/me/ecard/qr.png?size= (pixels, 128–1024, default 320).
func (h ECard) QR(c *fiber.Ctx) error {
	q := request.NewQuery(c)
	size := q.Int64("size", ecard.DefaultQRSize, ecard.MinQRSize, ecard.MaxQRSize, false)
	if err := q.Err(); err != nil {
		return err
	}
	png, err := h.Service.QR(c.UserContext(), middleware.PrincipalOf(c), int(max(min(size, math.MaxInt32), 0)))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return private(c).Send(png)
}

// ECardUseBody is one verification of the holder's e-card.
type ECardUseBody struct {
	Verifier   string `json:"verifier"`
	Channel    string `json:"channel"`
	Result     string `json:"result"`
	VerifiedAt string `json:"verified_at"`
}

// ECardUsageBody is GET /api/v1/me/ecard/usage, newest first.
type ECardUsageBody struct {
	Items []ECardUseBody `json:"items"`
}

// Usage is GET /api/v1/me/ecard/usage.
func (h ECard) Usage(c *fiber.Ctx) error {
	uses, err := h.Service.Usage(c.UserContext(), middleware.PrincipalOf(c))
	if err != nil {
		return err
	}
	body := ECardUsageBody{Items: make([]ECardUseBody, 0, len(uses))}
	for _, u := range uses {
		body.Items = append(body.Items, ECardUseBody{Verifier: u.Verifier, Channel: u.Channel, Result: u.Result, VerifiedAt: services.Instant(u.At)})
	}
	return private(c).JSON(body)
}
