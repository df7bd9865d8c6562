package depositor

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/locales"
	"handheld/services"
	"handheld/services/certificate"
)

// CertificateUses is what the certificate screens need from
// services/certificate; *certificate.Service provides it.
type CertificateUses interface {
	IssueFor(ctx context.Context, p services.Principal, q certificate.Request) (certificate.Issued, error)
	List(ctx context.Context, p services.Principal, limit int, cursor string) (certificate.Page, error)
	Get(ctx context.Context, p services.Principal, id string) (certificate.View, error)
	Revoke(ctx context.Context, p services.Principal, id string) (certificate.View, error)
}

// Certificates serves the depositor's own certificates on the /api/v1/me
// group: issue one, list them, see one with its verifications, revoke one.
// As everywhere under /me, the person is the token's subject; another
// person's certificate id is 404, like an id that does not exist.
type Certificates struct {
	Service  CertificateUses
	Catalogs *locales.Catalogs
}

// Routes registers the certificate routes on the /me group. Issuing is a
// creating write: idem (the Idempotency-Key middleware) and limit (the
// certificate_issue rate-limit class) run before it, in that order, so that
// a replay is answered without touching the person's daily budget, even
// once it is spent. guards run first on every route (e.g. the
// "certificate" service gate).
func (h Certificates) Routes(me fiber.Router, idem, limit fiber.Handler, guards ...fiber.Handler) {
	with := func(hs ...fiber.Handler) []fiber.Handler { return append(append([]fiber.Handler{}, guards...), hs...) }
	me.Post("/certificates", with(idem, limit, h.Issue)...)
	me.Get("/certificates", with(h.List)...)
	me.Get("/certificates/:id", with(h.Get)...)
	me.Post("/certificates/:id/revoke", with(h.Revoke)...)
}

// IssueRequest is the body of POST /api/v1/me/certificates. ToCentre is
// the lending centre's code on the national platform, for (and only for)
// a loan_elsewhere certificate.
type IssueRequest struct {
	Type     string `json:"type"`
	Purpose  string `json:"purpose"`
	ToCentre string `json:"to_centre"`
}

// PendingBody is the 202 answer to a certificate asked for during the
// core's maintenance window: the request's id and its status (pending);
// the certificate is issued when the core returns.
type PendingBody struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	RequestedAt string `json:"requested_at"`
}

// Issue is POST /api/v1/me/certificates: 201 with where to download the
// PDF and the code to verify it. The PDF's language is the request's.
func (h Certificates) Issue(c *fiber.Ctx) error {
	var req IssueRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	lang := middleware.Lang(c, h.Catalogs)
	out, err := h.Service.IssueFor(c.UserContext(), middleware.PrincipalOf(c),
		certificate.Request{Type: req.Type, Purpose: req.Purpose, Lang: lang, ToCentre: req.ToCentre})
	if err != nil {
		return err
	}
	if out.Pending {
		// The core's maintenance window: accepted, issued when it returns
		// (docs/api.md § At night); the case list shows it in progress.
		return private(c).Status(fiber.StatusAccepted).JSON(PendingBody{ID: out.ID, Status: certificate.RequestPending,
			RequestedAt: services.Instant(out.IssuedAt)})
	}
	c.Set(fiber.HeaderLocation, "/api/v1/me/certificates/"+out.ID)
	c.Set(fiber.HeaderContentLanguage, lang)
	return private(c).Status(fiber.StatusCreated).JSON(IssuedBody{
		ID: out.ID, Number: out.Number, Type: out.Type, VerifyCode: out.VerifyCode, VerifyURL: out.VerifyURL,
		DownloadURL: out.DownloadURL, IssuedAt: services.Instant(out.IssuedAt), ExpiresAt: services.Instant(out.ExpiresAt),
	})
}

