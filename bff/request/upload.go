package request

import (
	"io"
	"mime"

	"github.com/gofiber/fiber/v2"

	"handheld/services"
)

// KindAndFile reads a multipart/form-data upload of exactly one file (field
// file) and its kind (field kind), both required; a file over maxBytes is
// refused with tooLarge (its max_bytes named) before it is read. Not
// multipart is 415; a malformed body a field error on body. The parsed
// form's temporary files are removed before it returns.
func KindAndFile(c *fiber.Ctx, maxBytes int64, tooLarge services.Code) (kind string, data []byte, err error) {
	if mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType)); err != nil || mt != fiber.MIMEMultipartForm {
		return "", nil, services.E(services.CodeUnsupportedMedia)
	}
	form, err := c.MultipartForm()
	if err != nil {
		return "", nil, services.Invalid(services.FieldError{Field: "body", Code: services.FieldFormat})
	}
	defer c.Request().RemoveMultipartFormFiles()
	var fields []services.FieldError
	kinds := form.Value["kind"]
	if len(kinds) != 1 {
		fields = append(fields, services.FieldError{Field: "kind", Code: services.FieldRequired})
	}
	files := form.File["file"]
	if len(files) != 1 {
		fields = append(fields, services.FieldError{Field: "file", Code: services.FieldRequired})
	}
	if len(fields) > 0 {
		return "", nil, services.Invalid(fields...)
	}
	if files[0].Size > maxBytes {
		return "", nil, &services.Error{Code: tooLarge, Params: map[string]any{"max_bytes": maxBytes}}
	}
	f, err := files[0].Open()
	if err != nil {
		return "", nil, services.Errorf(services.CodeInternal, "upload: open: %w", err)
	}
	defer f.Close()
	if data, err = io.ReadAll(io.LimitReader(f, maxBytes+1)); err != nil {
		return "", nil, services.Errorf(services.CodeInternal, "upload: read: %w", err)
	}
	return kinds[0], data, nil
}
