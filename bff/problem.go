package bff

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/locales"
	"handheld/services"
)

// Problem is an RFC 9457 problem details body as docs/api.md §Conventions defines it.
type Problem struct {
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Status     int            `json:"status"`
	Detail     string         `json:"detail"`
	Code       string         `json:"code"`
	RequestID  string         `json:"request_id"`
	Errors     []ProblemField `json:"errors,omitempty"`
	RetryAfter int            `json:"retry_after,omitempty"`
	// RequiredACR and MaxAge tell a client what a step-up must reach
	// (auth.step_up_required): the assurance class, and the most seconds
	// since the face check.
	RequiredACR string `json:"required_acr,omitempty"`
	MaxAge      *int   `json:"max_age,omitempty"`
	// Missing names the evidence an application still lacks
	// (withdrawal.evidence_required), for a client to offer the lookup or
	// the upload of each.
	Missing []string `json:"missing,omitempty"`
}

// ProblemField is one invalid field, with a message in the caller's language.
type ProblemField struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// fiberCodes maps the errors Fiber and fasthttp raise themselves (before or
// instead of a handler) to our codes.
var fiberCodes = map[int]services.Code{
	fiber.StatusNotFound:                    services.CodeNotFound,
	fiber.StatusMethodNotAllowed:            services.CodeMethodNotAllowed,
	fiber.StatusRequestEntityTooLarge:       services.CodeTooLarge,
	fiber.StatusRequestHeaderFieldsTooLarge: services.CodeHeadersTooLarge,
	fiber.StatusRequestTimeout:              services.CodeTimeout,
	fiber.StatusUnsupportedMediaType:        services.CodeUnsupportedMedia,
	fiber.StatusBadRequest:                  services.CodeMalformedJSON,
}

// errorHandler is the one place errors become responses: problem+json in
// the caller's language. The cause goes to the log, never to the client.
func errorHandler(cat *locales.Catalogs, log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		var e *services.Error
		var fe *fiber.Error
		if errors.As(err, &fe) && fe.Code == fiber.StatusRequestTimeout && len(c.Request().Header.RawHeaders()) == 0 {
			// A connection that sent no request before the read timeout
			// (a client or load balancer opening one ahead of need): close
			// it, without an answer nobody asked for, nor an error in the
			// log.
			_ = c.Context().Conn().Close()
			return nil
		}
		switch {
		case errors.As(err, &e):
		case errors.As(err, &fe):
			code, ok := fiberCodes[fe.Code]
			if !ok {
				code = services.CodeInternal
			}
			e = &services.Error{Code: code, Cause: err}
		default:
			e = &services.Error{Code: services.CodeInternal, Cause: err}
		}
		status := e.Code.Status()
		reqID := middleware.GetRequestID(c)
		lang := middleware.Lang(c, cat)
		if status >= 500 {
			log.ErrorContext(c.UserContext(), "request failed", "request_id", reqID, "code", string(e.Code), "route", c.Route().Path, "cause", causeText(e))
		} else if e.Cause != nil {
			log.DebugContext(c.UserContext(), "request rejected", "request_id", reqID, "code", string(e.Code), "cause", causeText(e))
		}
		params := map[string]any{}
		for k, v := range e.Params {
			params[k] = v
		}
		if e.Code == services.CodeTooLarge {
			params["limit"] = BodyLimit
		}
		p := Problem{
			Type:      "urn:handheld:problem:" + string(e.Code),
			Status:    status,
			Code:      string(e.Code),
			RequestID: reqID,
		}
		if e.RetryAfter > 0 {
			secs := int(e.RetryAfter.Seconds() + 0.999)
			params["retry_after"] = secs
			params["retry_at"] = time.Now().Add(e.RetryAfter).In(services.CentreTime).Format("15:04")
			p.RetryAfter = secs
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
		}
		if m, ok := params["missing"].([]string); ok {
			p.Missing = m
		}
		if e.Code == services.CodeStepUpRequired {
			p.RequiredACR, _ = params["required_acr"].(string)
			if age, ok := params["max_age"].(int); ok {
				p.MaxAge = &age
			}
		}
		params = localized(cat, lang, params)
		if _, ok := params["field"]; ok {
			params["field"] = fieldName(cat, lang, params["field"].(string))
		}
		p.Title = cat.T(lang, "error."+string(e.Code)+".title", params)
		p.Detail = cat.T(lang, "error."+string(e.Code)+".detail", params)
		for _, f := range e.Fields {
			fp := map[string]any{"field": fieldName(cat, lang, f.Field)}
			for k, v := range f.Params {
				if list, ok := v.([]string); ok {
					v = strings.Join(list, ", ")
				}
				fp[k] = v
			}
			p.Errors = append(p.Errors, ProblemField{Field: f.Field, Code: f.Code, Message: cat.T(lang, "field."+f.Code, fp)})
		}
		c.Set(fiber.HeaderContentLanguage, lang)
		c.Set(fiber.HeaderCacheControl, "no-store")
		return writeProblem(c, p)
	}
}

func writeProblem(c *fiber.Ctx, p Problem) error {
	body, err := c.App().Config().JSONEncoder(p)
	if err != nil {
		return err
	}
	c.Status(p.Status)
	c.Set(fiber.HeaderContentType, "application/problem+json")
	return c.Send(body)
}

// fieldName is the localized name of a field for messages; the field key
// itself stays in "field" for machines.
func fieldName(cat *locales.Catalogs, lang, field string) string {
	if cat.Has("fieldname." + field) {
		return cat.T(lang, "fieldname."+field, nil)
	}
	return field
}

func causeText(e *services.Error) string {
	if e.Cause == nil {
		return ""
	}
	return e.Cause.Error()
}

// localized returns params with every services.Text in its language, and
// every []services.Text as one list.
func localized(cat *locales.Catalogs, lang string, params map[string]any) map[string]any {
	var out map[string]any
	for k, v := range params {
		var text string
		switch x := v.(type) {
		case services.Text:
			text = cat.T(lang, x.Key, localized(cat, lang, x.Params))
		case []services.Text:
			parts := make([]string, 0, len(x))
			for _, t := range x {
				parts = append(parts, cat.T(lang, t.Key, localized(cat, lang, t.Params)))
			}
			text = strings.Join(parts, cat.T(lang, "list.separator", nil))
		default:
			continue
		}
		if out == nil {
			out = make(map[string]any, len(params))
			for k, v := range params {
				out[k] = v
			}
		}
		out[k] = text
	}
	if out == nil {
		return params
	}
	return out
}
