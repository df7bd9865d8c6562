// Package bff is handheld's transport: the only code that imports Fiber.
// app.go is the one wiring point, shared by main and the e2e tests.
package bff

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"handheld/bff/auth"
	"handheld/bff/employer"
	"handheld/bff/kiosk"
	"handheld/bff/middleware"
	"handheld/bff/miniapp"
	"handheld/bff/public"
	"handheld/locales"
	"handheld/services/account"
	"handheld/services/audit"
	"handheld/services/cases"
	"handheld/services/certificate"
	"handheld/services/core"
	"handheld/services/coresim"
	"handheld/services/ecard"
	"handheld/services/flow"
	"handheld/services/identity"
	"handheld/services/keys"
	"handheld/services/kv"
	"handheld/services/outbox"
	"handheld/services/ratelimit"
	"handheld/services/store"
	"handheld/services/wechat"
	"handheld/services/withdrawal"
)

// DevCoreSecret signs core calls on the embedded profile when no secret is
// configured, so `handheld serve` and `handheld coresim` agree out of the
// box. Production refuses to start without a real one.
const DevCoreSecret = "handheld-embedded-profile-core-secret"

// App is a running handheld: its HTTP app and everything it depends on.
type App struct {
	cfg          Config
	log          *slog.Logger
	http         *fiber.App
	store        *store.Store
	core         *core.Client
	sim          *coresim.Sim // embedded profile without CoreURL only
	redis        redis.UniversalClient
	metrics      *metrics
	catalogs     *locales.Catalogs
	keys         *keys.Ring
	kv           kv.Store
	identity     *identity.Service
	audit        *audit.Log
	limiter      *ratelimit.Limiter
	account      *account.Service
	certificates *certificate.Service
	verify       *public.Certificates
	ecard        *ecard.Service
	withdrawals  *withdrawal.Service
	cases        *cases.Service
	outbox       *outbox.Worker
	wechat       *wechat.Client
	flow         *flow.Gate
	proxies      middleware.Proxies
	closers      []func() error
}

// New builds the app from a validated config. On error everything opened so
// far is closed again.
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *App, err error) {
	a := &App{cfg: cfg, log: log, metrics: newMetrics()}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	if a.catalogs, err = locales.Load(); err != nil {
		return nil, err
	}
	if cfg.Profile == ProfileEmbedded {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("HANDHELD_DATA_DIR: %w", err)
		}
	}
	if err := a.openStore(ctx); err != nil {
		return nil, err
	}
	if err := a.openCore(ctx); err != nil {
		return nil, err
	}
	if err := a.openIdentity(ctx); err != nil {
		return nil, err
	}
	if err := a.openLimits(); err != nil {
		return nil, err
	}
	if err := a.openAccount(); err != nil {
		return nil, err
	}
	a.http = a.routes()
	return a, nil
}

func (a *App) openStore(ctx context.Context) error {
	ring, err := sealingRing(a.cfg)
	if err != nil {
		return err
	}
	s, err := store.Open(ctx, a.cfg.StoreDSN())
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	a.store = s.WithSealer(ring)
	a.closers = append(a.closers, s.Close)
	if a.cfg.Profile == ProfileEmbedded {
		if err := a.store.Migrate(ctx); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		// Migration 0010's Go step: rows from before it end sealed.
		reps, err := Reseal(ctx, a.cfg, a.store, true)
		if err != nil {
			return fmt.Errorf("store: sealing step: %w", err)
		}
		logReseal(a.log, reps)
	}
	return nil
}

func (a *App) openCore(ctx context.Context) error {
	secret := a.cfg.CoreSecret
	if secret == "" && a.cfg.Profile == ProfileEmbedded {
		secret = DevCoreSecret
	}
	cc := core.ClientConfig{
		BaseURL: a.cfg.CoreURL,
		KeyID:   a.cfg.CoreKeyID,
		Secret:  []byte(secret),
		Timeout: a.cfg.CoreTimeout,
		Now:     time.Now,
		Observe: a.metrics.observeCore,
	}
	if a.cfg.CoreURL == "" {
		// The embedded profile runs the simulator in-process with its own
		// random secret; calls still go through the real client and
		// signatures, only without a socket.
		var b [32]byte
		_, _ = rand.Read(b[:])
		cc.Secret = []byte(hex.EncodeToString(b[:]))
		sim, err := coresim.Open(ctx, coresim.Config{
			Path:        filepath.Join(a.cfg.DataDir, "coresim.db"),
			Keys:        map[string][]byte{cc.KeyID: cc.Secret},
			Faults:      a.cfg.CoresimFaults,
			Maintenance: a.cfg.CoresimMaintenance,
			Now:         time.Now,
			Logger:      a.log.With("component", "coresim"),
		})
		if err != nil {
			return fmt.Errorf("coresim: %w", err)
		}
		a.sim = sim
		a.closers = append(a.closers, sim.Close)
		cc.BaseURL = "http://coresim.internal"
		cc.HTTPClient = &http.Client{Transport: handlerTransport{sim.Handler()}}
	}
	c, err := core.NewClient(cc)
	if err != nil {
		return fmt.Errorf("core: %w", err)
	}
	a.core = c
	return nil
}

