// Package request reads what a client sent — JSON bodies and query
// parameters — strictly, and turns every mistake into a services.Error with
// field errors, so handlers never see half-parsed input.
package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"handheld/services"
)

// DecodeJSON decodes the body into v: content type application/json (415
// otherwise), one JSON value, no unknown fields, right types.
func DecodeJSON(c *fiber.Ctx, v any) error {
	ct := c.Get(fiber.HeaderContentType)
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return services.E(services.CodeUnsupportedMedia)
	}
	return Decode(c.Body(), v)
}

// Decode is DecodeJSON without the content-type check, for bodies read
// elsewhere.
func Decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return services.Invalid(services.FieldError{Field: "body", Code: services.FieldRequired})
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return services.Errorf(services.CodeMalformedJSON, "trailing data after the JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return services.Invalid(services.FieldError{Field: field, Code: "type",
			Params: map[string]any{"expected": typeErr.Type.Kind().String()}})
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &services.Error{Code: services.CodeMalformedJSON, Cause: err}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &services.Error{Code: services.CodeUnknownField, Params: map[string]any{"field": name},
			Fields: []services.FieldError{{Field: name, Code: "unknown"}}, Cause: err}
	default:
		return &services.Error{Code: services.CodeMalformedJSON, Cause: err}
	}
}

// Query collects query-parameter errors so a client learns about every bad
// field at once.
type Query struct {
	c      *fiber.Ctx
	fields []services.FieldError
}

// NewQuery starts reading c's query parameters.
func NewQuery(c *fiber.Ctx) *Query { return &Query{c: c} }

// Int64 reads an integer parameter in [min, max]; def is used when absent
// and required is false.
func (q *Query) Int64(name string, def, min, max int64, required bool) int64 {
	raw := q.c.Query(name)
	if raw == "" {
		if required {
			q.fields = append(q.fields, services.FieldError{Field: name, Code: services.FieldRequired})
		}
		return def
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		q.fields = append(q.fields, services.FieldError{Field: name, Code: services.FieldNotNumber})
		return def
	}
	if n < min || n > max {
		q.fields = append(q.fields, services.FieldError{Field: name, Code: services.FieldOutOfRange,
			Params: map[string]any{"min": min, "max": max}})
	}
	return n
}

// OneOf reads a parameter that must be one of allowed; def when absent.
func (q *Query) OneOf(name, def string, allowed ...string) string {
	raw := q.c.Query(name)
	if raw == "" {
		return def
	}
	for _, a := range allowed {
		if raw == a {
			return raw
		}
	}
	q.fields = append(q.fields, services.FieldError{Field: name, Code: services.FieldOneOf,
		Params: map[string]any{"allowed": strings.Join(allowed, ", ")}})
	return def
}

// Err returns the collected errors as one request.invalid, or nil.
func (q *Query) Err() error {
	if len(q.fields) == 0 {
		return nil
	}
	return services.Invalid(q.fields...)
}
