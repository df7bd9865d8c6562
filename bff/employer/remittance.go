package employer

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/services"
	"handheld/services/core"
	units "handheld/services/employer"
)

// RemittanceUses is what the remittance screens need of
// services/employer; *employer.Remittances provides it.
type RemittanceUses interface {
	Year(ctx context.Context, p services.Principal, year int) (units.YearView, error)
	Bill(ctx context.Context, p services.Principal, month string) (units.BillView, error)
	Declare(ctx context.Context, p services.Principal, month, ifMatch, key string) (units.Declared, error)
	Supplement(ctx context.Context, p services.Principal, month, ifMatch, key string) (units.Declared, error)
	Arrears(ctx context.Context, p services.Principal) (units.ArrearsView, error)
}

// Remittances serves the unit's remittance calendar, bills, declarations,
// arrears and supplements.
type Remittances struct {
	Service RemittanceUses
}

// MonthBody is one month of GET /api/v1/employer/remittances.
type MonthBody struct {
	Month          string  `json:"month"`
	Status         string  `json:"status"`
	Kind           string  `json:"kind,omitempty"`
	Headcount      int     `json:"headcount"`
	TotalFen       int64   `json:"total_fen"`
	InterestFen    int64   `json:"interest_fen"`
	DeclaredFen    int64   `json:"declared_fen"`
	PaidFen        int64   `json:"paid_fen"`
	OutstandingFen int64   `json:"outstanding_fen"`
	DeclaredAt     *string `json:"declared_at,omitempty"`
	PaidAt         *string `json:"paid_at,omitempty"`
}

// YearBody is GET /api/v1/employer/remittances?year=.
type YearBody struct {
	Year           int         `json:"year"`
	Items          []MonthBody `json:"items"`
	DeclaredFen    int64       `json:"declared_fen"`
	PaidFen        int64       `json:"paid_fen"`
	OutstandingFen int64       `json:"outstanding_fen"`
	AsOf           string      `json:"as_of"`
	Stale          bool        `json:"stale"`
}

// Year is GET /api/v1/employer/remittances?year=: the year's months with
// what was declared, paid and is still owed (without the interest of a
// supplement not yet declared).
func (h Remittances) Year(c *fiber.Ctx) error {
	q := request.NewQuery(c)
	year := q.Int64("year", 0, 1990, 9999, false)
	if err := q.Err(); err != nil {
		return err
	}
	y, err := h.Service.Year(c.UserContext(), middleware.PrincipalOf(c), int(year))
	if err != nil {
		return err
	}
	body := YearBody{Year: y.Year, Items: make([]MonthBody, 0, len(y.Items)), AsOf: services.Instant(y.AsOf), Stale: y.Stale}
	for _, m := range y.Items {
		mb := MonthBody{Month: m.Month, Status: m.Status, Kind: m.Kind, Headcount: m.Headcount, TotalFen: m.TotalFen,
			InterestFen: m.InterestFen, DeclaredAt: optInstant(m.DeclaredAt), PaidAt: optInstant(m.PaidAt)}
		due := m.TotalFen + m.InterestFen
		switch m.Status {
		case core.BillPaid:
			mb.DeclaredFen, mb.PaidFen = due, due
		case core.BillPending, core.BillCollecting:
			mb.DeclaredFen = due
		default: // open, overdue, failed
			mb.OutstandingFen = due
		}
		body.DeclaredFen += mb.DeclaredFen
		body.PaidFen += mb.PaidFen
		body.OutstandingFen += mb.OutstandingFen
		body.Items = append(body.Items, mb)
	}
	return unshared(c).JSON(body)
}

// LineBody is one person's part of a bill, name and ID number masked.
type LineBody struct {
	StaffID     string `json:"staff_id"`
	Name        string `json:"name"`
	IDNumber    string `json:"id_number"`
	BaseFen     int64  `json:"base_fen"`
	PersonalFen int64  `json:"personal_fen"`
	UnitFen     int64  `json:"unit_fen"`
}

// BillBody is GET /api/v1/employer/remittances/{month}.
type BillBody struct {
	Month            string     `json:"month"`
	Status           string     `json:"status"`
	Kind             string     `json:"kind"`
	Headcount        int        `json:"headcount"`
	BaseTotalFen     int64      `json:"base_total_fen"`
	PersonalTotalFen int64      `json:"personal_total_fen"`
	UnitTotalFen     int64      `json:"unit_total_fen"`
	TotalFen         int64      `json:"total_fen"`
	InterestFen      int64      `json:"interest_fen"`
	AmountDueFen     int64      `json:"amount_due_fen"`
	DeclaredAt       *string    `json:"declared_at,omitempty"`
	PaidAt           *string    `json:"paid_at,omitempty"`
	FailureReason    string     `json:"failure_reason,omitempty"`
	Lines            []LineBody `json:"lines"`
}