// List is GET /api/v1/me/certificates?limit=&cursor=, newest first.
func (h Certificates) List(c *fiber.Ctx) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	page, err := h.Service.List(c.UserContext(), middleware.PrincipalOf(c), limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	t := h.text(c)
	body := CertificateListBody{Items: make([]CertificateBody, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, v := range page.Items {
		body.Items = append(body.Items, certificateBody(v, t))
	}
	return private(c).JSON(body)
}

// Get is GET /api/v1/me/certificates/{id}: status, usage and the latest
// verifications, with a fresh download link unless revoked.
func (h Certificates) Get(c *fiber.Ctx) error {
	v, err := h.Service.Get(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return private(c).JSON(certificateDetailBody(v, h.text(c)))
}

// Revoke is POST /api/v1/me/certificates/{id}/revoke; revoking twice
// answers the same.
func (h Certificates) Revoke(c *fiber.Ctx) error {
	v, err := h.Service.Revoke(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return private(c).JSON(certificateBody(v, h.text(c)))
}

func (h Certificates) text(c *fiber.Ctx) translate { return textsFor(c, h.Catalogs) }

// IssuedBody is the 201 answer to an issue. download_url is relative and
// works for a few minutes; GET /me/certificates/{id} gives a fresh one.
type IssuedBody struct {
	ID          string `json:"id"`
	Number      string `json:"number"`
	Type        string `json:"type"`
	VerifyCode  string `json:"verify_code"`
	VerifyURL   string `json:"verify_url"`
	DownloadURL string `json:"download_url"`
	IssuedAt    string `json:"issued_at"`
	ExpiresAt   string `json:"expires_at"`
}

// CertificateBody is one certificate as its holder sees it.
type CertificateBody struct {
	ID          string           `json:"id"`
	Number      string           `json:"number"`
	Type        string           `json:"type"`
	TypeLabel   string           `json:"type_label"`
	Purpose     string           `json:"purpose,omitempty"`
	Lang        string           `json:"lang"`
	Status      string           `json:"status"`
	StatusLabel string           `json:"status_label"`
	IssuedAt    string           `json:"issued_at"`
	ExpiresAt   string           `json:"expires_at"`
	RevokedAt   string           `json:"revoked_at,omitempty"`
	VerifyCode  string           `json:"verify_code"`
	VerifyURL   string           `json:"verify_url"`
	DownloadURL string           `json:"download_url,omitempty"`
	PDFSHA256   string           `json:"pdf_sha256"`
	UsageCount  int              `json:"usage_count"`
	Facts       CertificateFacts `json:"facts"`
	// ToCentre and ToCentreName: the lending centre a loan_elsewhere
	// certificate is addressed to; absent on the other types.
	ToCentre     string `json:"to_centre,omitempty"`
	ToCentreName string `json:"to_centre_name,omitempty"`
}

// CertificateFacts is what a certificate states, as signed.
type CertificateFacts struct {
	Status           string `json:"status"`
	StatusLabel      string `json:"status_label"`
	BalanceFen       int64  `json:"balance_fen"`
	ContinuousMonths int    `json:"continuous_months"`
	HasLoan          bool   `json:"has_loan"`
}

// CertificateDetailBody is one certificate with its latest verifications,
// newest first.
type CertificateDetailBody struct {
	CertificateBody
	Verifications []VerificationBody `json:"verifications"`
}

// VerificationBody is one verification of a certificate. Centre and
// CentreName say who verified through the national platform (channel
// platform); the web page and the API know nobody.
type VerificationBody struct {
	At           string `json:"at"`
	Channel      string `json:"channel"`
	ChannelLabel string `json:"channel_label"`
	Centre       string `json:"centre,omitempty"`
	CentreName   string `json:"centre_name,omitempty"`
}

// CertificateListBody is GET /api/v1/me/certificates.
type CertificateListBody struct {
	Items      []CertificateBody `json:"items"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

func certificateBody(v certificate.View, t translate) CertificateBody {
	b := CertificateBody{
		ID: v.ID, Number: v.Number, Type: v.Type, TypeLabel: t("certificate.type."+v.Type, nil), Purpose: v.Purpose,
		Lang: v.Lang, Status: v.Status, StatusLabel: t("certificate.status."+v.Status, nil),
		IssuedAt: services.Instant(v.IssuedAt), ExpiresAt: services.Instant(v.ExpiresAt), VerifyCode: v.VerifyCode, VerifyURL: v.VerifyURL,
		DownloadURL: v.DownloadURL, PDFSHA256: v.PDFSHA256, UsageCount: v.Usage, ToCentre: v.ToCentre, ToCentreName: v.ToCentreName,
		Facts: CertificateFacts{Status: v.Facts.Status, StatusLabel: t("status.account."+v.Facts.Status, nil),
			BalanceFen: v.Facts.BalanceFen, ContinuousMonths: v.Facts.ContinuousMonths, HasLoan: v.Facts.HasLoan},
	}
	if !v.RevokedAt.IsZero() {
		b.RevokedAt = services.Instant(v.RevokedAt)
	}
	return b
}

func certificateDetailBody(v certificate.View, t translate) CertificateDetailBody {
	b := CertificateDetailBody{CertificateBody: certificateBody(v, t), Verifications: make([]VerificationBody, 0, len(v.Verifications))}
	for _, x := range v.Verifications {
		b.Verifications = append(b.Verifications, VerificationBody{At: services.Instant(x.At), Channel: x.Channel,
			ChannelLabel: t("certificate.channel."+x.Channel, nil), Centre: x.Centre, CentreName: x.CentreName})
	}
	return b
}
