// Package request reads what a client sent — JSON bodies and query
// parameters — strictly, and turns every mistake into a services.Error with
// field errors, so handlers never see half-parsed input.
package request

import (
	"bytes"
	"errors"
	"mime"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/gofiber/fiber/v2"

	"handheld/services"
)

// localDecoded holds the body as DecodeJSON first decoded it.
const localDecoded = "request.decoded"

// decoded is a body's one decoding: the value (or error) for its Go type.
type decoded struct {
	typ reflect.Type
	val reflect.Value
	err error
}

// DecodeJSON decodes the body into v: content type application/json (415
// otherwise), one JSON value, names matched exactly, no unknown or
// duplicate names, right types.
//
// The body is decoded once per request: a later call with the same type
// (a handler after a rate limiter keyed by a body field) gets a copy of the
// first decoding, so what the limiter counted is what the handler acts on.
func DecodeJSON(c *fiber.Ctx, v any) error {
	ct := c.Get(fiber.HeaderContentType)
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return services.E(services.CodeUnsupportedMedia)
	}
	dst := reflect.ValueOf(v)
	if d, ok := c.Locals(localDecoded).(decoded); ok && d.typ == dst.Type() {
		if d.err == nil {
			dst.Elem().Set(d.val)
		}
		return d.err
	}
	err = Decode(c.Body(), v)
	c.Locals(localDecoded, decoded{typ: dst.Type(), val: dst.Elem(), err: err})
	return err
}

// strict are the decoding options: exact-case names (encoding/json matches
// names case-insensitively, so {"Amount_Fen":…} would fill amount_fen),
// unknown names refused, duplicate names refused (encoding/json keeps the
// last, another reader may keep the first), valid UTF-8 only.
var strict = json.JoinOptions(
	json.MatchCaseInsensitiveNames(false),
	json.RejectUnknownMembers(true),
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
)

// Decode is DecodeJSON without the content-type check and the per-request
// memory, for bodies read elsewhere.
func Decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return services.Invalid(services.FieldError{Field: "body", Code: services.FieldRequired})
	}
	if err := json.Unmarshal(body, v, strict); err != nil {
		return decodeError(err)
	}
	return nil
}

func decodeError(err error) error {
	var semErr *json.SemanticError
	var synErr *jsontext.SyntacticError
	switch {
	case errors.As(err, &synErr) && errors.Is(synErr.Err, jsontext.ErrDuplicateName):
		name := fieldName(synErr.JSONPointer)
		return &services.Error{Code: services.CodeDuplicateField, Params: map[string]any{"field": name},
			Fields: []services.FieldError{{Field: name, Code: "duplicate"}}, Cause: err}
	case errors.As(err, &semErr) && errors.Is(semErr.Err, json.ErrUnknownName):
		name := fieldName(semErr.JSONPointer)
		return &services.Error{Code: services.CodeUnknownField, Params: map[string]any{"field": name},
			Fields: []services.FieldError{{Field: name, Code: "unknown"}}, Cause: err}
	case errors.As(err, &semErr) && semErr.GoType != nil:
		return &services.Error{Code: services.CodeInvalid, Cause: err,
			Fields: []services.FieldError{{Field: fieldName(semErr.JSONPointer), Code: "type",
				Params: map[string]any{"expected": semErr.GoType.Kind().String()}}}}
	default:
		return &services.Error{Code: services.CodeMalformedJSON, Cause: err}
	}
}

// fieldName is a JSON Pointer as the field errors name fields: "a.b", or
// "body" for the whole body.
func fieldName(p jsontext.Pointer) string {
	var parts []string
	for tok := range p.Tokens() {
		parts = append(parts, tok)
	}
	if len(parts) == 0 {
		return "body"
	}
	return strings.Join(parts, ".")
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
