package bff

import (
	"context"
	_ "embed"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"handheld/services"
)

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI is the published API document, bff/openapi.yaml.
func OpenAPI() []byte { return openAPI }

func serveOpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/yaml")
	return c.Send(openAPI)
}

// readyTimeout bounds each readiness check, so a hung dependency makes the
// probe fail rather than hang.
const readyTimeout = time.Second

func (a *App) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz checks the store, Redis (when configured) and the core in parallel.
func (a *App) readyz(c *fiber.Ctx) error {
	checks := map[string]func(context.Context) error{
		"store": a.store.Ping,
		"core":  a.core.Health,
	}
	if a.redis != nil {
		checks["redis"] = func(ctx context.Context) error { return a.redis.Ping(ctx).Err() }
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	results := map[string]string{}
	var failed []string
	for name, check := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(c.UserContext(), readyTimeout)
			defer cancel()
			err := check(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				results[name] = "fail"
				failed = append(failed, name)
				a.log.Warn("not ready", "check", name, "cause", err.Error())
				return
			}
			results[name] = "ok"
		})
	}
	wg.Wait()
	if len(failed) > 0 {
		sort.Strings(failed)
		return &services.Error{Code: services.CodeNotReady, Params: map[string]any{"failed": strings.Join(failed, ", ")}}
	}
	return c.JSON(fiber.Map{"status": "ready", "checks": results})
}

func (a *App) metricsHandler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(a.metrics.registry, promhttp.HandlerOpts{}))
}