func (a *App) routes() *fiber.App {
	onError := errorHandler(a.catalogs, a.log)
	app := fiber.New(fiber.Config{
		AppName:               "handheld",
		ErrorHandler:          onError,
		BodyLimit:             BodyLimit,
		ReadTimeout:           a.cfg.ReadTimeout,
		WriteTimeout:          a.cfg.WriteTimeout,
		IdleTimeout:           a.cfg.IdleTimeout,
		ReadBufferSize:        a.cfg.MaxHeaderBytes,
		Immutable:             true,
		DisableStartupMessage: true,
		StrictRouting:         true,
		CaseSensitive:         true,
	})
	app.Use(middleware.RequestID(),
		middleware.Observe(a.metrics, a.log, onError),
		middleware.Recover(a.log),
		middleware.ClientIP(a.proxies),
		middleware.Locale(a.catalogs),
		middleware.Deadline(a.cfg.RequestTimeout))

	app.Get("/healthz", a.healthz)
	app.Get("/readyz", a.readyz)
	app.Get("/metrics", a.metricsHandler())
	app.Get("/openapi.yaml", serveOpenAPI)

	v1 := app.Group("/api/v1")
	limit := func(class, channel string, subject func(*fiber.Ctx) string) fiber.Handler {
		return middleware.RateLimit(a.limiter, middleware.Limit{Class: class, Channel: channel, Subject: subject})
	}
	read := limit("read", "", nil)
	v1.Get("/loan/calculator", limit("public", "public", nil), public.Calculator{DefaultRateBP: a.cfg.LoanRateBP}.Get)

	ah := auth.Handlers{ID: a.identity, KeySet: a.keys.JWKS()}
	authed := middleware.Auth(a.identity)
	kioskDevice := middleware.Require([]string{identity.RoleKiosk})
	app.Get("/.well-known/jwks.json", limit("public", "public", nil), ah.JWKS)
	v1.Post("/auth/wechat", limit("login", identity.ChannelMiniApp, nil), ah.WeChat)
	v1.Post("/auth/bind", limit("bind", identity.ChannelMiniApp, middleware.HeaderValue(fiber.HeaderAuthorization)), ah.Bind)
	v1.Post("/auth/employer", limit("login", identity.ChannelApp, middleware.BodyField("unit_code", "operator_id")), ah.Employer)
	v1.Post("/auth/verifier", limit("login", identity.ChannelApp, middleware.BodyField("client_id")), ah.Verifier)
	v1.Post("/auth/refresh", limit("refresh", "public", middleware.BodyField("refresh_token")), ah.Refresh)
	v1.Post("/auth/logout", authed, read, ah.Logout)
	v1.Post("/kiosk/session", limit("login", identity.ChannelKiosk, middleware.HeaderValue(auth.HeaderDevice)), ah.DeviceSession)
	v1.Post("/auth/kiosk", authed, kioskDevice, limit("login", "", middleware.BodyField("id_number")), ah.Kiosk)
	v1.Get("/kiosk/device", authed, kioskDevice, read, kiosk.Handlers{Devices: a.identity}.Device)

	me := v1.Group("/me", authed, middleware.Require([]string{identity.RoleDepositor}), read, middleware.Service(a.flow, "account"))
	me.Get("/session", miniapp.Session)
	miniapp.Account{Service: a.account, Catalogs: a.catalogs}.Routes(me)
	miniapp.Certificates{Service: a.certificates, Catalogs: a.catalogs}.Routes(me,
		middleware.Idempotency(a.store, time.Now), limit("certificate_issue", "", nil), middleware.Service(a.flow, "certificate"))
	a.verify.Routes(app, limit("public", "public", nil), limit("verify_public", "public", nil))
	miniapp.ECard{Service: a.ecard}.Routes(me, limit("ecard", "", nil))
	miniapp.Withdrawals{Service: a.withdrawals, Catalogs: a.catalogs}.Routes(me, limit("withdrawal_submit", "", nil),
		middleware.Service(a.flow, "withdrawal"))
	miniapp.Cases{Service: a.cases, Catalogs: a.catalogs}.Routes(me, limit("rating", "", nil))
	public.ECard{Service: a.ecard}.Routes(v1, authed,
		middleware.Require([]string{identity.RoleVerifier, identity.RoleKiosk}), limit("verify_ecard", "", nil))

	emp := v1.Group("/employer", authed, middleware.Require([]string{identity.RoleEmployer}, identity.ChannelApp), read, middleware.Service(a.flow, "employer"))
	emp.Get("/unit", employer.Handlers{Units: a.core}.Unit)
	return app
}

// HTTP returns the Fiber app, for tests that call app.Test.
func (a *App) HTTP() *fiber.App { return a.http }

// Sim returns the in-process simulator, or nil when a core URL is set.
func (a *App) Sim() *coresim.Sim { return a.sim }

// Serve answers on ln until ctx is cancelled, then stops accepting, drains
// in-flight requests for up to ShutdownTimeout and closes everything.
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
	a.log.Info("shutting down", "drain", a.cfg.ShutdownTimeout.String())
	err := a.http.ShutdownWithTimeout(a.cfg.ShutdownTimeout)
	<-errc
	stopWork()
	return errors.Join(err, a.Close())
}

// startWork runs the background work (outbox delivery) until the returned
// stop is called, which waits for deliveries under way to finish.
func (a *App) startWork() (stop func()) {
	if a.outbox == nil || a.cfg.OutboxWorkers == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.outbox.Run(ctx); err != nil {
			a.log.Error("outbox worker stopped", "err", err)
		}
	}()
	return func() { cancel(); <-done }
}

// Close releases the store, the simulator and Redis, in reverse order.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}
