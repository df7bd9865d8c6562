package public

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/locales"
	"handheld/services"
	"handheld/services/certificate"
	"handheld/templates"
)

// CertificateChecks is what the public certificate routes need from
// services/certificate; *certificate.Service provides it.
type CertificateChecks interface {
	PDF(ctx context.Context, id, t, variant string) ([]byte, error)
	Verify(ctx context.Context, code, channel string) (certificate.VerifyView, error)
}

// Certificates serves what needs no login about certificates: the PDF
// behind a signed link, and the verify answer as JSON (banks, other
// centres) and as the HTML page a certificate's QR code opens.
type Certificates struct {
	service  CertificateChecks
	catalogs *locales.Catalogs
	centre   string                        // the centre's name, for pages that found nothing
	pages    map[string]*template.Template // by language
}

// pageSecurity locks the verify page down: nothing loads from anywhere, no
// script runs, only its inline style applies, and the address (which holds
// the code) is never sent on as a referrer.
const pageSecurity = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// NewCertificates parses the verify pages (templates/verify.<lang>.html)
// once at start-up, so a broken template stops the process, not a request.
// centreName heads every page.
func NewCertificates(svc CertificateChecks, cat *locales.Catalogs, centreName string) (*Certificates, error) {
	h := &Certificates{service: svc, catalogs: cat, centre: centreName, pages: map[string]*template.Template{}}
	for _, lang := range []string{locales.ZhCN, locales.En} {
		name := "verify." + lang + ".html"
		t, err := template.ParseFS(templates.FS, name)
		if err != nil {
			return nil, fmt.Errorf("templates/%s: %w", name, err)
		}
		h.pages[lang] = t
	}
	return h, nil
}

// Routes registers the three public routes on the app's root. pdf limits
// downloads (class public), verify limits both verify routes (class
// verify_public, per IP).
func (h *Certificates) Routes(root fiber.Router, pdf, verify fiber.Handler) {
	root.Get("/api/v1/certificates/:id/pdf", pdf, h.PDF)
	root.Get("/api/v1/verify/:code", verify, h.VerifyJSON)
	root.Get("/verify/:code", verify, h.VerifyPage)
}

