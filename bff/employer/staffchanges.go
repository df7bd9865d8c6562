package employer

import (
	"context"
	"math"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/locales"
	"handheld/services"
	units "handheld/services/employer"
)

// StaffChangeUses is what the staff change routes need of
// services/employer; *employer.StaffChanges provides it.
type StaffChangeUses interface {
	Join(ctx context.Context, p services.Principal, j units.Join, k units.Key) (units.StaffChange, bool, error)
	Leave(ctx context.Context, p services.Principal, l units.Leave, k units.Key) (units.StaffChange, bool, error)
	Rejoin(ctx context.Context, p services.Principal, r units.Rejoin, k units.Key) (units.StaffChange, bool, error)
	Change(ctx context.Context, p services.Principal, id string) (units.StaffChange, error)
	Changes(ctx context.Context, p services.Principal, status string, limit int, cursor string) (units.ChangeList, error)
}

// StaffChanges serves joins, leaves and rejoins (202: accepted, applied by
// the core later) and the changes the clerk follows. The Idempotency-Key
// is kept by the use case with the change, as withdrawals keep theirs.
type StaffChanges struct {
	Service  StaffChangeUses
	Catalogs *locales.Catalogs
}

// JoinRequest is POST /api/v1/employer/staff.
type JoinRequest struct {
	Name       string `json:"name"`
	IDNumber   string `json:"id_number"`
	BaseFen    int64  `json:"base_fen"`
	StartMonth string `json:"start_month"`
}

// LeaveRequest is POST /api/v1/employer/staff/{staff_id}/leave.
type LeaveRequest struct {
	Month  string `json:"month"`
	Reason string `json:"reason"`
}

// RejoinRequest is POST /api/v1/employer/staff/{staff_id}/rejoin; an
// absent base keeps the one the account had.
type RejoinRequest struct {
	BaseFen int64 `json:"base_fen"`
}

// StaffChangeBody is one change as the clerk follows it.
type StaffChangeBody struct {
	ID           string       `json:"id"`
	Kind         string       `json:"kind"`
	KindLabel    string       `json:"kind_label"`
	Status       string       `json:"status"`
	StatusLabel  string       `json:"status_label"`
	StaffID      string       `json:"staff_id,omitempty"`
	Name         string       `json:"name,omitempty"`
	IDNumber     string       `json:"id_number,omitempty"`
	BaseFen      int64        `json:"base_fen,omitempty"`
	Month        string       `json:"month,omitempty"`
	Reason       string       `json:"reason,omitempty"`
	Outcome      string       `json:"outcome,omitempty"`
	FromUnitCode string       `json:"from_unit_code,omitempty"`
	Failure      *FailureBody `json:"failure,omitempty"`
	CreatedAt    string       `json:"created_at"`
	UpdatedAt    string       `json:"updated_at"`
}

