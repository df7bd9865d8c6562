package employer

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/services"
	units "handheld/services/employer"
)

// Staff is what the roster handlers need of services/employer.Roster.
type Staff interface {
	List(ctx context.Context, p services.Principal, q units.RosterQuery) (units.RosterPage, error)
	Member(ctx context.Context, p services.Principal, staffID string) (units.StaffDetail, error)
	Reveal(ctx context.Context, p services.Principal, staffID, reason string) (units.Revealed, error)
}

// Roster serves the unit's staff list (issue 15, part 2).
type Roster struct {
	Staff Staff
}

// StaffBody is one person as the roster shows them: name, ID number and
// account number masked per the app channel's policy.
type StaffBody struct {
	StaffID            string `json:"staff_id"`
	Name               string `json:"name"`
	IDNumber           string `json:"id_number"`
	AccountNumber      string `json:"account_number"`
	Status             string `json:"status"`
	BaseFen            int64  `json:"base_fen"`
	PersonalRateBP     int    `json:"personal_rate_bp"`
	UnitRateBP         int    `json:"unit_rate_bp"`
	MonthlyPersonalFen int64  `json:"monthly_personal_fen"`
	MonthlyUnitFen     int64  `json:"monthly_unit_fen"`
	OpenedOn           string `json:"opened_on,omitempty"`
	SealedMonth        string `json:"sealed_month,omitempty"`
	SealReason         string `json:"seal_reason,omitempty"`
}

// StaffPageBody is GET /api/v1/employer/staff.
type StaffPageBody struct {
	Items      []StaffBody `json:"items"`
	NextCursor string      `json:"next_cursor,omitempty"`
	Total      int         `json:"total"`
	AsOf       string      `json:"as_of"`
	Stale      bool        `json:"stale"`
}

// StaffMemberBody is GET /api/v1/employer/staff/{staff_id}.
type StaffMemberBody struct {
	StaffBody
	AsOf  string `json:"as_of"`
	Stale bool   `json:"stale"`
}

// RevealRequest is POST /api/v1/employer/staff/{staff_id}/reveal.
type RevealRequest struct {
	Reason string `json:"reason"`
}

// RevealBody is the full ID number of one person.
type RevealBody struct {
	StaffID  string `json:"staff_id"`
	IDNumber string `json:"id_number"`
}

// List is GET /api/v1/employer/staff?status=&q=&limit=&cursor=.
func (h Roster) List(c *fiber.Ctx) error {
	qp := request.NewQuery(c)
	limit := qp.Int64("limit", units.DefaultRosterLimit, 1, units.MaxRosterLimit, false)
	if err := qp.Err(); err != nil {
		return err
	}
	page, err := h.Staff.List(c.UserContext(), middleware.PrincipalOf(c), units.RosterQuery{
		Status: c.Query("status"), Q: c.Query("q"), Limit: int(limit), Cursor: c.Query("cursor"),
	})
	if err != nil {
		return err
	}
	body := StaffPageBody{Items: make([]StaffBody, 0, len(page.Items)), NextCursor: page.NextCursor, Total: page.Total,
		AsOf: services.Instant(page.AsOf), Stale: page.Stale}
	for _, v := range page.Items {
		body.Items = append(body.Items, staffBody(v))
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(body)
}

// Member is GET /api/v1/employer/staff/{staff_id}.
func (h Roster) Member(c *fiber.Ctx) error {
	m, err := h.Staff.Member(c.UserContext(), middleware.PrincipalOf(c), c.Params("staff_id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(StaffMemberBody{StaffBody: staffBody(m.StaffView), AsOf: services.Instant(m.AsOf), Stale: m.Stale})
}

// Reveal is POST /api/v1/employer/staff/{staff_id}/reveal {reason}: one
// person's full ID number, audited with the reason.
func (h Roster) Reveal(c *fiber.Ctx) error {
	var req RevealRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	r, err := h.Staff.Reveal(c.UserContext(), middleware.PrincipalOf(c), c.Params("staff_id"), req.Reason)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(RevealBody{StaffID: r.StaffID, IDNumber: r.IDNumber})
}

func staffBody(v units.StaffView) StaffBody {
	return StaffBody{StaffID: v.StaffID, Name: v.Name, IDNumber: v.IDNumber, AccountNumber: v.AccountNumber, Status: v.Status,
		BaseFen: v.BaseFen, PersonalRateBP: v.PersonalRateBP, UnitRateBP: v.UnitRateBP,
		MonthlyPersonalFen: v.MonthlyPersonalFen, MonthlyUnitFen: v.MonthlyUnitFen,
		OpenedOn: v.OpenedOn, SealedMonth: v.SealedMonth, SealReason: v.SealReason}
}
