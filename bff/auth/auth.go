// Package auth serves sign-in on every channel (docs/api.md §Authentication):
// WeChat login and real-name binding, employer operators, kiosk devices and
// the citizens at them, refresh, logout and the public keys.
package auth

import (
	"context"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/services"
	"handheld/services/identity"
)

// Identity is what the handlers need from services/identity.
type Identity interface {
	LoginWeChat(ctx context.Context, code string) (identity.WeChatLogin, error)
	Bind(ctx context.Context, bindingToken string, r identity.BindRequest) (identity.Tokens, error)
	LoginEmployer(ctx context.Context, l identity.EmployerLogin) (identity.Tokens, error)
	StartDeviceSession(ctx context.Context, p identity.DeviceProof) (identity.Tokens, error)
	LoginKiosk(ctx context.Context, device services.Principal, l identity.KioskLogin) (identity.Tokens, error)
	Refresh(ctx context.Context, refresh string) (identity.Tokens, error)
	Logout(ctx context.Context, p services.Principal) error
	LoginVerifier(ctx context.Context, clientID, secret string) (identity.Tokens, error)
	LoginParty(ctx context.Context, clientID, secret string) (identity.Tokens, error)
	Authenticate(ctx context.Context, bearer string) (services.Principal, error)
	StartBindingFaceCheck(ctx context.Context, bindingToken, name, idNumber string) (identity.FaceCheckStart, error)
	StartSessionFaceCheck(ctx context.Context, p services.Principal) (identity.FaceCheckStart, error)
	StepUp(ctx context.Context, p services.Principal, faceResult string) (identity.Tokens, error)
	ChangeOperatorPassword(ctx context.Context, p services.Principal, ch identity.PasswordChange) (identity.Tokens, error)
}

// Handlers serve /api/v1/auth/*, /api/v1/kiosk/session and the JWKS.
type Handlers struct {
	ID     Identity
	KeySet []byte // the JWKS document
}

// Device-signature headers of POST /api/v1/kiosk/session.
const (
	HeaderDevice    = "X-Kiosk-Device"
	HeaderTimestamp = "X-Kiosk-Timestamp"
	HeaderNonce     = "X-Kiosk-Nonce"
	HeaderSignature = "X-Kiosk-Signature"
)

var wechatCode = regexp.MustCompile(`^[A-Za-z0-9_:-]{1,128}$`)

// tokens answers with a token response that no cache may keep.
func tokens(c *fiber.Ctx, t identity.Tokens) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(t)
}

// WeChat is POST /api/v1/auth/wechat {code}.
func (h Handlers) WeChat(c *fiber.Ctx) error {
	var req struct {
		Code string `json:"code"`
	}
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.Code == "" {
		return services.Invalid(services.FieldError{Field: "code", Code: services.FieldRequired})
	}
	if !wechatCode.MatchString(req.Code) {
		return services.Invalid(services.FieldError{Field: "code", Code: services.FieldFormat})
	}
	res, err := h.ID.LoginWeChat(c.UserContext(), req.Code)
	if err != nil {
		return err
	}
	if res.Tokens != nil {
		return tokens(c, *res.Tokens)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"binding_token": res.BindingToken, "expires_in": res.ExpiresIn})
}

// Bind is POST /api/v1/auth/bind {name, id_number, face_result} or
// {name, id_number, phone_code} with the binding token as the bearer.
func (h Handlers) Bind(c *fiber.Ctx) error {
	bt, err := middleware.Bearer(c)
	if err != nil {
		return err
	}
	var req struct {
		Name       string `json:"name"`
		IDNumber   string `json:"id_number"`
		FaceResult string `json:"face_result"`
		PhoneCode  string `json:"phone_code"`
	}
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	t, err := h.ID.Bind(c.UserContext(), bt, identity.BindRequest{Name: req.Name, IDNumber: req.IDNumber,
		FaceResult: req.FaceResult, PhoneCode: req.PhoneCode})
	if err != nil {
		return err
	}
	return tokens(c, t)
}

// Employer is POST /api/v1/auth/employer {unit_code, operator_id, password}.
func (h Handlers) Employer(c *fiber.Ctx) error {
	var req employerRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	t, err := h.ID.LoginEmployer(c.UserContext(), identity.EmployerLogin{UnitCode: req.UnitCode, OperatorID: req.OperatorID, Password: req.Password,
		Address: middleware.GetClientIP(c)})
	if err != nil {
		return err
	}
	return tokens(c, t)
}

// EmployerPassword is POST /api/v1/auth/employer/password
// {current_password, new_password} with the operator's access token: the
// operator's own change, and the only route a session signed in with a
// temporary password may use. It answers a new session's tokens; every
// earlier session of the operator has ended.
func (h Handlers) EmployerPassword(c *fiber.Ctx) error {
	var req struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	t, err := h.ID.ChangeOperatorPassword(c.UserContext(), middleware.PrincipalOf(c), identity.PasswordChange{
		CurrentPassword: req.CurrentPassword, NewPassword: req.NewPassword, Address: middleware.GetClientIP(c)})
	if err != nil {
		return err
	}
	return tokens(c, t)
}

