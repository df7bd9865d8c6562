package auth

import (
	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/services/ratelimit"
)

// The bodies of the sign-in routes whose rate limits count the account
// being signed into. The limiter reads them through request.DecodeJSON,
// which decodes a body once, strictly: the handler then acts on the very
// value the limiter counted, and no case variant or duplicate name can
// show one account to the limiter and another to the handler.
type (
	employerRequest struct {
		UnitCode   string `json:"unit_code"`
		OperatorID string `json:"operator_id"`
		Password   string `json:"password"`
	}
	kioskRequest struct {
		IDNumber  string `json:"id_number"`
		Name      string `json:"name"`
		FaceToken string `json:"face_token"`
	}
	verifierRequest struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	refreshRequest struct {
		RefreshToken string `json:"refresh_token"`
	}
)

// account reads the body as T and picks the account from it; a body that
// does not decode counts as "" (the handler refuses it with 400).
func account[T any](c *fiber.Ctx, pick func(T) string) string {
	var req T
	if request.DecodeJSON(c, &req) != nil {
		return ""
	}
	return pick(req)
}

// EmployerAccount is the employer sign-in's Limit.Subject: the operator,
// by unit code and operator id, from one address (an IPv6 /64). Counted
// per operator alone, a stranger sending a few sign-ins a minute from
// anywhere would hold the real operator at 429; guessing spread over many
// addresses is what identity's per-operator lockout stops.
func EmployerAccount(c *fiber.Ctx) string {
	return account(c, func(r employerRequest) string {
		return r.UnitCode + "/" + r.OperatorID + "@" + ratelimit.AddressKey(middleware.GetClientIP(c))
	})
}

// KioskAccount is the kiosk sign-in's Limit.Subject: the person, by ID number.
func KioskAccount(c *fiber.Ctx) string {
	return account(c, func(r kioskRequest) string { return r.IDNumber })
}

// VerifierAccount is the verifier sign-in's Limit.Subject: the client id.
func VerifierAccount(c *fiber.Ctx) string {
	return account(c, func(r verifierRequest) string { return r.ClientID })
}

// PartyAccount is the party sign-in's Limit.Subject: the client id.
func PartyAccount(c *fiber.Ctx) string {
	return account(c, func(r verifierRequest) string { return r.ClientID })
}

// RefreshAccount is refresh's Limit.Subject: the token itself (hashed by
// the limiter), so one family cannot be tried faster from many addresses.
func RefreshAccount(c *fiber.Ctx) string {
	return account(c, func(r refreshRequest) string { return r.RefreshToken })
}