// Bill is GET /api/v1/employer/remittances/{month}: the whole bill, every
// line, with an ETag to declare it by.
func (h Remittances) Bill(c *fiber.Ctx) error {
	b, err := h.Service.Bill(c.UserContext(), middleware.PrincipalOf(c), c.Params("month"))
	if err != nil {
		return err
	}
	body := BillBody{Month: b.Month, Status: b.Status, Kind: b.Kind, Headcount: b.Headcount, BaseTotalFen: b.BaseTotalFen,
		PersonalTotalFen: b.PersonalTotalFen, UnitTotalFen: b.UnitTotalFen, TotalFen: b.TotalFen, InterestFen: b.InterestFen,
		AmountDueFen: b.TotalFen + b.InterestFen, DeclaredAt: optInstant(b.DeclaredAt), PaidAt: optInstant(b.PaidAt),
		FailureReason: b.FailureReason, Lines: make([]LineBody, len(b.Lines))}
	for i, l := range b.Lines {
		body.Lines[i] = LineBody{StaffID: l.PersonID, Name: l.Name, IDNumber: l.IDNumber, BaseFen: l.BaseFen,
			PersonalFen: l.PersonalFen, UnitFen: l.UnitFen}
	}
	c.Set(fiber.HeaderETag, b.ETag)
	return unshared(c).JSON(body)
}

// DeclarationBody is the answer to a declaration or a supplement (202:
// the bank collects later; the month's GET follows it).
type DeclarationBody struct {
	Month       string `json:"month"`
	Kind        string `json:"kind"`
	Status      string `json:"status"`
	Headcount   int    `json:"headcount"`
	TotalFen    int64  `json:"total_fen"`
	InterestFen int64  `json:"interest_fen"`
	DeclaredAt  string `json:"declared_at"`
}

// DeclareRequest is the optional body of a declaration: none, or {}.
type DeclareRequest struct{}

// Declare is POST /api/v1/employer/remittances/{month}/declare
// (Idempotency-Key and If-Match required).
func (h Remittances) Declare(c *fiber.Ctx) error {
	return h.declare(c, h.Service.Declare)
}

// Supplement is POST /api/v1/employer/remittances/{month}/supplement
// (Idempotency-Key and If-Match required).
func (h Remittances) Supplement(c *fiber.Ctx) error {
	return h.declare(c, h.Service.Supplement)
}

func (h Remittances) declare(c *fiber.Ctx, send func(context.Context, services.Principal, string, string, string) (units.Declared, error)) error {
	if len(c.Body()) > 0 {
		if err := request.DecodeJSON(c, &DeclareRequest{}); err != nil {
			return err
		}
	}
	month := c.Params("month")
	d, err := send(c.UserContext(), middleware.PrincipalOf(c), month, c.Get(fiber.HeaderIfMatch), c.Get(middleware.HeaderIdempotencyKey))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderETag, d.ETag)
	c.Set(fiber.HeaderLocation, "/api/v1/employer/remittances/"+d.Month)
	return unshared(c).Status(fiber.StatusAccepted).JSON(DeclarationBody{Month: d.Month, Kind: d.Kind, Status: d.Status,
		Headcount: d.Headcount, TotalFen: d.TotalFen, InterestFen: d.InterestFen, DeclaredAt: services.Instant(d.DeclaredAt)})
}

// ArrearsMonthBody is one unpaid month.
type ArrearsMonthBody struct {
	Month       string `json:"month"`
	Status      string `json:"status"`
	Headcount   int    `json:"headcount"`
	AmountFen   int64  `json:"amount_fen"`
	DaysLate    int    `json:"days_late"`
	InterestFen int64  `json:"interest_fen"`
}

// ArrearsBody is GET /api/v1/employer/arrears.
type ArrearsBody struct {
	AsOfDate       string             `json:"as_of_date"`
	InterestRateBP int                `json:"interest_rate_bp"`
	Items          []ArrearsMonthBody `json:"items"`
	AmountFen      int64              `json:"amount_fen"`
	InterestFen    int64              `json:"interest_fen"`
	AsOf           string             `json:"as_of"`
	Stale          bool               `json:"stale"`
}

// Arrears is GET /api/v1/employer/arrears: the complete months not paid,
// with the interest a supplement declared today would carry.
func (h Remittances) Arrears(c *fiber.Ctx) error {
	a, err := h.Service.Arrears(c.UserContext(), middleware.PrincipalOf(c))
	if err != nil {
		return err
	}
	body := ArrearsBody{AsOfDate: a.Arrears.AsOf, InterestRateBP: a.InterestRateBP, Items: make([]ArrearsMonthBody, len(a.Items)),
		AmountFen: a.AmountFen, InterestFen: a.InterestFen, AsOf: services.Instant(a.Freshness.AsOf), Stale: a.Stale}
	for i, m := range a.Items {
		body.Items[i] = ArrearsMonthBody{Month: m.Month, Status: m.Status, Headcount: m.Headcount, AmountFen: m.AmountFen,
			DaysLate: m.DaysLate, InterestFen: m.InterestFen}
	}
	return unshared(c).JSON(body)
}

// unshared marks an answer about the unit's people as not to be stored by
// any cache.
func unshared(c *fiber.Ctx) *fiber.Ctx {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c
}

func optInstant(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := services.Instant(*t)
	return &s
}
