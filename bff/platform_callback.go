package bff

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"handheld/services/platform"
	"handheld/services/transfer"
)

// callbacks is what the platform's callback route needs of
// services/transfer.
type callbacks interface {
	Callback(ctx context.Context, r transfer.Signed) error
}

// platformCallback serves POST /platform/v1/callbacks/transfers: the
// national platform's word on a transfer, signed with its key and carrying
// no token. Everything is checked by the service before anything is
// written (signature, window, nonce, the body, the transfer known).
type platformCallback struct{ Service callbacks }

// callbackOK is the answer to a callback taken (or a duplicate).
type callbackOK struct {
	Status string `json:"status"`
}

// Handle verifies and records one callback.
func (h platformCallback) Handle(c *fiber.Ctx) error {
	err := h.Service.Callback(c.UserContext(), transfer.Signed{
		Method: c.Method(), Path: string(c.Request().URI().PathOriginal()),
		KeyID: c.Get(platform.HeaderKeyID), Timestamp: c.Get(platform.HeaderTimestamp),
		Nonce: c.Get(platform.HeaderNonce), Signature: c.Get(platform.HeaderSignature),
		Body: c.Body(),
	})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(callbackOK{Status: "ok"})
}
