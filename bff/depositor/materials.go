package depositor

import (
	"math"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/services"
	"handheld/services/material"
)

// Materials serves a person's uploaded evidence (docs/api.md § Materials).
type Materials struct {
	Service *material.Service
	// MaxBytes is materials.max_bytes: a file part larger than this is
	// refused before it is read.
	MaxBytes int64
}

// MaterialBody is one material as its owner sees it. It has no file name:
// handheld does not keep one.
type MaterialBody struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	MediaType string `json:"media_type"`
	Size      int64  `json:"size"`
	Pages     int    `json:"pages"`
	Width     int    `json:"width,omitempty"`
	Height    int    `json:"height,omitempty"`
	SHA256    string `json:"sha256"`
	InUse     bool   `json:"in_use"`
	CreatedAt string `json:"created_at"`
	ExpiresAt string `json:"expires_at"`
}

// MaterialList is a page of the person's materials, newest first.
type MaterialList struct {
	Items      []MaterialBody `json:"items"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

func materialBody(m material.Material) MaterialBody {
	return MaterialBody{ID: m.ID, Kind: m.Kind, MediaType: m.MediaType, Size: m.Size, Pages: m.Pages, Width: m.Width,
		Height: m.Height, SHA256: m.SHA256, InUse: m.UsedBy != "", CreatedAt: services.Instant(m.CreatedAt),
		ExpiresAt: services.Instant(m.ExpiresAt)}
}

// Upload is POST /api/v1/me/materials: multipart/form-data with one
// `file` and one `kind`. The part's file name and Content-Type are
// ignored (the service sniffs the bytes); 201 with the material.
func (h Materials) Upload(c *fiber.Ctx) error {
	kind, data, err := request.KindAndFile(c, h.MaxBytes, services.CodeMaterialTooLarge)
	if err != nil {
		return err
	}
	m, err := h.Service.Upload(c.UserContext(), middleware.PrincipalOf(c), kind, data)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, "/api/v1/me/materials/"+m.ID)
	return private(c).Status(fiber.StatusCreated).JSON(materialBody(m))
}

// List is GET /api/v1/me/materials?limit=&cursor=.
func (h Materials) List(c *fiber.Ctx) error {
	q := request.NewQuery(c)
	n := q.Int64("limit", material.DefaultLimit, math.MinInt64, math.MaxInt64, false)
	if err := q.Err(); err != nil {
		return err
	}
	page, err := h.Service.List(c.UserContext(), middleware.PrincipalOf(c), int(max(min(n, material.MaxLimit+1), 0)), c.Query("cursor"))
	if err != nil {
		return err
	}
	out := MaterialList{Items: make([]MaterialBody, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, m := range page.Items {
		out.Items = append(out.Items, materialBody(m))
	}
	return private(c).JSON(out)
}

// Get is GET /api/v1/me/materials/{id}: the metadata (never the bytes).
func (h Materials) Get(c *fiber.Ctx) error {
	m, err := h.Service.Get(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return private(c).JSON(materialBody(m))
}

// Delete is DELETE /api/v1/me/materials/{id}: 204, or 409
// material.in_use while an application uses it.
func (h Materials) Delete(c *fiber.Ctx) error {
	if err := h.Service.Delete(c.UserContext(), middleware.PrincipalOf(c), c.Params("id")); err != nil {
		return err
	}
	return private(c).SendStatus(fiber.StatusNoContent)
}
