package employer

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/locales"
	"handheld/services"
	units "handheld/services/employer"
)

// JobUses is what the bulk file routes need of services/employer;
// *employer.Jobs provides it.
type JobUses interface {
	Submit(ctx context.Context, p services.Principal, u units.Upload) (units.Job, bool, error)
	Job(ctx context.Context, p services.Principal, id string) (units.Job, error)
	Report(ctx context.Context, p services.Principal, id string) ([]units.ReportLine, error)
}

// Jobs serves bulk files: the upload (202, applied in the background),
// its progress, the report of refused lines, and the templates.
type Jobs struct {
	Service  JobUses
	Catalogs *locales.Catalogs
	// MaxFileBytes is the policy's largest file, checked before the file
	// is read.
	MaxFileBytes int64
}

// JobBody is a bulk file's progress.
type JobBody struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	Total       int    `json:"total"`
	Processed   int    `json:"processed"`
	Failed      int    `json:"failed"`
	ErrorsURL   string `json:"errors_url"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
	FinishedAt  string `json:"finished_at,omitempty"`
}

// Upload is POST /api/v1/employer/jobs: multipart/form-data with the file
// (field file) and its kind (field kind: join, leave, rejoin or base);
// Idempotency-Key required.
func (h Jobs) Upload(c *fiber.Ctx) error {
	key, _, err := middleware.IdempotencyKeyOf(c)
	if err != nil {
		return err
	}
	kind, data, err := request.KindAndFile(c, h.MaxFileBytes, services.CodeJobFileTooLarge)
	if err != nil {
		return err
	}
	v, replayed, err := h.Service.Submit(c.UserContext(), middleware.PrincipalOf(c), units.Upload{Kind: kind, Data: data, IdempotencyKey: key})
	if err != nil {
		return err
	}
	if replayed {
		c.Set(middleware.HeaderIdempotentReplayed, "true")
	}
	c.Set(fiber.HeaderLocation, "/api/v1/employer/jobs/"+v.ID)
	return private(c).Status(fiber.StatusAccepted).JSON(h.body(c, v))
}

// Get is GET /api/v1/employer/jobs/{id}: the job's progress.
func (h Jobs) Get(c *fiber.Ctx) error {
	v, err := h.Service.Job(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return private(c).JSON(h.body(c, v))
}

// Errors is GET /api/v1/employer/jobs/{id}/errors: the refused lines as
// CSV (UTF-8 with a BOM, so that Excel reads it), one error a row: line,
// column, code, message in the caller's language, the cell's value
// (masked where the app masks it). Every cell that begins as a formula
// does is prefixed with ', so that opening the report runs nothing the
// file carried.
func (h Jobs) Errors(c *fiber.Ctx) error {
	id := c.Params("id")
	lines, err := h.Service.Report(c.UserContext(), middleware.PrincipalOf(c), id)
	if err != nil {
		return err
	}
	lang := middleware.Lang(c, h.Catalogs)
	t := func(key string, params map[string]any) string { return h.Catalogs.T(lang, key, params) }
	var b bytes.Buffer
	b.WriteString("\xEF\xBB\xBF")
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	write := func(cells ...string) {
		for i := range cells {
			cells[i] = units.Neutralize(cells[i])
		}
		_ = w.Write(cells)
	}
	write(t("job.report.line", nil), t("job.report.column", nil), t("job.report.code", nil), t("job.report.message", nil), t("job.report.value", nil))
	for _, l := range lines {
		write(strconv.Itoa(l.Line), l.Column, l.Code, h.message(lang, l.RowError), l.Value)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return services.Errorf(services.CodeInternal, "jobs: report: %w", err)
	}
	c.Set(fiber.HeaderContentLanguage, lang)
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-errors.csv"`, id))
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	return private(c).Send(b.Bytes())
}

// message is a line's error in lang: a cell's as the single call's
// errors[] words it, the line's as the error's title.
func (h Jobs) message(lang string, e units.RowError) string {
	if !e.Field {
		return h.Catalogs.T(lang, "error."+e.Code+".title", nil)
	}
	params := map[string]any{"field": e.Column}
	if e.Column != "" && h.Catalogs.Has("fieldname."+e.Column) {
		params["field"] = h.Catalogs.T(lang, "fieldname."+e.Column, nil)
	}
	for k, v := range e.Params {
		if list, ok := v.([]any); ok {
			parts := make([]string, len(list))
			for i, p := range list {
				parts[i] = fmt.Sprint(p)
			}
			v = strings.Join(parts, ", ")
		}
		params[k] = v
	}
	return h.Catalogs.T(lang, "field."+e.Code, params)
}

// Template is GET /api/v1/employer/jobs/templates/{kind}.{csv|xlsx}: an
// empty file of the kind, its header in the caller's language.
func (h Jobs) Template(c *fiber.Ctx) error {
	kind, format, _ := strings.Cut(c.Params("file"), ".")
	lang := middleware.Lang(c, h.Catalogs)
	b, err := units.Template(kind, format, lang == locales.ZhCN)
	if err != nil {
		return err
	}
	ct := "text/csv; charset=utf-8"
	if format == units.FormatXLSX {
		ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderContentLanguage, lang)
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.%s"`, kind, format))
	c.Set(fiber.HeaderCacheControl, "private, max-age=3600")
	return c.Send(b)
}

func (h Jobs) body(c *fiber.Ctx, v units.Job) JobBody {
	lang := middleware.Lang(c, h.Catalogs)
	c.Set(fiber.HeaderContentLanguage, lang)
	b := JobBody{ID: v.ID, Kind: v.Kind, Status: v.Status, StatusLabel: h.Catalogs.T(lang, "job.status."+v.Status, nil),
		Total: v.Total, Processed: v.Processed, Failed: v.Failed, ErrorsURL: "/api/v1/employer/jobs/" + v.ID + "/errors",
		CreatedAt: services.Instant(v.CreatedAt), UpdatedAt: services.Instant(v.UpdatedAt)}
	if !v.FinishedAt.IsZero() {
		b.FinishedAt = services.Instant(v.FinishedAt)
	}
	return b
}
