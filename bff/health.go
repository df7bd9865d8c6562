package bff

import (
	"context"
	_ "embed"
	"log/slog"
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

// readyTimeout bounds each readiness check and each look at the core, so a
// hung dependency makes a probe fail rather than hang.
const readyTimeout = time.Second

// coreCheckEvery is how old the core's known state may grow before a look
// at /healthz or /metrics checks it again.
const coreCheckEvery = 5 * time.Second

// healthz is liveness: the process answers. It also says what it last knew
// of the core, without waiting for it.
func (a *App) healthz(c *fiber.Ctx) error {
	state, at := a.coreState.get()
	core := fiber.Map{"state": state}
	if !at.IsZero() {
		core["checked_at"] = at.UTC().Format(time.RFC3339)
	}
	return c.JSON(fiber.Map{"status": "ok", "core": core})
}

// readyz says whether this replica can serve: its store and Redis (when
// configured) answer and it is not shutting down. The core is not a check:
// reads are served stale and writes queued while it is away, and a core
// outage must not take every replica out of the load balancer at once.
func (a *App) readyz(c *fiber.Ctx) error {
	if a.draining.Load() {
		return &services.Error{Code: services.CodeNotReady, Params: map[string]any{"failed": "shutdown"}}
	}
	checks := map[string]func(context.Context) error{"store": a.store.Ping}
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
				a.log.WarnContext(c.UserContext(), "not ready", "check", name, "cause", err.Error())
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

// Core reachability as /healthz and handheld_core_up report it.
const (
	coreUnknown = "unknown"
	coreUp      = "up"
	coreDown    = "down"
)

// coreWatch keeps the core's last known reachability. Reading it never
// waits for the core: a reading older than every starts one check in the
// background (at most one at a time) and answers what was known.
type coreWatch struct {
	check func(context.Context) error
	every time.Duration
	log   *slog.Logger

	mu        sync.Mutex
	state     string
	checkedAt time.Time
	checking  bool
	closed    bool
	wg        sync.WaitGroup
}

func newCoreWatch(check func(context.Context) error, every time.Duration, log *slog.Logger) *coreWatch {
	return &coreWatch{check: check, every: every, log: log, state: coreUnknown}
}

// get answers the last known state and when it was learnt (zero: never).
func (w *coreWatch) get() (string, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.checking && !w.closed && time.Since(w.checkedAt) >= w.every {
		w.checking = true
		w.wg.Go(w.refresh)
	}
	return w.state, w.checkedAt
}

// up is the handheld_core_up gauge: 1 up, 0 down or not yet known.
func (w *coreWatch) up() float64 {
	if state, _ := w.get(); state == coreUp {
		return 1
	}
	return 0
}

func (w *coreWatch) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	err := w.check(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.checking = false
	w.checkedAt = time.Now()
	was := w.state
	w.state = coreUp
	if err != nil {
		w.state = coreDown
	}
	if w.state != was {
		if err != nil {
			w.log.Warn("core unreachable", "cause", err.Error())
		} else {
			w.log.Info("core reachable")
		}
	}
}

// close waits for a check under way and starts no more.
func (w *coreWatch) close() error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.wg.Wait()
	return nil
}