// PDF is GET /api/v1/certificates/{id}/pdf?t=&variant=: the certificate
// as a download, for whoever holds an unexpired link (403 otherwise).
func (h *Certificates) PDF(c *fiber.Ctx) error {
	id, variant := c.Params("id"), c.Query("variant")
	pdf, err := h.service.PDF(c.UserContext(), id, c.Query("t"), variant)
	if err != nil {
		return err
	}
	name := "hpf-certificate-" + id
	if variant == certificate.VariantPrint {
		name += "-print"
	}
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`.pdf"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return c.Send(pdf)
}

// VerifyBody is GET /api/v1/verify/{code}. A code that matches nothing is
// 200 with valid false and status not_found, so every answer about a
// well-formed code has this one shape; a malformed code is 400.
type VerifyBody struct {
	Valid       bool   `json:"valid"`
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	Number      string `json:"number,omitempty"`
	Type        string `json:"type,omitempty"`
	TypeLabel   string `json:"type_label,omitempty"`
	Holder      string `json:"holder,omitempty"`
	UnitCode    string `json:"unit_code,omitempty"` // a unit certificate's, masked
	IssuedAt    string `json:"issued_at,omitempty"`
	ExpiresAt   string `json:"expires_at,omitempty"`
	PDFSHA256   string `json:"pdf_sha256,omitempty"`
	Centre      string `json:"centre"`
	// ToCentre and ToCentreName: the lending centre a loan_elsewhere
	// certificate is addressed to.
	ToCentre     string `json:"to_centre,omitempty"`
	ToCentreName string `json:"to_centre_name,omitempty"`
}

// VerifyJSON is GET /api/v1/verify/{code}.
func (h *Certificates) VerifyJSON(c *fiber.Ctx) error {
	v, err := h.service.Verify(c.UserContext(), codeParam(c), certificate.ChannelAPI)
	if err != nil {
		return err
	}
	lang := middleware.Lang(c, h.catalogs)
	b := VerifyBody{Valid: v.Valid, Status: v.Status, StatusLabel: h.catalogs.T(lang, "certificate.status."+v.Status, nil), Centre: v.Centre}
	if v.Status != certificate.StatusNotFound {
		b.Number, b.Type, b.TypeLabel, b.Holder = v.Number, v.Type, h.catalogs.T(lang, "certificate.type."+v.Type, nil), v.Holder
		b.UnitCode, b.ToCentre, b.ToCentreName = v.UnitCode, v.ToCentre, v.ToCentreName
		b.IssuedAt, b.ExpiresAt, b.PDFSHA256 = services.Instant(v.IssuedAt), services.Instant(v.ExpiresAt), v.PDFSHA256
	}
	c.Set(fiber.HeaderContentLanguage, lang)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(b)
}

// verifyPage is what a verify page shows.
type verifyPage struct {
	Status, StatusLabel string // valid | expired | revoked | not_found | bad_code
	Found               bool
	Number, TypeLabel   string
	Holder              string
	UnitCode            string // a unit certificate's, masked; "" on a person's
	// ToCentre and ToCentreName: a loan_elsewhere certificate's lending
	// centre; "" on the others.
	ToCentre, ToCentreName string
	IssuedAt, ExpiresAt    string
	Centre, PDFSHA256      string
	Code                   string // the code as understood, when well-formed
}

// statusBadCode is the page's own status for a malformed code.
const statusBadCode = "bad_code"

// VerifyPage is GET /verify/{code}: the page for anyone who scans a
// certificate. valid, expired and revoked are 200; an unknown code is 404
// and a malformed one 400, both still a page in the reader's language.
func (h *Certificates) VerifyPage(c *fiber.Ctx) error {
	lang := middleware.Lang(c, h.catalogs)
	page, ok := h.pages[lang]
	if !ok {
		lang, page = locales.ZhCN, h.pages[locales.ZhCN]
	}
	code := codeParam(c)
	v, err := h.service.Verify(c.UserContext(), code, certificate.ChannelWeb)
	d := verifyPage{Status: v.Status, Centre: h.centre}
	status := fiber.StatusOK
	switch {
	case services.ErrorCode(err) == services.CodeCertificateBadCode:
		d.Status, status = statusBadCode, fiber.StatusBadRequest
	case err != nil:
		return err
	case v.Status == certificate.StatusNotFound:
		status = fiber.StatusNotFound
	default:
		d.Found, d.Number, d.Holder, d.UnitCode, d.PDFSHA256 = true, v.Number, v.Holder, v.UnitCode, v.PDFSHA256
		d.ToCentre, d.ToCentreName = v.ToCentre, v.ToCentreName
		d.TypeLabel = h.catalogs.T(lang, "certificate.type."+v.Type, nil)
		d.IssuedAt, d.ExpiresAt = clockTime(v.IssuedAt), clockTime(v.ExpiresAt)
	}
	if canonical, err := certificate.NormalizeCode(code); err == nil {
		d.Code = certificate.FormatCode(canonical)
	}
	d.StatusLabel = h.catalogs.T(lang, "certificate.status."+d.Status, nil)
	var buf bytes.Buffer
	if err := page.Execute(&buf, d); err != nil {
		return services.Errorf(services.CodeInternal, "verify page: %w", err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderContentLanguage, lang)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentSecurityPolicy, pageSecurity)
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set("X-Robots-Tag", "noindex, nofollow")
	return c.Status(status).Send(buf.Bytes())
}

// codeParam is the code as typed: Fiber leaves path parameters escaped, and
// a code typed with spaces arrives as %20.
func codeParam(c *fiber.Ctx) string {
	raw := c.Params("code")
	if code, err := url.PathUnescape(raw); err == nil {
		return code
	}
	return raw
}

// instant is an RFC 3339 time in the centre's zone, as every JSON body has.

// clockTime is a time as people read it on the page: centre time, minutes.
func clockTime(t time.Time) string { return t.In(services.CentreTime).Format("2006-01-02 15:04") }
