package middleware

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"handheld/services"
)

// OperatorRoutes is the employer routes' policy as data: for each route,
// "METHOD /path/:param" as registered with Fiber, the operator roles that
// may use it. A route missing from the table is refused, so a route added
// without an entry fails loudly rather than opening to every operator
// (bff's tests also check that every employer route has one).
type OperatorRoutes map[string][]services.OperatorRole

// Check reports entries that name no known role, or none.
func (t OperatorRoutes) Check() error {
	for route, roles := range t {
		if len(roles) == 0 {
			return fmt.Errorf("operator routes: %s admits no role", route)
		}
		for _, r := range roles {
			if !r.Valid() {
				return fmt.Errorf("operator routes: %s names unknown role %q", route, r)
			}
		}
		if method, path, ok := strings.Cut(route, " "); !ok || method == "" || !strings.HasPrefix(path, "/") {
			return fmt.Errorf("operator routes: %q is not \"METHOD /path\"", route)
		}
	}
	return nil
}

// Operators enforces the table on a group of employer routes, after Auth:
// a session signed in with a temporary password may use none of them
// (auth.password_change_required), and an operator whose role the route's
// entry does not name is refused (auth.forbidden). Fiber reports the
// group's own prefix as the route of a group middleware, so the request
// is matched against the table's patterns here.
func Operators(table OperatorRoutes) fiber.Handler {
	patterns := make([]operatorPattern, 0, len(table))
	for route, roles := range table {
		method, path, _ := strings.Cut(route, " ")
		patterns = append(patterns, operatorPattern{method: method, segments: strings.Split(strings.Trim(path, "/"), "/"), roles: roles, route: route})
	}
	// The most literal pattern first: /staff-changes before /staff/:id.
	slices.SortFunc(patterns, func(a, b operatorPattern) int { return b.literals() - a.literals() })
	return func(c *fiber.Ctx) error {
		p, ok := c.Locals(localPrincipal).(services.Principal)
		if !ok {
			return services.E(services.CodeTokenMissing)
		}
		if p.PasswordChange {
			return services.E(services.CodePasswordChangeRequired)
		}
		method := c.Method()
		if method == fiber.MethodHead {
			method = fiber.MethodGet
		}
		path := strings.Split(strings.Trim(c.Path(), "/"), "/")
		for _, pt := range patterns {
			if pt.method == method && pt.match(path) {
				if !slices.Contains(pt.roles, p.OperatorRole) {
					return services.Errorf(services.CodeForbidden, "operator role %q may not use %s", p.OperatorRole, pt.route)
				}
				return c.Next()
			}
		}
		return services.Errorf(services.CodeForbidden, "no operator policy for %s %s", method, c.Path())
	}
}

type operatorPattern struct {
	method   string
	segments []string
	roles    []services.OperatorRole
	route    string
}

func (p operatorPattern) literals() int {
	n := 0
	for _, s := range p.segments {
		if !strings.HasPrefix(s, ":") {
			n++
		}
	}
	return n
}

func (p operatorPattern) match(path []string) bool {
	if len(path) != len(p.segments) {
		return false
	}
	for i, s := range p.segments {
		if strings.HasPrefix(s, ":") {
			if path[i] == "" {
				return false
			}
			continue
		}
		if s != path[i] {
			return false
		}
	}
	return true
}
