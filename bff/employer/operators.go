package employer

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/services"
	"handheld/services/operator"
)

// OperatorAdmin is what the operator routes need of services/operator.
type OperatorAdmin interface {
	List(ctx context.Context, p services.Principal) ([]operator.View, error)
	Add(ctx context.Context, p services.Principal, operatorID, name string) (operator.Added, error)
	Disable(ctx context.Context, p services.Principal, operatorID string) (operator.View, error)
	Enable(ctx context.Context, p services.Principal, operatorID string) (operator.View, error)
	Reset(ctx context.Context, p services.Principal, operatorID string) (operator.Added, error)
}

// Operators serve /api/v1/employer/operators: the unit administrator's
// management of the unit's operators (admin role only, by the route
// policy).
type Operators struct {
	Admin OperatorAdmin
}

// OperatorBody is one operator, as bff/openapi.yaml publishes it.
type OperatorBody struct {
	OperatorID         string `json:"operator_id"`
	Name               string `json:"name"`
	Role               string `json:"role"`
	Status             string `json:"status"`
	MustChangePassword bool   `json:"must_change_password"`
	Self               bool   `json:"self"`
}

// TemporaryPasswordBody answers an added or reset operator with the
// temporary password, shown this once.
type TemporaryPasswordBody struct {
	Operator          OperatorBody `json:"operator"`
	TemporaryPassword string       `json:"temporary_password"`
}

func operatorBody(v operator.View) OperatorBody {
	return OperatorBody{OperatorID: v.OperatorID, Name: v.Name, Role: string(v.Role), Status: v.Status,
		MustChangePassword: v.MustChangePassword, Self: v.Self}
}

// List is GET /api/v1/employer/operators.
func (h Operators) List(c *fiber.Ctx) error {
	views, err := h.Admin.List(c.UserContext(), middleware.PrincipalOf(c))
	if err != nil {
		return err
	}
	items := make([]OperatorBody, 0, len(views))
	for _, v := range views {
		items = append(items, operatorBody(v))
	}
	return c.JSON(fiber.Map{"items": items})
}

// Add is POST /api/v1/employer/operators {operator_id, name}: 201 with the
// clerk and a temporary password no cache may keep.
func (h Operators) Add(c *fiber.Ctx) error {
	var req struct {
		OperatorID string `json:"operator_id"`
		Name       string `json:"name"`
	}
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	added, err := h.Admin.Add(c.UserContext(), middleware.PrincipalOf(c), req.OperatorID, req.Name)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(TemporaryPasswordBody{Operator: operatorBody(added.Operator), TemporaryPassword: added.TemporaryPassword})
}

// Disable is POST /api/v1/employer/operators/{operator_id}/disable.
func (h Operators) Disable(c *fiber.Ctx) error {
	v, err := h.Admin.Disable(c.UserContext(), middleware.PrincipalOf(c), c.Params("operator_id"))
	if err != nil {
		return err
	}
	return c.JSON(operatorBody(v))
}

// Enable is POST /api/v1/employer/operators/{operator_id}/enable.
func (h Operators) Enable(c *fiber.Ctx) error {
	v, err := h.Admin.Enable(c.UserContext(), middleware.PrincipalOf(c), c.Params("operator_id"))
	if err != nil {
		return err
	}
	return c.JSON(operatorBody(v))
}

// Reset is POST /api/v1/employer/operators/{operator_id}/reset-password:
// a new temporary password, shown once.
func (h Operators) Reset(c *fiber.Ctx) error {
	added, err := h.Admin.Reset(c.UserContext(), middleware.PrincipalOf(c), c.Params("operator_id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(TemporaryPasswordBody{Operator: operatorBody(added.Operator), TemporaryPassword: added.TemporaryPassword})
}
