package depositor

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/locales"
	"handheld/services"
	"handheld/services/cases"
)

// CaseUses is what the case screens need from services/cases;
// *cases.Service provides it.
type CaseUses interface {
	List(ctx context.Context, p services.Principal, limit int, cursor string) ([]cases.Case, string, error)
	Rate(ctx context.Context, p services.Principal, caseID string, level int, comment string) (cases.Case, error)
}

// Cases serves the depositor's cases (办件) on the /api/v1/me group: every
// withdrawal and certificate with its status and statutory deadline, and
// the rating (好差评) of a finished one.
type Cases struct {
	Service  CaseUses
	Catalogs *locales.Catalogs
}

// Routes registers the case routes on the /me group; limit runs before
// rating.
func (h Cases) Routes(me fiber.Router, limit fiber.Handler) {
	me.Get("/applications", h.List)
	me.Post("/applications/:id/rating", limit, h.Rate)
}

// CaseBody is one case.
type CaseBody struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	KindLabel   string `json:"kind_label"`
	Type        string `json:"type"`
	TypeLabel   string `json:"type_label"`
	CaseNumber  string `json:"case_number"`
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	Finished    bool   `json:"finished"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
	DueOn       string `json:"due_on,omitempty"`
	Rating      int    `json:"rating,omitempty"`
	Rateable    bool   `json:"rateable"`
}

// CaseListBody is GET /api/v1/me/applications.
type CaseListBody struct {
	Items      []CaseBody `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// List is GET /api/v1/me/applications?limit=&cursor=, newest first.
func (h Cases) List(c *fiber.Ctx) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	items, next, err := h.Service.List(c.UserContext(), middleware.PrincipalOf(c), limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	t := h.text(c)
	body := CaseListBody{Items: make([]CaseBody, 0, len(items)), NextCursor: next}
	for _, x := range items {
		body.Items = append(body.Items, caseBody(x, t))
	}
	return private(c).JSON(body)
}

// RatingRequest is the body of POST /api/v1/me/applications/{id}/rating:
// level 1 (very dissatisfied) to 5 (very satisfied), an optional comment.
type RatingRequest struct {
	Level   int    `json:"level"`
	Comment string `json:"comment"`
}

// Rate is POST /api/v1/me/applications/{id}/rating: once per finished case.
func (h Cases) Rate(c *fiber.Ctx) error {
	var req RatingRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	x, err := h.Service.Rate(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"), req.Level, req.Comment)
	if err != nil {
		return err
	}
	return private(c).Status(fiber.StatusCreated).JSON(caseBody(x, h.text(c)))
}

func (h Cases) text(c *fiber.Ctx) translate { return textsFor(c, h.Catalogs) }

func caseBody(x cases.Case, t translate) CaseBody {
	b := CaseBody{ID: x.ID, Kind: x.Kind, KindLabel: t("case.kind."+x.Kind, nil), Type: x.Type, CaseNumber: x.CaseNumber,
		Status: x.Status, Finished: x.Finished, CreatedAt: services.Instant(x.CreatedAt), UpdatedAt: services.Instant(x.UpdatedAt),
		DueOn: x.DueOn, Rating: x.Rating, Rateable: x.Finished && x.Rating == 0}
	switch x.Kind {
	case "withdrawal":
		b.TypeLabel, b.StatusLabel = t("withdrawal.kind."+x.Type, nil), t("withdrawal.status."+x.Status, nil)
	case cases.KindTransfer:
		b.TypeLabel, b.StatusLabel = t("case.kind.transfer", nil), t("transfer.status."+x.Status, nil)
	case cases.KindLoan:
		b.TypeLabel, b.StatusLabel = t("loan.payment."+strings.TrimPrefix(x.Type, "loan_"), nil), t("loan.payment_status."+x.Status, nil)
	default:
		b.TypeLabel, b.StatusLabel = t("certificate.type."+x.Type, nil), t("certificate.status."+x.Status, nil)
	}
	return b
}
