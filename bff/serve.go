package bff

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/services/coresim"
)

// HTTP returns the Fiber app, for tests that call app.Test.
func (a *App) HTTP() *fiber.App { return a.http }

// Sim returns the in-process simulator, or nil when a core URL is set.
func (a *App) Sim() *coresim.Sim { return a.sim }

// Serve answers on ln until ctx is cancelled. Then /readyz fails at once
// and answers carry Connection: close for DrainDelay, the listener closes,
// in-flight requests drain for up to ShutdownTimeout and everything closes.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- a.http.Listener(ln) }()
	stopWork := a.startWork()
	select {
	case err := <-errc:
		stopWork()
		_ = a.Close()
		return err
	case <-ctx.Done():
	}
	// Readiness goes false first, so the load balancer stops sending new
	// requests while this replica still answers the ones it has; then the
	// listener closes, in-flight requests drain and the store closes last.
	a.draining.Store(true)
	a.log.Info("shutting down", "unready_for", a.cfg.DrainDelay.String(), "drain", a.cfg.ShutdownTimeout.String())
	time.Sleep(a.cfg.DrainDelay)
	err := a.http.ShutdownWithTimeout(a.cfg.ShutdownTimeout)
	<-errc
	stopWork()
	return errors.Join(err, a.Close())
}

// closeWhileDraining asks clients to reconnect (to another replica) once
// shutdown has begun, instead of keeping a connection alive to this one.
func (a *App) closeWhileDraining(c *fiber.Ctx) error {
	if a.draining.Load() {
		c.Context().SetConnectionClose()
	}
	return c.Next()
}

// startWork runs the background work (outbox delivery, the bulk file
// runner, the materials' retention sweep, the scheduled jobs) until the returned stop is called, which waits for deliveries
// under way to finish and gives the runner's job back.
func (a *App) startWork() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if a.outbox != nil && a.cfg.OutboxWorkers > 0 {
		wg.Go(func() {
			if err := a.outbox.Run(ctx); err != nil {
				a.log.Error("outbox worker stopped", "err", err)
			}
		})
	}
	if a.jobs != nil && a.cfg.JobRunners > 0 {
		wg.Go(func() {
			if err := a.jobs.Run(ctx); err != nil {
				a.log.Error("job runner stopped", "err", err)
			}
		})
	}
	// The materials' retention sweep: idempotent (each deletion is a
	// conditional row delete), so every replica may run it.
	if a.materials != nil {
		wg.Go(func() {
			if err := a.materials.Run(ctx); err != nil {
				a.log.Error("materials sweep stopped", "err", err)
			}
		})
	}
	// The dashboard's per-minute counters, flushed every minute and once
	// more when the work stops.
	if a.tally != nil && a.store != nil {
		wg.Go(func() { a.tally.Run(ctx, a.store, time.Minute, a.log) })
	}
	// Retention and the audit anchors: one run per period across replicas
	// (scheduled_runs).
	if a.schedule != nil {
		wg.Go(func() {
			if err := a.schedule.Loop(ctx, a.scheduled...); err != nil {
				a.log.Error("scheduled jobs stopped", "err", err)
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

// Close releases the store, the simulator, Redis and the audit trail, in
// reverse order of opening.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}
