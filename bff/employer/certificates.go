package employer

import (
	"context"
	"math"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/locales"
	"handheld/services"
	"handheld/services/certificate"
)

// CertificateUses is what the unit certificate routes need of
// services/certificate; *certificate.Service provides it. The service
// scopes every call to the unit in the operator's token.
type CertificateUses interface {
	Issue(ctx context.Context, p services.Principal, typ, purpose, lang string) (certificate.Issued, error)
	List(ctx context.Context, p services.Principal, limit int, cursor string) (certificate.Page, error)
	Get(ctx context.Context, p services.Principal, id string) (certificate.View, error)
	Revoke(ctx context.Context, p services.Principal, id string) (certificate.View, error)
}

// Certificates serves the unit deposit certificate (单位住房公积金缴存证明):
// issue one, list the unit's, see one with its verifications, revoke one.
// Every operator of the unit reaches the unit's certificates; another
// unit's id is 404, like an id that does not exist. The PDF is behind the
// signed download link, as a person's is (GET /api/v1/certificates/{id}/pdf).
type Certificates struct {
	Service  CertificateUses
	Catalogs *locales.Catalogs
}

// Routes registers the unit certificate routes on the /employer group.
// Issuing is a creating write: idem (the Idempotency-Key middleware) and
// limit (the certificate_issue class: the operator's daily budget and the
// unit's) run before it, in that order, so that a replay is answered
// without touching either budget. guards run first on every route (the
// "certificate" service switch).
func (h Certificates) Routes(emp fiber.Router, idem, limit fiber.Handler, guards ...fiber.Handler) {
	with := func(hs ...fiber.Handler) []fiber.Handler { return append(append([]fiber.Handler{}, guards...), hs...) }
	emp.Post("/certificates", with(idem, limit, h.Issue)...)
	emp.Get("/certificates", with(h.List)...)
	emp.Get("/certificates/:id", with(h.Get)...)
	emp.Post("/certificates/:id/revoke", with(h.Revoke)...)
}

// UnitIssueRequest is the body of POST /api/v1/employer/certificates. Lang
// chooses the PDF's language; without it, the request's (?lang=,
// Accept-Language).
type UnitIssueRequest struct {
	Type    string `json:"type"`
	Purpose string `json:"purpose"`
	Lang    string `json:"lang"`
}

// Issue is POST /api/v1/employer/certificates: 201 with where to download
// the PDF and the code to verify it.
func (h Certificates) Issue(c *fiber.Ctx) error {
	var req UnitIssueRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	lang := req.Lang
	if lang == "" {
		lang = middleware.Lang(c, h.Catalogs)
	}
	out, err := h.Service.Issue(c.UserContext(), middleware.PrincipalOf(c), req.Type, req.Purpose, lang)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, "/api/v1/employer/certificates/"+out.ID)
	c.Set(fiber.HeaderContentLanguage, lang)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(UnitIssuedBody{
		ID: out.ID, Number: out.Number, Type: out.Type, VerifyCode: out.VerifyCode, VerifyURL: out.VerifyURL,
		DownloadURL: out.DownloadURL, IssuedAt: services.Instant(out.IssuedAt), ExpiresAt: services.Instant(out.ExpiresAt),
	})
}

