package employer

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/services"
	units "handheld/services/employer"
)

// Adjuster is what the bases handler needs of services/employer.Bases.
type Adjuster interface {
	Adjust(ctx context.Context, p services.Principal, req units.AdjustRequest) (units.Adjusted, error)
}

// Bases serves deposit base and rate changes (issue 15, part 4).
type Bases struct {
	Adjuster Adjuster
}

// BasesRequest is POST /api/v1/employer/bases: new rates (absent or 0:
// unchanged) and any number of people's new bases, up to the core's limit.
type BasesRequest struct {
	UnitRateBP     int               `json:"unit_rate_bp"`
	PersonalRateBP int               `json:"personal_rate_bp"`
	Bases          []BaseChangeInput `json:"bases"`
}

// BaseChangeInput is one person's new base.
type BaseChangeInput struct {
	StaffID string `json:"staff_id"`
	BaseFen int64  `json:"base_fen"`
}

// BasesBody is what an adjustment did, with every changed person's new
// monthly amounts.
type BasesBody struct {
	UnitRateBP     int             `json:"unit_rate_bp"`
	PersonalRateBP int             `json:"personal_rate_bp"`
	BasesChanged   int             `json:"bases_changed"`
	AppliedAt      string          `json:"applied_at"`
	Rounding       string          `json:"rounding"`
	Items          []NewAmountBody `json:"items"`
}

// NewAmountBody is one person's new base and monthly amounts.
type NewAmountBody struct {
	StaffID     string `json:"staff_id"`
	BaseFen     int64  `json:"base_fen"`
	PersonalFen int64  `json:"personal_fen"`
	UnitFen     int64  `json:"unit_fen"`
	TotalFen    int64  `json:"total_fen"`
}

// RoundingHalfUp names the rounding rule of every amount (core.ShareOf):
// base × rate, rounded half up to the fen, per person and side.
const RoundingHalfUp = "half_up_per_person_and_side"

// Adjust is POST /api/v1/employer/bases (Idempotency-Key required; the
// Idempotency middleware runs first).
func (h Bases) Adjust(c *fiber.Ctx) error {
	key, _, err := middleware.IdempotencyKeyOf(c)
	if err != nil {
		return err
	}
	var req BasesRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	in := units.AdjustRequest{UnitRateBP: req.UnitRateBP, PersonalRateBP: req.PersonalRateBP, IdempotencyKey: key,
		Bases: make([]units.BaseChange, 0, len(req.Bases))}
	for _, b := range req.Bases {
		in.Bases = append(in.Bases, units.BaseChange{StaffID: b.StaffID, BaseFen: b.BaseFen})
	}
	out, err := h.Adjuster.Adjust(c.UserContext(), middleware.PrincipalOf(c), in)
	if err != nil {
		return err
	}
	body := BasesBody{UnitRateBP: out.UnitRateBP, PersonalRateBP: out.PersonalRateBP, BasesChanged: out.BasesChanged,
		AppliedAt: services.Instant(out.AppliedAt), Rounding: RoundingHalfUp, Items: make([]NewAmountBody, 0, len(out.Items))}
	for _, it := range out.Items {
		body.Items = append(body.Items, NewAmountBody{StaffID: it.StaffID, BaseFen: it.BaseFen,
			PersonalFen: it.PersonalFen, UnitFen: it.UnitFen, TotalFen: it.PersonalFen + it.UnitFen})
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(body)
}