// FailureBody is the core's refusal of a change, in the caller's language.
type FailureBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// StaffChangeListBody is GET /api/v1/employer/staff-changes.
type StaffChangeListBody struct {
	Items      []StaffChangeBody `json:"items"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

// Join is POST /api/v1/employer/staff (Idempotency-Key required).
func (h StaffChanges) Join(c *fiber.Ctx) error {
	k, err := keyOf(c)
	if err != nil {
		return err
	}
	var req JoinRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	v, replayed, err := h.Service.Join(c.UserContext(), middleware.PrincipalOf(c),
		units.Join{Name: req.Name, IDNumber: req.IDNumber, BaseFen: req.BaseFen, StartMonth: req.StartMonth}, k)
	return h.accepted(c, v, replayed, err)
}

// Leave is POST /api/v1/employer/staff/{staff_id}/leave (Idempotency-Key
// required).
func (h StaffChanges) Leave(c *fiber.Ctx) error {
	k, err := keyOf(c)
	if err != nil {
		return err
	}
	var req LeaveRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	v, replayed, err := h.Service.Leave(c.UserContext(), middleware.PrincipalOf(c),
		units.Leave{StaffID: c.Params("staff_id"), Month: req.Month, Reason: req.Reason}, k)
	return h.accepted(c, v, replayed, err)
}

// Rejoin is POST /api/v1/employer/staff/{staff_id}/rejoin (Idempotency-Key
// required). The body may be empty.
func (h StaffChanges) Rejoin(c *fiber.Ctx) error {
	k, err := keyOf(c)
	if err != nil {
		return err
	}
	var req RejoinRequest
	if len(c.Body()) > 0 {
		if err := request.DecodeJSON(c, &req); err != nil {
			return err
		}
	}
	v, replayed, err := h.Service.Rejoin(c.UserContext(), middleware.PrincipalOf(c),
		units.Rejoin{StaffID: c.Params("staff_id"), BaseFen: req.BaseFen}, k)
	return h.accepted(c, v, replayed, err)
}

// Get is GET /api/v1/employer/staff-changes/{id}.
func (h StaffChanges) Get(c *fiber.Ctx) error {
	v, err := h.Service.Change(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return private(c).JSON(h.body(c, v))
}

// List is GET /api/v1/employer/staff-changes?status=&limit=&cursor=,
// newest first.
func (h StaffChanges) List(c *fiber.Ctx) error {
	q := request.NewQuery(c)
	limit := q.Int64("limit", units.DefaultChangeLimit, math.MinInt64, math.MaxInt64, false)
	status := q.OneOf("status", "", units.ChangeAccepted, units.ChangeDone, units.ChangeFailed)
	if err := q.Err(); err != nil {
		return err
	}
	list, err := h.Service.Changes(c.UserContext(), middleware.PrincipalOf(c), status, int(max(min(limit, units.MaxChangeLimit+1), 0)), c.Query("cursor"))
	if err != nil {
		return err
	}
	body := StaffChangeListBody{Items: make([]StaffChangeBody, 0, len(list.Items)), NextCursor: list.NextCursor}
	for _, v := range list.Items {
		body.Items = append(body.Items, h.body(c, v))
	}
	return private(c).JSON(body)
}

func (h StaffChanges) accepted(c *fiber.Ctx, v units.StaffChange, replayed bool, err error) error {
	if err != nil {
		return err
	}
	if replayed {
		c.Set(middleware.HeaderIdempotentReplayed, "true")
	}
	c.Set(fiber.HeaderLocation, "/api/v1/employer/staff-changes/"+v.ID)
	return private(c).Status(fiber.StatusAccepted).JSON(h.body(c, v))
}

func (h StaffChanges) body(c *fiber.Ctx, v units.StaffChange) StaffChangeBody {
	lang := middleware.Lang(c, h.Catalogs)
	c.Set(fiber.HeaderContentLanguage, lang)
	t := func(key string) string { return h.Catalogs.T(lang, key, nil) }
	b := StaffChangeBody{
		ID: v.ID, Kind: v.Kind, KindLabel: t("staff_change.kind." + v.Kind), Status: v.Status, StatusLabel: t("staff_change.status." + v.Status),
		StaffID: v.StaffID, Name: v.Name, IDNumber: v.IDNumber, BaseFen: v.BaseFen, Month: v.Month, Reason: v.Reason,
		Outcome: v.Outcome, FromUnitCode: v.FromUnitCode, CreatedAt: services.Instant(v.CreatedAt), UpdatedAt: services.Instant(v.UpdatedAt),
	}
	if v.FailureCode != "" {
		b.Failure = &FailureBody{Code: v.FailureCode, Message: t("error." + v.FailureCode + ".title")}
	}
	return b
}

func keyOf(c *fiber.Ctx) (units.Key, error) {
	key, hash, err := middleware.IdempotencyKeyOf(c)
	return units.Key{IdempotencyKey: key, RequestHash: hash}, err
}

// private marks a response as personal data no cache may keep.
func private(c *fiber.Ctx) *fiber.Ctx {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c
}