// List is GET /api/v1/employer/certificates?limit=&cursor=, newest first.
func (h Certificates) List(c *fiber.Ctx) error {
	q := request.NewQuery(c)
	n := q.Int64("limit", certificate.DefaultLimit, math.MinInt64, math.MaxInt64, false)
	if err := q.Err(); err != nil {
		return err
	}
	// Out-of-range limits reach the service, which names the bounds.
	limit := int(max(min(n, certificate.MaxLimit+1), 0))
	page, err := h.Service.List(c.UserContext(), middleware.PrincipalOf(c), limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	t := h.text(c)
	body := UnitCertificateListBody{Items: make([]UnitCertificateBody, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, v := range page.Items {
		body.Items = append(body.Items, unitCertificateBody(v, t))
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(body)
}

// Get is GET /api/v1/employer/certificates/{id}: status, usage and the
// latest verifications, with a fresh download link unless revoked.
func (h Certificates) Get(c *fiber.Ctx) error {
	v, err := h.Service.Get(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	t := h.text(c)
	b := UnitCertificateDetailBody{UnitCertificateBody: unitCertificateBody(v, t), Verifications: make([]CertificateVerificationBody, 0, len(v.Verifications))}
	for _, x := range v.Verifications {
		b.Verifications = append(b.Verifications, CertificateVerificationBody{At: services.Instant(x.At), Channel: x.Channel,
			ChannelLabel: t("certificate.channel."+x.Channel, nil)})
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(b)
}

// Revoke is POST /api/v1/employer/certificates/{id}/revoke, by any of the
// unit's operators; revoking twice answers the same.
func (h Certificates) Revoke(c *fiber.Ctx) error {
	v, err := h.Service.Revoke(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(unitCertificateBody(v, h.text(c)))
}

// text looks up labels in the request's language, and says which in
// Content-Language.
func (h Certificates) text(c *fiber.Ctx) func(key string, params map[string]any) string {
	lang := middleware.Lang(c, h.Catalogs)
	c.Set(fiber.HeaderContentLanguage, lang)
	return func(key string, params map[string]any) string { return h.Catalogs.T(lang, key, params) }
}

// UnitIssuedBody is the 201 answer to an issue. download_url is relative
// and works for a few minutes; GET /employer/certificates/{id} gives a
// fresh one.
type UnitIssuedBody struct {
	ID          string `json:"id"`
	Number      string `json:"number"`
	Type        string `json:"type"`
	VerifyCode  string `json:"verify_code"`
	VerifyURL   string `json:"verify_url"`
	DownloadURL string `json:"download_url"`
	IssuedAt    string `json:"issued_at"`
	ExpiresAt   string `json:"expires_at"`
}

// UnitCertificateBody is one of the unit's certificates.
type UnitCertificateBody struct {
	ID          string               `json:"id"`
	Number      string               `json:"number"`
	Type        string               `json:"type"`
	TypeLabel   string               `json:"type_label"`
	Purpose     string               `json:"purpose,omitempty"`
	Lang        string               `json:"lang"`
	Status      string               `json:"status"`
	StatusLabel string               `json:"status_label"`
	IssuedAt    string               `json:"issued_at"`
	ExpiresAt   string               `json:"expires_at"`
	RevokedAt   string               `json:"revoked_at,omitempty"`
	VerifyCode  string               `json:"verify_code"`
	VerifyURL   string               `json:"verify_url"`
	DownloadURL string               `json:"download_url,omitempty"`
	PDFSHA256   string               `json:"pdf_sha256"`
	UsageCount  int                  `json:"usage_count"`
	Facts       UnitCertificateFacts `json:"facts"`
}

// UnitCertificateFacts is what a unit certificate states, as signed.
type UnitCertificateFacts struct {
	Status         string `json:"status"`
	StatusLabel    string `json:"status_label"`
	StaffDeposited int    `json:"staff_deposited"`
	MonthlyFen     int64  `json:"monthly_fen"`
	PaidUpTo       string `json:"paid_up_to"`
	InArrears      bool   `json:"in_arrears"`
	ArrearsMonths  int    `json:"arrears_months"`
}

// UnitCertificateDetailBody is one certificate with its latest
// verifications, newest first.
type UnitCertificateDetailBody struct {
	UnitCertificateBody
	Verifications []CertificateVerificationBody `json:"verifications"`
}

// CertificateVerificationBody is one verification of a certificate: when,
// and through the page or the API; never who.
type CertificateVerificationBody struct {
	At           string `json:"at"`
	Channel      string `json:"channel"`
	ChannelLabel string `json:"channel_label"`
}

// UnitCertificateListBody is GET /api/v1/employer/certificates.
type UnitCertificateListBody struct {
	Items      []UnitCertificateBody `json:"items"`
	NextCursor string                `json:"next_cursor,omitempty"`
}

func unitCertificateBody(v certificate.View, t func(string, map[string]any) string) UnitCertificateBody {
	b := UnitCertificateBody{
		ID: v.ID, Number: v.Number, Type: v.Type, TypeLabel: t("certificate.type."+v.Type, nil), Purpose: v.Purpose,
		Lang: v.Lang, Status: v.Status, StatusLabel: t("certificate.status."+v.Status, nil),
		IssuedAt: services.Instant(v.IssuedAt), ExpiresAt: services.Instant(v.ExpiresAt), VerifyCode: v.VerifyCode, VerifyURL: v.VerifyURL,
		DownloadURL: v.DownloadURL, PDFSHA256: v.PDFSHA256, UsageCount: v.Usage,
	}
	if u := v.Unit; u != nil {
		b.Facts = UnitCertificateFacts{Status: u.Status, StatusLabel: t("status.unit."+u.Status, nil), StaffDeposited: u.StaffDeposited,
			MonthlyFen: u.MonthlyFen, PaidUpTo: u.PaidUpTo, InArrears: u.InArrears, ArrearsMonths: u.ArrearsMonths}
	}
	if !v.RevokedAt.IsZero() {
		b.RevokedAt = services.Instant(v.RevokedAt)
	}
	return b
}
