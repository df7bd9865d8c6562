// Package bff is handheld's transport: the only code that imports Fiber.
// app.go is the one wiring point, shared by main and the e2e tests.
package bff

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
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
	"handheld/bff/depositor"
	"handheld/bff/employer"
	"handheld/bff/kiosk"
	"handheld/bff/middleware"
	"handheld/bff/public"
	"handheld/bff/verifier"
	"handheld/locales"
	"handheld/services"
	"handheld/services/account"
	"handheld/services/audit"
	"handheld/services/cases"
	"handheld/services/certificate"
	"handheld/services/core"
	"handheld/services/coresim"
	"handheld/services/ecard"
	employers "handheld/services/employer"
	"handheld/services/hours"
	"handheld/services/idempotency"
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
	employer     *employers.Service
	certificates *certificate.Service
	verify       *public.Certificates
	ecard        *ecard.Service
	withdrawals  *withdrawal.Service
	cases        *cases.Service
	outbox       *outbox.Worker
	wechat       *wechat.Client
	hours        *hours.Gate
	proxies      middleware.Proxies
	limited      []ratelimit.Route // how each limited route is counted, for CheckRoutes
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
	if err := ratelimit.CheckRoutes(a.cfg.RateLimits, a.limited); err != nil {
		return nil, fmt.Errorf("rate_limits: %w", err)
	}
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
		JSONEncoder:           jsonLine,
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
	// Each limit is recorded as a ratelimit.Route for CheckRoutes: the
	// keys it fills follow from the roles that reach it.
	limit := func(route string, lim middleware.Limit) fiber.Handler {
		a.limited = append(a.limited, lim.Route(route))
		return middleware.RateLimit(a.limiter, lim)
	}
	anonymous := func(route, class, channel string, subject func(*fiber.Ctx) string) fiber.Handler {
		return limit(route, middleware.Limit{Class: class, Channel: channel, Subject: subject})
	}
	signedIn := func(route, class string, roles ...string) fiber.Handler {
		return limit(route, middleware.Limit{Class: class, Roles: roles})
	}
	v1.Get("/loan/calculator", anonymous("GET /api/v1/loan/calculator", "public", "public", nil),
		public.Calculator{DefaultRateBP: a.cfg.LoanRateBP}.Get)

	ah := auth.Handlers{ID: a.identity, KeySet: a.keys.JWKS()}
	authed := middleware.Auth(a.identity)
	kioskDevice := middleware.Require([]string{services.RoleKiosk})
	app.Get("/.well-known/jwks.json", anonymous("GET /.well-known/jwks.json", "public", "public", nil), ah.JWKS)
	v1.Post("/auth/wechat", anonymous("POST /api/v1/auth/wechat", "login", services.ChannelMiniApp, nil), ah.WeChat)
	v1.Post("/auth/bind", anonymous("POST /api/v1/auth/bind", "bind", services.ChannelMiniApp,
		middleware.HeaderValue(fiber.HeaderAuthorization)), ah.Bind)
	v1.Post("/auth/face-checks", anonymous("POST /api/v1/auth/face-checks", "face_check", services.ChannelMiniApp,
		middleware.HeaderValue(fiber.HeaderAuthorization)), ah.FaceCheck)
	v1.Post("/auth/step-up", authed, middleware.Require([]string{services.RoleDepositor}),
		signedIn("POST /api/v1/auth/step-up", "face_check", services.RoleDepositor), ah.StepUp)
	v1.Post("/auth/employer", anonymous("POST /api/v1/auth/employer", "login", services.ChannelApp, auth.EmployerAccount), ah.Employer)
	v1.Post("/auth/verifier", anonymous("POST /api/v1/auth/verifier", "login", services.ChannelApp, auth.VerifierAccount), ah.Verifier)
	v1.Post("/auth/refresh", anonymous("POST /api/v1/auth/refresh", "refresh", "public", auth.RefreshAccount), ah.Refresh)
	v1.Post("/auth/logout", authed, signedIn("POST /api/v1/auth/logout", "read",
		services.RoleDepositor, services.RoleEmployer, services.RoleKiosk, services.RoleVerifier), ah.Logout)
	v1.Post("/kiosk/session", anonymous("POST /api/v1/kiosk/session", "login", services.ChannelKiosk,
		middleware.HeaderValue(auth.HeaderDevice)), ah.DeviceSession)
	v1.Post("/auth/kiosk", authed, kioskDevice, limit("POST /api/v1/auth/kiosk",
		middleware.Limit{Class: "login", Roles: []string{services.RoleKiosk}, Subject: auth.KioskAccount}), ah.Kiosk)
	v1.Get("/kiosk/device", authed, kioskDevice, signedIn("GET /api/v1/kiosk/device", "read", services.RoleKiosk),
		kiosk.Handlers{Devices: a.identity}.Device)

	me := v1.Group("/me", authed, middleware.Require([]string{services.RoleDepositor}), middleware.Assurance(a.identity, identity.ServiceRead),
		signedIn("/api/v1/me/*", "read", services.RoleDepositor), middleware.Service(a.hours, "account"))
	me.Get("/session", depositor.Session)
	// Money and certificates need a recent face check (the assurance
	// policy); these run before the routes' own handlers below.
	stepUp := func(s identity.ServiceName) fiber.Handler { return middleware.Assurance(a.identity, s) }
	me.Post("/certificates", stepUp(identity.ServiceCertificate))
	me.Post("/withdrawals", stepUp(identity.ServiceWithdrawal))
	me.Post("/withdrawals/:id/cancel", stepUp(identity.ServiceWithdrawal))
	depositor.Account{Service: a.account, Catalogs: a.catalogs}.Routes(me)
	depositor.Certificates{Service: a.certificates, Catalogs: a.catalogs}.Routes(me,
		middleware.Idempotency(idempotency.New(a.store, time.Now)), signedIn("POST /api/v1/me/certificates", "certificate_issue", services.RoleDepositor),
		middleware.Service(a.hours, "certificate"))
	a.verify.Routes(app, anonymous("GET /api/v1/certificates/{id}/pdf", "public", "public", nil),
		anonymous("GET /api/v1/verify/{code}, /verify/{code}", "verify_public", "public", nil))
	depositor.ECard{Service: a.ecard}.Routes(me, signedIn("e-card routes", "ecard", services.RoleDepositor))
	depositor.Withdrawals{Service: a.withdrawals, Catalogs: a.catalogs}.Routes(me,
		signedIn("withdrawal writes", "withdrawal_submit", services.RoleDepositor), middleware.Service(a.hours, "withdrawal"))
	depositor.Cases{Service: a.cases, Catalogs: a.catalogs}.Routes(me, signedIn("case ratings", "rating", services.RoleDepositor))
	verifier.ECard{Service: a.ecard}.Routes(v1, authed,
		middleware.Require([]string{services.RoleVerifier, services.RoleKiosk}),
		signedIn("POST /api/v1/ecard/verify", "verify_ecard", services.RoleVerifier, services.RoleKiosk))

	emp := v1.Group("/employer", authed, middleware.Require([]string{services.RoleEmployer}, services.ChannelApp),
		limit("/api/v1/employer/*", middleware.Limit{Class: "read", Channel: services.ChannelApp, Roles: []string{services.RoleEmployer}}),
		middleware.Service(a.hours, "employer"))
	emp.Get("/unit", employer.Handlers{Units: a.employer}.Unit)
	return app
}

// jsonLine encodes a JSON body ending in a newline, as a terminal and
// line-oriented tools expect.
func jsonLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
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
