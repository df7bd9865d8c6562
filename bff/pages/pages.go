// Package pages holds what handheld's server-rendered pages (the kiosk
// screen, the staff pages) share: how a failure becomes a refusal page's
// code, and how templates take their arguments.
package pages

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"handheld/services"
)

// Refusal is err in handheld's codes: a services.Error as it is, and the
// errors Fiber raises before or instead of a handler (an unknown path, a
// method not allowed, a body too large) by their meaning; any other error
// of Fiber's is the request's fault.
func Refusal(err error) *services.Error {
	var fe *fiber.Error
	if errors.As(err, &fe) && !errors.As(err, new(*services.Error)) {
		switch fe.Code {
		case fiber.StatusNotFound:
			err = services.E(services.CodeNotFound)
		case fiber.StatusMethodNotAllowed:
			err = services.E(services.CodeMethodNotAllowed)
		case fiber.StatusRequestEntityTooLarge:
			err = services.E(services.CodeTooLarge)
		default:
			err = services.Errorf(services.CodeInvalid, "%s", fe.Message)
		}
	}
	return services.AsError(err)
}

// Params pairs template arguments ("name", value, ...) into a map; a lone
// map is taken as it is.
func Params(kv []any) map[string]any {
	if len(kv) == 0 {
		return nil
	}
	if m, ok := kv[0].(map[string]any); ok && len(kv) == 1 {
		return m
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok {
			m[k] = kv[i+1]
		}
	}
	return m
}
