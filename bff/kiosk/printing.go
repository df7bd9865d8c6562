package kiosk

import (
	"context"
	"math"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/locales"
	"handheld/services"
	"handheld/services/hours"
	"handheld/services/printing"
)

// PrintUses is what the print routes need from services/printing;
// *printing.Service provides it.
type PrintUses interface {
	Create(ctx context.Context, p services.Principal, r printing.Request) (printing.Job, error)
	Get(ctx context.Context, p services.Principal, id string) (printing.Job, error)
	List(ctx context.Context, p services.Principal, limit int, cursor string) (printing.Page, error)
	Queue(ctx context.Context, device services.Principal) ([]printing.Job, error)
	Document(ctx context.Context, device services.Principal, id string) ([]byte, error)
}

// Printing serves printing at a kiosk: the citizen asks for a print and
// follows it (Create, Get), the kiosk's printer takes its queue and each
// PDF once (Queue, Document), and the holder lists their prints on any
// channel (List). Who may call which is the route guards' (bff/app.go)
// and checked again by the service.
type Printing struct {
	Service  PrintUses
	Catalogs *locales.Catalogs
	// Hours is the service switch a certificate's print copy is also
	// under (hours.Certificate), beside the account switch on the route;
	// nil leaves it to the route's.
	Hours middleware.Gate
}

// PrintRequest is the body of POST /api/v1/kiosk/print-jobs.
type PrintRequest struct {
	Document      string `json:"document"`
	From          string `json:"from"`
	To            string `json:"to"`
	CertificateID string `json:"certificate_id"`
}

// PrintJobBody is a print as the holder sees it; the labels are the
// plain-language (kiosk.print.*) wording in the request's language.
type PrintJobBody struct {
	ID            string  `json:"id"`
	Document      string  `json:"document"`
	DocumentLabel string  `json:"document_label"`
	Status        string  `json:"status"`
	StatusLabel   string  `json:"status_label"`
	Pages         int     `json:"pages"`
	DeviceID      string  `json:"device_id"`
	Location      string  `json:"location"`
	From          string  `json:"from,omitempty"`
	To            string  `json:"to,omitempty"`
	CertificateID string  `json:"certificate_id,omitempty"`
	CreatedAt     string  `json:"created_at"`
	ExpiresAt     string  `json:"expires_at"`
	PrintedAt     *string `json:"printed_at,omitempty"`
}

// PrintJobList is a page of the holder's prints, newest first.
type PrintJobList struct {
	Items      []PrintJobBody `json:"items"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// QueueItem is a job waiting at a kiosk's printer: what the printer needs
// and nothing about the person.
type QueueItem struct {
	ID        string `json:"id"`
	Document  string `json:"document"`
	Pages     int    `json:"pages"`
	CreatedAt string `json:"created_at"`
	ExpiresAt string `json:"expires_at"`
}

// PrintQueue is GET /api/v1/kiosk/print-queue's answer.
type PrintQueue struct {
	Items []QueueItem `json:"items"`
}

func (h Printing) body(c *fiber.Ctx, j printing.Job) PrintJobBody {
	lang := middleware.Lang(c, h.Catalogs)
	b := PrintJobBody{ID: j.ID, Document: j.Document, DocumentLabel: h.Catalogs.T(lang, "kiosk.print."+j.Document, nil),
		Status: j.Status, StatusLabel: h.Catalogs.T(lang, "kiosk.print.status."+j.Status, nil), Pages: j.Pages,
		DeviceID: j.DeviceID, Location: j.Location, From: j.From, To: j.To, CertificateID: j.CertificateID,
		CreatedAt: services.Instant(j.CreatedAt), ExpiresAt: services.Instant(j.ExpiresAt)}
	if j.PrintedAt != nil {
		at := services.Instant(*j.PrintedAt)
		b.PrintedAt = &at
	}
	return b
}

// Create is POST /api/v1/kiosk/print-jobs: 201 with the job, rendered and
// waiting for this kiosk's printer. The document prints in the request's
// language.
func (h Printing) Create(c *fiber.Ctx) error {
	var req PrintRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	p := middleware.PrincipalOf(c)
	if req.Document == printing.DocCertificate && h.Hours != nil {
		if err := h.Hours.Check(hours.Certificate, p.Channel); err != nil {
			return err
		}
	}
	lang := middleware.Lang(c, h.Catalogs)
	j, err := h.Service.Create(c.UserContext(), p, printing.Request{
		Document: req.Document, From: req.From, To: req.To, CertificateID: req.CertificateID,
		Locale: lang, IdempotencyKey: c.Get(middleware.HeaderIdempotencyKey)})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, "/api/v1/kiosk/print-jobs/"+j.ID)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(h.body(c, j))
}

// Get is GET /api/v1/kiosk/print-jobs/{id}: the holder's own print.
func (h Printing) Get(c *fiber.Ctx) error {
	j, err := h.Service.Get(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(h.body(c, j))
}

// List is GET /api/v1/me/print-jobs?limit=&cursor=: the holder's prints
// on every kiosk, newest first.
func (h Printing) List(c *fiber.Ctx) error {
	q := request.NewQuery(c)
	n := q.Int64("limit", printing.DefaultLimit, math.MinInt64, math.MaxInt64, false)
	if err := q.Err(); err != nil {
		return err
	}
	page, err := h.Service.List(c.UserContext(), middleware.PrincipalOf(c), int(max(min(n, printing.MaxLimit+1), 0)), c.Query("cursor"))
	if err != nil {
		return err
	}
	out := PrintJobList{Items: make([]PrintJobBody, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, j := range page.Items {
		out.Items = append(out.Items, h.body(c, j))
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}

// Queue is GET /api/v1/kiosk/print-queue: the calling kiosk's jobs
// waiting to print, oldest first.
func (h Printing) Queue(c *fiber.Ctx) error {
	jobs, err := h.Service.Queue(c.UserContext(), middleware.PrincipalOf(c))
	if err != nil {
		return err
	}
	out := PrintQueue{Items: make([]QueueItem, 0, len(jobs))}
	for _, j := range jobs {
		out.Items = append(out.Items, QueueItem{ID: j.ID, Document: j.Document, Pages: j.Pages,
			CreatedAt: services.Instant(j.CreatedAt), ExpiresAt: services.Instant(j.ExpiresAt)})
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}

// Document is GET /api/v1/kiosk/print-jobs/{id}/document: the PDF, once,
// to the kiosk the job was created at.
func (h Printing) Document(c *fiber.Ctx) error {
	pdf, err := h.Service.Document(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, `inline; filename="`+c.Params("id")+`.pdf"`)
	return c.Send(pdf)
}
