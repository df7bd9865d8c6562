package kiosk

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/services"
	"handheld/services/identity"
)

// LoginCodes is what the kiosk's side of the phone-QR sign-in needs;
// *identity.Service provides it.
type LoginCodes interface {
	CreateLoginCode(ctx context.Context, device services.Principal) (identity.LoginCode, error)
	PollLoginCode(ctx context.Context, device services.Principal, code string) (identity.LoginCodeState, error)
}

// SignInByPhone serves the kiosk device's side of sign-in by phone QR
// (docs/api.md § Sign-in at a kiosk by phone QR): a new code to show as a
// QR code, and polling it until the person has confirmed on the phone.
type SignInByPhone struct {
	Codes LoginCodes
}

// Create is POST /api/v1/kiosk/login-codes: 201 {code, url, expires_in}.
// The kiosk shows url as a QR code and polls the code.
func (h SignInByPhone) Create(c *fiber.Ctx) error {
	lc, err := h.Codes.CreateLoginCode(c.UserContext(), middleware.PrincipalOf(c))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderLocation, "/api/v1/kiosk/login-codes/"+lc.Code)
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"code": lc.Code, "url": lc.URL, "expires_in": seconds(lc.ExpiresIn)})
}

// Poll is GET /api/v1/kiosk/login-codes/{code}: {status: pending,
// expires_in} until the person confirms, then once {status: confirmed,
// access_token, token_type, expires_in} with the kiosk citizen session's
// tokens; after that kiosk_login.used.
func (h SignInByPhone) Poll(c *fiber.Ctx) error {
	st, err := h.Codes.PollLoginCode(c.UserContext(), middleware.PrincipalOf(c), c.Params("code"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if st.Tokens == nil {
		return c.JSON(fiber.Map{"status": st.Status, "expires_in": seconds(st.ExpiresIn)})
	}
	return c.JSON(fiber.Map{"status": st.Status, "access_token": st.Tokens.AccessToken, "token_type": st.Tokens.TokenType,
		"expires_in": st.Tokens.ExpiresIn})
}

// seconds rounds a remaining time up, so that 0 means gone.
func seconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}
