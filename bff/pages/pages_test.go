package pages

import (
	"errors"
	"testing"

	"github.com/gofiber/fiber/v2"

	"handheld/services"
)

func TestRefusal(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want services.Code
	}{
		{fiber.ErrNotFound, services.CodeNotFound},
		{fiber.ErrMethodNotAllowed, services.CodeMethodNotAllowed},
		{fiber.ErrRequestEntityTooLarge, services.CodeTooLarge},
		{fiber.ErrBadRequest, services.CodeInvalid},
		{services.E(services.CodeForbidden), services.CodeForbidden},
		{errors.New("boom"), services.CodeInternal},
	} {
		if got := Refusal(tc.err).Code; got != tc.want {
			t.Errorf("Refusal(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

func TestParams(t *testing.T) {
	if Params(nil) != nil {
		t.Error("no arguments made a map")
	}
	m := map[string]any{"a": 1}
	if got := Params([]any{m}); got["a"] != 1 {
		t.Errorf("a lone map: %v", got)
	}
	got := Params([]any{"a", 1, "b", "x", 3, "odd"})
	if len(got) != 2 || got["a"] != 1 || got["b"] != "x" {
		t.Errorf("pairs: %v", got)
	}
}
