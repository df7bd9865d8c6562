package screen

import (
	"context"
	"regexp"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/services"
	"handheld/services/certificate"
	"handheld/services/hours"
	"handheld/services/identity"
)

// Prints is printing at this kiosk (services/printing); bff/app.go adapts
// *printing.Service to it. Nil leaves printing off the screen.
type Prints interface {
	CreatePrint(ctx context.Context, p services.Principal, r PrintRequest) (PrintJob, error)
	GetPrint(ctx context.Context, p services.Principal, id string) (PrintJob, error)
}

// PrintRequest is one document to print at the kiosk the citizen is at.
type PrintRequest struct {
	Document       string // deposit_statement | loan_statement | loan_settled | certificate
	From, To       string // YYYY-MM, a deposit statement's period
	CertificateID  string
	Locale         string
	IdempotencyKey string
}

// PrintJob is a print as its holder sees it.
type PrintJob struct {
	ID, Document, Status string // ready | printed | failed | expired
	Pages                int
	Location             string
	CreatedAt            time.Time
	PrintedAt            *time.Time
}

// printDocuments are what the screen offers to print.
var printDocuments = []string{"deposit_statement", "loan_statement", "loan_settled", "certificate"}

// month is YYYY-MM.
var month = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// printData is the print choice page's own.
type printData struct {
	Certificates []certificate.View
	FormID       string
	From, To     string
}

// PrintPage is GET <path>print: what can be printed here — a deposit
// statement for a period, the loan statement, the settled-loan
// certificate, one of the person's certificates.
func (s *Screen) PrintPage(c *fiber.Ctx) error {
	p := citizenPrincipal(c)
	if err := s.open(p, hours.Account, identity.ServiceRead); err != nil {
		return err
	}
	page, err := s.Certificates.List(c.UserContext(), p, screenListRows, "")
	if err != nil {
		return err
	}
	now := s.Now().In(services.CentreTime)
	d := printData{Certificates: page.Items, FormID: s.formID(p, "print"),
		From: now.AddDate(0, -11, 0).Format("2006-01"), To: now.Format("2006-01")}
	return s.renderPage(c, fiber.StatusOK, "print", pageData{Title: "kiosk.print.title", Data: d})
}

// Print is POST <path>print {document, from, to, certificate_id,
// form_id}: a print job at this kiosk through services/printing, with an
// idempotency key derived from the form; then its status page.
func (s *Screen) Print(c *fiber.Ctx) error {
	p := citizenPrincipal(c)
	if err := s.open(p, hours.Account, identity.ServiceRead); err != nil {
		return err
	}
	r := PrintRequest{Document: c.FormValue("document"), From: c.FormValue("from"), To: c.FormValue("to"),
		CertificateID: c.FormValue("certificate_id"), Locale: s.lang(c)}
	formID := c.FormValue("form_id")
	var fields []services.FieldError
	if !slices.Contains(printDocuments, r.Document) {
		fields = append(fields, services.FieldError{Field: "document", Code: services.FieldOneOf, Params: map[string]any{"allowed": printDocuments}})
	}
	if r.Document == "deposit_statement" && (!month.MatchString(r.From) || !month.MatchString(r.To)) {
		fields = append(fields, services.FieldError{Field: "from", Code: services.FieldFormat})
	}
	if r.Document != "deposit_statement" {
		r.From, r.To = "", ""
	}
	if r.Document != "certificate" {
		r.CertificateID = ""
	} else if r.CertificateID == "" || len(r.CertificateID) > 64 {
		fields = append(fields, services.FieldError{Field: "certificate_id", Code: services.FieldFormat})
	}
	if formID == "" || len(formID) > 64 {
		fields = append(fields, services.FieldError{Field: "form_id", Code: services.FieldFormat})
	}
	if len(fields) > 0 {
		return services.Invalid(fields...)
	}
	if r.Document == "certificate" {
		// A certificate's print copy is behind the certificate switch too.
		if err := s.Hours.Check(hours.Certificate, p.Channel); err != nil {
			return err
		}
	}
	r.IdempotencyKey = "kiosk-" + s.mac("print", p.Subject, formID, r.Document, r.CertificateID, r.From, r.To)[:40]
	job, err := s.Prints.CreatePrint(c.UserContext(), p, r)
	if err != nil {
		return err
	}
	return c.Redirect(s.Path+"print/"+job.ID, fiber.StatusSeeOther)
}

// jobShape bounds a print job id in the path.
var jobShape = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// PrintStatus is GET <path>print/{id}: the job's state, the page polling
// itself every two seconds until it is printed, failed or expired.
func (s *Screen) PrintStatus(c *fiber.Ctx) error {
	p := citizenPrincipal(c)
	id := c.Params("id")
	if !jobShape.MatchString(id) {
		return services.Errorf(services.CodeNotFound, "kiosk screen: malformed print job id")
	}
	job, err := s.Prints.GetPrint(c.UserContext(), p, id)
	if err != nil {
		return err
	}
	waiting := job.Status == "ready"
	return s.renderPage(c, fiber.StatusOK, "printjob", pageData{Title: "kiosk.print.status_title", Data: job,
		Poll: waiting, ReadAloudKey: "kiosk.print.read_aloud_" + job.Status,
		ReadAloudParams: map[string]any{"pages": job.Pages}})
}

// formID names one rendering of a form, for its idempotency key: pressing
// its button twice is one request, the next form another.
func (s *Screen) formID(p services.Principal, form string) string {
	return s.mac(form+"-form", p.Session, s.Now().Format(time.RFC3339Nano))[:22]
}
