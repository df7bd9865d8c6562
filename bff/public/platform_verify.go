package public

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/request"
	"handheld/services"
	"handheld/services/certificate"
	"handheld/services/core"
	"handheld/services/platform"
)

// PlatformChecks is what the platform's verification route needs from
// services/certificate; *certificate.Service provides it.
type PlatformChecks interface {
	VerifyThroughPlatform(ctx context.Context, code, centre string) (certificate.VerifyView, error)
}

// PlatformVerifications serves the national platform's calls to this
// centre: another centre verifying a certificate through the platform
// (docs/platform-contract.md § Verifying a certificate for a loan
// elsewhere). Each call is signed with the platform's own key: an unknown
// key, a bad signature, a timestamp outside the window or a nonce seen
// before is 401 platform.bad_signature, checked before the body is read,
// and nothing is recorded.
type PlatformVerifications struct {
	Service PlatformChecks
	// Keys are the platform's key ids and HMAC secrets; empty refuses
	// every call.
	Keys map[string][]byte
	// Nonces spends each call's nonce, across replicas (kv.Nonces).
	Nonces core.Nonces
	Now    func() time.Time
}

// platformHeaders are the platform's signature headers.
var platformHeaders = core.SignHeaders{KeyID: platform.HeaderKeyID, Timestamp: platform.HeaderTimestamp,
	Nonce: platform.HeaderNonce, Signature: platform.HeaderSignature}

// Routes registers POST /api/v1/platform/certificate-verifications on the
// app's root, behind limit.
func (h PlatformVerifications) Routes(root fiber.Router, limit fiber.Handler) {
	root.Post(platform.PathCentreCertificateVerifications, limit, h.Verify)
}

// Verify is POST /api/v1/platform/certificate-verifications
// {verify_code, verifying_centre}: 200 with the certificate's facts as the
// verify page gives them (platform.CertificateCheck), 404 not_found for a
// code that matches no certificate, 400 for a malformed request or a
// verifying centre the platform does not list.
func (h PlatformVerifications) Verify(c *fiber.Ctx) error {
	if !h.signed(c) {
		return services.E(services.CodePlatformBadSignature)
	}
	var req platform.ForwardedVerification
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	v, err := h.Service.VerifyThroughPlatform(c.UserContext(), req.VerifyCode, req.VerifyingCentre)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(platform.CertificateCheck{Valid: v.Valid, Status: v.Status, Number: v.Number, Type: v.Type,
		Holder: v.Holder, IssuedAt: services.Instant(v.IssuedAt), ExpiresAt: services.Instant(v.ExpiresAt),
		PDFSHA256: v.PDFSHA256, Centre: v.Centre, ToCentre: v.ToCentre, ToCentreName: v.ToCentreName})
}

// signed checks the platform's signature over the request as it arrived
// (method, escaped path, timestamp, nonce, body) and uses up its nonce.
func (h PlatformVerifications) signed(c *fiber.Ctx) bool {
	if len(h.Keys) == 0 || h.Nonces == nil {
		return false
	}
	u, err := url.ParseRequestURI(string(c.Request().RequestURI()))
	if err != nil {
		return false
	}
	r := &http.Request{Method: c.Method(), URL: u, Header: http.Header{}}
	for _, name := range []string{platformHeaders.KeyID, platformHeaders.Timestamp, platformHeaders.Nonce, platformHeaders.Signature} {
		r.Header.Set(name, c.Get(name))
	}
	return core.VerifyRequest(r, c.Body(), platformHeaders, h.Keys, h.Nonces, h.Now())
}
