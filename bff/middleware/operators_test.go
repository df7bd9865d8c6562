package middleware

import (
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"

	"handheld/services"
)

// The employer role policy: the entry's roles pass, other roles and
// temporary-password sessions are refused, and a route without an entry
// is refused for everyone (fail closed).
func TestOperatorsPolicy(t *testing.T) {
	table := OperatorRoutes{
		"GET /e/staff":                 {services.OperatorAdmin, services.OperatorClerk},
		"GET /e/staff/:id":             {services.OperatorAdmin, services.OperatorClerk},
		"GET /e/staff/special":         {services.OperatorAdmin},
		"POST /e/operators/:id/enable": {services.OperatorAdmin},
	}
	if err := table.Check(); err != nil {
		t.Fatal(err)
	}
	serve := func(p services.Principal, method, path string) services.Code {
		app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
			return c.Status(599).SendString(string(services.ErrorCode(err)))
		}})
		app.Use(func(c *fiber.Ctx) error { c.Locals(localPrincipal, p); return c.Next() }, Operators(table))
		app.All("/*", func(c *fiber.Ctx) error { return c.SendString("ok") })
		resp, err := app.Test(httptest.NewRequest(method, path, nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == 200 {
			return ""
		}
		b := make([]byte, 64)
		n, _ := resp.Body.Read(b)
		return services.Code(b[:n])
	}
	admin := services.Principal{Role: services.RoleEmployer, OperatorRole: services.OperatorAdmin}
	clerk := services.Principal{Role: services.RoleEmployer, OperatorRole: services.OperatorClerk}
	none := services.Principal{Role: services.RoleEmployer}
	temp := admin
	temp.PasswordChange = true
	tests := []struct {
		name         string
		p            services.Principal
		method, path string
		want         services.Code
	}{
		{"clerk reads", clerk, "GET", "/e/staff", ""},
		{"clerk reads one", clerk, "GET", "/e/staff/P1", ""},
		{"literal before parameter", clerk, "GET", "/e/staff/special", services.CodeForbidden},
		{"admin on the literal", admin, "GET", "/e/staff/special", ""},
		{"clerk at an admin route", clerk, "POST", "/e/operators/x/enable", services.CodeForbidden},
		{"admin at an admin route", admin, "POST", "/e/operators/x/enable", ""},
		{"wrong method", admin, "DELETE", "/e/staff", services.CodeForbidden},
		{"no entry", admin, "GET", "/e/unlisted", services.CodeForbidden},
		{"empty parameter", admin, "POST", "/e/operators//enable", services.CodeForbidden},
		{"no role (a session from before roles)", none, "GET", "/e/staff", services.CodeForbidden},
		{"temporary password", temp, "GET", "/e/staff", services.CodePasswordChangeRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := serve(tt.p, tt.method, tt.path); got != tt.want {
				t.Errorf("%s %s = %q, want %q", tt.method, tt.path, got, tt.want)
			}
		})
	}
	if err := (OperatorRoutes{"GET /x": {"root"}}).Check(); err == nil {
		t.Error("an unknown role passed Check")
	}
}