// DeviceSession is POST /api/v1/kiosk/session, signed by the device.
func (h Handlers) DeviceSession(c *fiber.Ctx) error {
	p := identity.DeviceProof{
		DeviceID:  c.Get(HeaderDevice),
		Timestamp: c.Get(HeaderTimestamp),
		Nonce:     c.Get(HeaderNonce),
		Signature: c.Get(HeaderSignature),
		Method:    c.Method(),
		Path:      c.Path(),
		Body:      c.Body(),
	}
	if p.DeviceID == "" || p.Timestamp == "" || p.Nonce == "" || p.Signature == "" {
		return services.Errorf(services.CodeDeviceSignature, "signature headers missing")
	}
	t, err := h.ID.StartDeviceSession(c.UserContext(), p)
	if err != nil {
		return err
	}
	return tokens(c, t)
}

// Kiosk is POST /api/v1/auth/kiosk {id_number, name, face_token} with the
// device token.
func (h Handlers) Kiosk(c *fiber.Ctx) error {
	var req kioskRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	t, err := h.ID.LoginKiosk(c.UserContext(), middleware.PrincipalOf(c),
		identity.KioskLogin{Name: req.Name, IDNumber: req.IDNumber, FaceToken: req.FaceToken})
	if err != nil {
		return err
	}
	return tokens(c, t)
}

// Verifier is POST /api/v1/auth/verifier {client_id, client_secret}.
func (h Handlers) Verifier(c *fiber.Ctx) error {
	var req verifierRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	t, err := h.ID.LoginVerifier(c.UserContext(), req.ClientID, req.ClientSecret)
	if err != nil {
		return err
	}
	return tokens(c, t)
}

// Party is POST /api/v1/auth/party {client_id, client_secret}: a relying
// party's token (role party), no refresh token.
func (h Handlers) Party(c *fiber.Ctx) error {
	var req verifierRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	t, err := h.ID.LoginParty(c.UserContext(), req.ClientID, req.ClientSecret)
	if err != nil {
		return err
	}
	return tokens(c, t)
}

// Refresh is POST /api/v1/auth/refresh {refresh_token}.
func (h Handlers) Refresh(c *fiber.Ctx) error {
	var req refreshRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.RefreshToken == "" {
		return services.Invalid(services.FieldError{Field: "refresh_token", Code: services.FieldRequired})
	}
	t, err := h.ID.Refresh(c.UserContext(), req.RefreshToken)
	if err != nil {
		return err
	}
	return tokens(c, t)
}

// Logout is POST /api/v1/auth/logout.
func (h Handlers) Logout(c *fiber.Ctx) error {
	if err := h.ID.Logout(c.UserContext(), middleware.PrincipalOf(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// JWKS is GET /.well-known/jwks.json.
func (h Handlers) JWKS(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/jwk-set+json")
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(h.KeySet)
}

// FaceCheck is POST /api/v1/auth/face-checks: it starts a WeChat face
// verification and answers 201 {verify_id, expires_in} for the
// mini-program's wx.requestFacialVerify. With a binding token as the
// bearer the body names the person to bind, {name, id_number}; with a
// mini-program access token the body is {} and the check is for the
// session's own person, for a step-up.
func (h Handlers) FaceCheck(c *fiber.Ctx) error {
	bearer, err := middleware.Bearer(c)
	if err != nil {
		return err
	}
	var req struct {
		Name     string `json:"name"`
		IDNumber string `json:"id_number"`
	}
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	var fc identity.FaceCheckStart
	if strings.HasPrefix(bearer, "bt_") {
		fc, err = h.ID.StartBindingFaceCheck(c.UserContext(), bearer, req.Name, req.IDNumber)
	} else {
		var p services.Principal
		if p, err = h.ID.Authenticate(c.UserContext(), bearer); err != nil {
			return err
		}
		if req.Name != "" || req.IDNumber != "" {
			return services.Invalid(services.FieldError{Field: "id_number", Code: services.FieldFormat})
		}
		fc, err = h.ID.StartSessionFaceCheck(c.UserContext(), p)
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"verify_id": fc.VerifyID, "expires_in": fc.ExpiresIn})
}

// StepUp is POST /api/v1/auth/step-up {face_result} with the session's
// access token: a new access token for the same session with a fresh
// auth_time.
func (h Handlers) StepUp(c *fiber.Ctx) error {
	var req struct {
		FaceResult string `json:"face_result"`
	}
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	t, err := h.ID.StepUp(c.UserContext(), middleware.PrincipalOf(c), req.FaceResult)
	if err != nil {
		return err
	}
	return tokens(c, t)
}
