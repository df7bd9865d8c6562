// Package kiosk serves what only a kiosk device may call.
package kiosk

import (
	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/services"
	"handheld/services/identity"
)

// Devices looks up registered kiosks.
type Devices interface {
	Device(id string) (identity.Device, bool)
}

// Handlers serve the kiosk device routes.
type Handlers struct {
	Devices Devices
}

// Device is GET /api/v1/kiosk/device: the calling device's registration.
func (h Handlers) Device(c *fiber.Ctx) error {
	d, ok := h.Devices.Device(middleware.PrincipalOf(c).Device)
	if !ok {
		return services.E(services.CodeDeviceDisabled)
	}
	return c.JSON(fiber.Map{"device_id": d.ID, "location": d.Location, "enabled": d.Enabled})
}
