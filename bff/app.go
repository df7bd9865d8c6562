// Package bff is handheld's transport: the only code that imports Fiber.
// app.go is the one wiring point, shared by main and the e2e tests: New
// reads top to bottom (adapters, use cases, routes and outbox topics);
// adapters.go holds the builders it calls, serve.go running and closing.
package bff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"handheld/bff/auth"
	"handheld/bff/depositor"
	"handheld/bff/employer"
	"handheld/bff/kiosk"
	"handheld/bff/kiosk/screen"
	"handheld/bff/middleware"
	"handheld/bff/party"
	"handheld/bff/public"
	"handheld/bff/staffsite"
	"handheld/bff/verifier"
	"handheld/locales"
	"handheld/services"
	"handheld/services/account"
	"handheld/services/audit"
	"handheld/services/cases"
	"handheld/services/catalogue"
	"handheld/services/certificate"
	"handheld/services/core"
	"handheld/services/coresim"
	"handheld/services/ecard"
	employers "handheld/services/employer"
	"handheld/services/hours"
	"handheld/services/idempotency"
	"handheld/services/identity"
	"handheld/services/inbox"
	"handheld/services/keys"
	"handheld/services/kv"
	"handheld/services/mask"
	"handheld/services/material"
	"handheld/services/notify"
	"handheld/services/operator"
	"handheld/services/outbox"
	"handheld/services/platform"
	"handheld/services/printing"
	"handheld/services/ratelimit"
	"handheld/services/reminder"
	"handheld/services/repayment"
	"handheld/services/report"
	"handheld/services/retention"
	"handheld/services/schedule"
	"handheld/services/share"
	"handheld/services/sharing"
	"handheld/services/staff"
	"handheld/services/standing"
	"handheld/services/store"
	"handheld/services/supervision"
	"handheld/services/tracing"
	"handheld/services/transfer"
	"handheld/services/wechat"
	"handheld/services/withdrawal"
	"handheld/templates"
)

// DevCoreSecret signs core calls on the embedded profile when no secret is
// configured, so `handheld serve` and `handheld coresim` agree out of the
// box. Production refuses to start without a real one.
const DevCoreSecret = "handheld-embedded-profile-core-secret"

// App is a running handheld: its HTTP app, its background work, and what
// health checks and Close need.
type App struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	// tally counts core calls and rate-limit refusals per minute for the
	// supervision dashboard (activity_minutes).
	tally  *supervision.Tally
	http   *fiber.App
	outbox *outbox.Worker
	jobs   *employers.Jobs // the bulk file runner
	// materials' retention sweep runs with the background work.
	materials *material.Service
	// scheduled jobs (retention, the audit anchors) run once per period
	// across replicas (schedule).
	scheduled []schedule.Job
	schedule  *schedule.Runner
	retention *retention.Retention
	standing  *standing.Service // the monthly job, for StandingAt
	reminders *reminder.Service // the reminder rules (issue 19, part 3)
	reports   *report.Service   // the daily report upward (issue 20, part 5)
	store     *store.Store
	core      *core.Client
	sim       *coresim.Sim // embedded profile without CoreURL only
	redis     redis.UniversalClient
	tracer    *tracing.Provider
	closers   []func() error

	coreState *coreWatch  // the core's last known reachability, for /healthz and metrics
	draining  atomic.Bool // set at shutdown: /readyz fails, responses close their connections
}

// useCases are what the routes serve: New builds each once and routes
// mounts it. A new use case is a field here, one build step in New and its
// routes.
type useCases struct {
	catalogs     *locales.Catalogs
	proxies      middleware.Proxies
	limiter      *ratelimit.Limiter
	hours        *hours.Gate
	catalogue    *catalogue.Catalogue
	store        *store.Store // idempotency records
	keys         *keys.Ring   // the published JWKS
	identity     *identity.Service
	account      *account.Service
	employer     *employers.Service
	roster       *employers.Roster
	bases        *employers.Bases
	staffChanges *employers.StaffChanges
	remittances  *employers.Remittances
	jobs         *employers.Jobs
	operators    *operator.Service
	certificates *certificate.Service
	verify       *public.Certificates
	ecard        *ecard.Service
	withdrawals  *withdrawal.Service
	standing     *standing.Service
	cases        *cases.Service
	printing     *printing.Service
	sharing      *sharing.Service
	materials    *material.Service
	platform     *platform.Service
	// platformCalls serves the national platform's signed calls to this
	// centre (a certificate verification by another centre).
	platformCalls public.PlatformVerifications
	inbox         *inbox.Service
	transfers     *transfer.Service
	loans         *repayment.Service
	shares        *share.Service  // consented yes/no answers for relying parties (issue 20)
	screen        *screen.Screen  // nil when the kiosk screen is off
	staffSite     *staffsite.Site // the centre staff's pages (issue 20, part 4)
}

// New builds the app from a validated config: the adapters, then the use
// cases, then the routes and the outbox topics. On error everything opened
// so far is closed again.
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *App, err error) {
	// Every line logged with a request's context names the request and its
	// trace.
	log = slog.New(tracing.LogHandler(log.Handler()))
	a := &App{cfg: cfg, log: log, metrics: newMetrics(cfg.Version), tally: supervision.NewTally(activityReplica(), time.Now)}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	u := useCases{}
	logger := func(component string) *slog.Logger { return log.With("component", component) }

	// Configuration computed once and passed on.
	if u.catalogs, err = locales.Load(); err != nil {
		return nil, err
	}
	if cfg.Profile == ProfileEmbedded {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("HANDHELD_DATA_DIR: %w", err)
		}
	}
	secret, err := hashSecret(cfg)
	if err != nil {
		return nil, err
	}
	masking := mask.DefaultPolicy().Overlay(cfg.Masking)
	if u.proxies, err = middleware.ParseProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("HANDHELD_TRUSTED_PROXIES: %w", err)
	}
	if u.catalogue, err = cfg.catalogue(); err != nil {
		return nil, err
	}
	if u.hours, err = hours.New(u.catalogue.Switches(), time.Now); err != nil {
		return nil, fmt.Errorf("catalogue.switches: %w", err)
	}

	// Adapters: tracing, store, core, keys, Redis and kv, WeChat, audit, limits.
	if a.tracer, err = a.openTracing(ctx); err != nil {
		return nil, err
	}
	if a.store, err = a.openStore(ctx); err != nil {
		return nil, err
	}
	u.store = a.store
	key, err := a.hashKey(ctx, secret)
	if err != nil {
		return nil, err
	}
	if a.core, a.sim, err = a.openCore(ctx); err != nil {
		return nil, err
	}
	a.coreState = newCoreWatch(a.core.Health, coreCheckEvery, logger("core"))
	a.closers = append(a.closers, a.coreState.close)
	a.metrics.watchCore(a.coreState.up)
	if u.keys, err = openKeys(cfg); err != nil {
		return nil, err
	}
	if a.redis, err = a.openRedis(); err != nil {
		return nil, err
	}
	shared := openKV(cfg, a.redis, key)
	wx, err := wechat.New(wechat.Config{AppID: cfg.WeChatAppID, AppSecret: cfg.WeChatAppSecret, APIBase: cfg.WeChatAPIBase,
		Timeout: cfg.WeChatTimeout, Sandbox: cfg.WeChatSandbox, Now: time.Now, Logger: logger("wechat"),
		Observe: a.metrics.wechatCall, Tracer: a.tracer}, shared)
	if err != nil {
		return nil, fmt.Errorf("wechat: %w", err)
	}
	// On PostgreSQL, where replicas share the trail, each writes its own
	// shard (audit.Options.Replica) and an hourly job anchors them.
	trail := audit.New(a.store, audit.Options{Now: time.Now, Logger: logger("audit"), Replica: a.auditReplica(), Suite: cfg.Suite()})
	a.closers = append(a.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return trail.Close(ctx)
	})
	rl := ratelimit.Config{Prefix: cfg.RedisPrefix, Secret: key, Timeout: cfg.RedisTimeout,
		Replicas: cfg.Replicas, Now: time.Now, Logger: logger("ratelimit"), OnFallback: a.metrics.rateLimitFallback}
	if a.redis != nil {
		rl.Redis = a.redis
	}
	if u.limiter, err = ratelimit.New(rl, cfg.RateLimits); err != nil {
		return nil, fmt.Errorf("rate_limits: %w", err)
	}
	reader, err := a.openReader(a.core, shared, key)
	if err != nil {
		return nil, err
	}

	// Use cases.
	tokens, err := newTokens(cfg, u.keys)
	if err != nil {
		return nil, err
	}
	kiosks, err := devices(cfg)
	if err != nil {
		return nil, err
	}
	partyCredentials, partyRegistry := parties(cfg)
	// The use cases that queue outbox work (withdrawals, notices) nudge
	// the outbox worker, built below with their handlers, through a waker
	// made first.
	waker := outbox.NewWaker()
	// Security notices (a sign-in, a binding) go through the outbox to the
	// notifier like every other notification (issue 19).
	notices, err := notify.NewPublisher(a.store, waker.Wake, cfg.now())
	if err != nil {
		return nil, err
	}
	if u.identity, err = identity.New(identity.Deps{
		Store: a.store, Core: a.core, Persons: reader, WeChat: wx, Tokens: tokens, KV: shared, Audit: trail,
		Devices: kiosks, Verifiers: verifiers(cfg), Parties: partyCredentials, HashKey: key, Now: time.Now, Logger: logger("identity"),
		Assurance: cfg.Assurance, Policy: sessionPolicy(cfg), PublicBaseURL: cfg.PublicBase(), Notices: notices,
	}); err != nil {
		return nil, err
	}
	// The national HPF transfer platform (issue 18): its client (or the
	// in-process simulator of the other centres) and the reads through it.
	platformClient, _, platformKeys, err := a.openPlatform()
	if err != nil {
		return nil, err
	}
	var centres interface {
		Accounts(context.Context, platform.AccountQuery) (platform.AccountsAnswer, error)
		Centres(context.Context) (platform.Centres, error)
		RequestTransfer(context.Context, platform.TransferRequest) (platform.Transfer, error)
		TransferStatus(context.Context, string) (platform.Transfer, error)
		CancelTransfer(context.Context, string) (platform.Transfer, error)
	} = platformOff{}
	if platformClient != nil {
		centres = platformClient
	}
	if u.platform, err = platform.New(platform.Deps{Platform: centres, People: u.identity, Persons: reader, Audit: trail,
		Mask: masking, CentreCode: cfg.CentreCode, Now: time.Now, Logger: logger("platform")}); err != nil {
		return nil, fmt.Errorf("platform (HANDHELD_CENTRE_CODE): %w", err)
	}
	renderer, err := newRenderer(u.catalogs)
	if err != nil {
		return nil, err
	}
	if u.certificates, err = certificate.New(certificate.Deps{
		Store: a.store, Facts: reader, Units: reader, People: u.identity, Renderer: renderer, Centres: u.platform, Ring: u.keys, Audit: trail,
		Validity: cfg.CertificateValidity, LinkTTL: cfg.CertificateLinkTTL,
		PublicBaseURL: cfg.PublicBase(), CentreName: cfg.CentreName, CentreCode: cfg.CentreCode,
		Secret: key, Mask: masking, Now: time.Now, Logger: logger("certificate"),
	}); err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	if u.verify, err = public.NewCertificates(u.certificates, u.catalogs, cfg.CentreName); err != nil {
		return nil, err
	}
	u.platformCalls = public.PlatformVerifications{Service: u.certificates, Keys: platformKeys.inbound,
		Nonces: kv.Nonces{Store: shared, Namespace: "platform-verification-nonce", TTL: 2 * core.SignatureWindow}, Now: time.Now}
	if u.ecard, err = ecard.New(ecard.Deps{Ring: u.keys, KV: shared, Reader: reader, People: u.identity, Audit: trail,
		Store: a.store, Mask: masking, CentreCode: cfg.CentreCode, CentreName: cfg.CentreName,
		StatusMaxAge: cfg.ECardStatusMaxAge, Format: cfg.ECardFormat, Now: time.Now, Logger: logger("ecard")}); err != nil {
		return nil, err
	}
	if u.printing, err = printing.New(printing.Deps{
		Store: a.store, Reader: reader, People: u.identity, Certificates: u.certificates, Renderer: renderer,
		Devices: u.identity, Texts: u.catalogs, Audit: trail, CentreName: cfg.CentreName, Policy: cfg.PrintJobs,
		Now: time.Now, Logger: logger("printing"),
	}); err != nil {
		return nil, err
	}
	// Evidence from shared data (issue 17): the exchange's client (or the
	// in-process simulator) and the consent-per-application lookups.
	client, _, err := a.openSharing()
	if err != nil {
		return nil, err
	}
	var exchange interface {
		Ask(context.Context, sharing.Query) (sharing.Answer, error)
	} = exchangeOff{}
	if client != nil {
		exchange = client
	}
	if u.sharing, err = sharing.New(sharing.Deps{Store: a.store, Exchange: exchange, People: u.identity, Persons: reader,
		Policies: cfg.withdrawalPolicies(), Audit: trail, TTL: cfg.SharingConsentTTL, Now: time.Now,
		Logger: logger("sharing")}); err != nil {
		return nil, fmt.Errorf("sharing: %w", err)
	}
	// Evidence uploads (issue 17): sealed with the store's ring before
	// they reach the blob store, files or S3-compatible object storage.
	blobs, err := openBlobs(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if u.materials, err = material.New(material.Deps{Store: a.store, Blobs: blobs, Audit: trail, Policy: cfg.Materials,
		Now: time.Now, Logger: logger("material")}); err != nil {
		return nil, err
	}
	a.materials = u.materials
	a.retention = a.retentionJob(cfg, u.identity, u.certificates, trail, logger("retention"))
	a.schedule = &schedule.Runner{Store: a.store, Now: time.Now, Logger: logger("schedule")}
	a.scheduled = []schedule.Job{a.retention.Job(), a.auditAnchors(), a.auditPartitions()}
	if u.withdrawals, err = withdrawal.New(withdrawal.Deps{
		Store: a.store, Reader: reader, Core: a.core, People: u.identity, Audit: trail,
		Policies: cfg.withdrawalPolicies(), TimeLimits: u.catalogue, Mask: masking,
		Consents: withdrawalConsents{u.sharing}, Materials: withdrawalMaterials{u.materials},
		Wake: waker.Wake, Now: time.Now, Logger: logger("withdrawal"),
	}); err != nil {
		return nil, fmt.Errorf("withdrawals: %w", err)
	}
	if err := checkEvidenceMaterials(cfg.withdrawalPolicies(), cfg.Materials.Kinds); err != nil {
		return nil, err
	}
	// Standing (monthly) withdrawals (issue 19): each month's application
	// goes through the withdrawals above, made by a scheduled job that
	// runs once per period across replicas.
	if u.standing, err = standing.New(standing.Deps{Store: a.store, Withdrawals: u.withdrawals, Audit: trail,
		Kinds: cfg.withdrawalPolicies(), Policies: cfg.StandingWithdrawals, Wake: waker.Wake, Now: time.Now,
		Logger: logger("standing")}); err != nil {
		return nil, fmt.Errorf("standing_withdrawals: %w", err)
	}
	a.standing = u.standing
	a.scheduled = append(a.scheduled, u.standing.Job())
	// Transfers in (issue 18): asked of the platform through the outbox,
	// followed by its signed callbacks and a leased poller, credited
	// through the core.
	if u.transfers, err = transfer.New(transfer.Deps{Store: a.store, Platform: centres, Reader: reader, Core: a.core,
		People: u.identity, Audit: trail, Nonces: shared, Policy: cfg.Transfers, CentreCode: cfg.CentreCode,
		CallbackURL: cfg.PublicBase() + transfer.PathCallback, CallbackKeys: platformKeys.callbacks,
		TimeLimits: transferTimeLimits{u.catalogue}, Holidays: cfg.withdrawalPolicies().Holidays, Mask: masking,
		Wake: waker.Wake, Now: time.Now, Logger: logger("transfer")}); err != nil {
		return nil, fmt.Errorf("transfers: %w", err)
	}
	// The loan holders' services (issue 21): early repayments and arrears
	// payments applied by the core through the outbox, the repayment
	// account, the history and applications read from the core.
	if u.loans, err = repayment.New(repayment.Deps{Store: a.store, Core: a.core, People: u.identity, Audit: trail,
		Notices: notices, TimeLimits: transferTimeLimits{u.catalogue}, Holidays: cfg.withdrawalPolicies().Holidays,
		Mask: masking, Wake: waker.Wake, Now: time.Now, Logger: logger("repayment")}); err != nil {
		return nil, fmt.Errorf("loans: %w", err)
	}
	u.cases = cases.New(cases.Deps{Store: a.store, Audit: trail, Logger: logger("cases"), Now: time.Now,
		OnRated: a.metrics.rated})
	if u.account, err = account.New(account.Deps{
		Reader: reader, People: u.identity, Audit: trail, Applications: homeApplications{u.withdrawals},
		Mask: masking, Secret: key, HomeDeadline: cfg.HomeDeadline, Now: time.Now, Logger: logger("account"),
	}); err != nil {
		return nil, err
	}
	// Consented yes/no answers (issue 20): the relying parties, the
	// predicates answered from the core reader, the answers signed with
	// the shares key.
	if u.shares, err = share.New(share.Deps{Store: a.store, Reader: reader, People: u.identity, Audit: trail, Counter: shared,
		Ring: u.keys, Parties: partyRegistry, Policy: cfg.Shares, Key: key, Issuer: cfg.CentreCode, Now: time.Now,
		Logger: logger("share")}); err != nil {
		return nil, fmt.Errorf("parties, shares: %w", err)
	}
	// The kiosk screen (issue 16) serves the same use cases as HTML to a
	// kiosk's browser, with the kiosk citizen's principal.
	if path := cfg.ScreenPath(); path != "" {
		if u.screen, err = screen.New(screen.Deps{Identity: u.identity, Accounts: u.account, Certificates: u.certificates,
			Withdrawals: u.withdrawals, Cases: u.cases, Hours: u.hours, Audit: trail, Catalogs: u.catalogs, Templates: templates.FS,
			Prints: screenPrints{service: u.printing, keys: idempotency.New(a.store, time.Now)},
			Phone:  screenPhone{identity: u.identity, base: cfg.PublicBase()},
			Path:   path, Idle: cfg.KioskIdle, KioskKinds: cfg.withdrawalPolicies().KindsOn(services.ChannelKiosk),
			Secret: key, Now: time.Now, Logger: logger("kiosk-screen")}); err != nil {
			return nil, fmt.Errorf("HANDHELD_KIOSK_SCREEN_PATH: %w", err)
		}
	}
	if u.employer, err = employers.New(employers.Deps{Reader: reader, Audit: trail, Now: time.Now, Logger: logger("employer")}); err != nil {
		return nil, err
	}
	if u.roster, err = employers.NewRoster(employers.RosterDeps{Reader: reader, Audit: trail, Mask: masking, Secret: key,
		Now: time.Now, Logger: logger("employer")}); err != nil {
		return nil, err
	}
	if u.bases, err = employers.NewBases(employers.BasesDeps{Reader: reader, Core: a.core, Audit: trail,
		Now: time.Now, Logger: logger("employer")}); err != nil {
		return nil, err
	}
	if u.staffChanges, err = employers.NewStaffChanges(employers.StaffChangeDeps{
		Store: a.store, Reader: reader, Core: a.core, Audit: trail, Secret: key, Mask: masking,
		Wake: waker.Wake, Now: time.Now, Logger: logger("employer"),
	}); err != nil {
		return nil, fmt.Errorf("staff changes: %w", err)
	}
	// A join done offers the person the transfer of a sealed account
	// elsewhere (issue 18, part 5), asked of the platform off the join's
	// path and retried through the outbox while it is away.
	offerDeps := employers.TransferOfferDeps{Changes: u.staffChanges, Subjects: u.identity, Audit: trail,
		CentreCode: cfg.CentreCode, Now: time.Now, Logger: logger("employer")}
	if platformClient != nil {
		offerDeps.Platform = platformClient // a centre not connected offers nothing
	}
	offers, err := employers.NewTransferOffers(offerDeps)
	if err != nil {
		return nil, fmt.Errorf("transfer offers: %w", err)
	}
	// Bulk files apply their lines through the staff changes and bases
	// above; their runner starts and stops with the outbox worker.
	if u.jobs, err = employers.NewJobs(employers.JobDeps{Store: a.store, Staff: u.staffChanges, Bases: u.bases, Audit: trail,
		Policy: cfg.EmployerJobs, Mask: masking, Now: time.Now, Logger: logger("jobs")}); err != nil {
		return nil, fmt.Errorf("employer_jobs: %w", err)
	}
	a.jobs = u.jobs
	if u.remittances, err = employers.NewRemittances(employers.RemittanceDeps{Reader: reader, Bills: a.core, Audit: trail,
		Mask: masking, Now: time.Now, Logger: logger("remittance")}); err != nil {
		return nil, err
	}
	if u.operators, err = operator.New(operator.Deps{Core: a.core, Sessions: u.identity, Locks: shared, Audit: trail,
		Secret: key, Now: time.Now, Logger: logger("operator")}); err != nil {
		return nil, err
	}
	// The message centre (issue 19): every notification lands in the
	// inbox; the WeChat copy follows the person's preferences, quiet hours
	// and grants, on the message centre's clock.
	tmpl, err := cfg.notificationTemplates()
	if err != nil {
		return nil, err
	}
	if u.inbox, err = inbox.New(inbox.Deps{Store: a.store, Renderer: tmpl, Audit: trail, Templates: tmpl.TemplateIDs(),
		Logger: logger("inbox"), Now: cfg.now()}); err != nil {
		return nil, err
	}
	notifier, err := notify.New(notify.Deps{Recipients: u.identity, Sender: wx, Templates: tmpl, Inbox: u.inbox,
		Logger: logger("notify"), Now: cfg.now()})
	if err != nil {
		return nil, err
	}
	// Reminders and policy push (issue 19, part 3): each enabled rule a
	// scheduled job, its messages queued for the notifier above on the
	// message centre's clock.
	if a.reminders, err = reminder.New(reminder.Deps{Store: a.store, People: u.identity, Facts: a.core,
		Certificates: u.certificates, Audit: trail, Rules: cfg.Reminders, Wake: waker.Wake, Now: cfg.now(),
		Logger: logger("reminder")}); err != nil {
		return nil, fmt.Errorf("reminders: %w", err)
	}
	a.scheduled = append(a.scheduled, a.reminders.Jobs()...)
	// The daily report upward (issue 20, part 5): the day's ratings and
	// case timeliness per service, made by a scheduled job at the
	// configured time of day and delivered to the national platform
	// through the outbox, on the message centre's clock.
	reportDeps := report.Deps{Store: a.store, Cases: u.cases, Catalogue: u.catalogue, Audit: trail, Policy: cfg.DailyReport,
		CentreCode: cfg.CentreCode, Holidays: cfg.withdrawalPolicies().Holidays, Wake: waker.Wake,
		OnSent: a.metrics.dailyReport, Now: cfg.now(), Logger: logger("report")}
	if platformClient != nil {
		reportDeps.Platform = platformClient // a centre not connected keeps its reports queued
	}
	if a.reports, err = report.New(reportDeps); err != nil {
		return nil, fmt.Errorf("daily_report: %w", err)
	}
	if job := a.reports.JobOf(); job != nil {
		a.scheduled = append(a.scheduled, *job)
	}

	// Centre staff and the supervision dashboard (issue 20, part 4):
	// accounts and sessions, the dashboard over handheld's own records,
	// and the pages. The embedded profile has its demo staff member.
	staffAccounts, err := staff.New(staff.Deps{Store: a.store, KV: shared, Audit: trail, Policy: cfg.Staff.Policy, Secret: key,
		Issuer: cfg.CentreName, Now: time.Now, Logger: logger("staff")})
	if err != nil {
		return nil, fmt.Errorf("staff: %w", err)
	}
	if cfg.Profile == ProfileEmbedded {
		if err := ensureDemoStaff(ctx, staffAccounts); err != nil {
			return nil, err
		}
	}
	dashboards, err := supervision.New(supervision.Deps{Store: a.store, Audit: trail, Ratings: u.cases,
		Legal: newCatalogueLimits(u.catalogue), Holidays: cfg.withdrawalPolicies().Holidays, MaxDays: cfg.Staff.DashboardMaxDays,
		Now: time.Now, Logger: logger("supervision")})
	if err != nil {
		return nil, err
	}
	if u.staffSite, err = staffsite.New(staffsite.Deps{Accounts: staffAccounts, Dashboards: dashboards, Catalogs: u.catalogs,
		Templates: templates.FS, Now: time.Now, Logger: logger("staff-site")}); err != nil {
		return nil, err
	}

	// Routes, checked against the rate-limit policies ...
	var limited []ratelimit.Route
	a.http, limited = a.routes(u)
	if err := ratelimit.CheckRoutes(cfg.RateLimits, limited); err != nil {
		return nil, fmt.Errorf("rate_limits: %w", err)
	}
	// ... and outbox topics: what the use cases enqueue and who delivers it.
	// A notification no retry can deliver is parked, not retried.
	deliverNotifications := func(ctx context.Context, ms []outbox.Message) []error {
		payloads := make([][]byte, len(ms))
		for i, m := range ms {
			payloads[i] = m.Payload
		}
		errs := notifier.DeliverAll(ctx, payloads...)
		for i, err := range errs {
			if errors.Is(err, notify.ErrUndeliverable) {
				errs[i] = outbox.Permanent(err)
			}
		}
		return errs
	}
	if a.outbox, err = outbox.New(outbox.Config{
		Store: a.store,
		Enqueued: slices.Concat(withdrawal.Topics(), employers.StaffChangeTopics(), certificate.Topics(), transfer.Topics(),
			standing.Topics(), repayment.Topics(), report.Topics()),
		// A person's business at the core goes first; messages, polls and
		// the daily report take the slots it leaves (Background), so that a
		// campaign of reminders never holds up money on its way.
		Topics: []outbox.Topic{
			{Name: withdrawal.TopicSubmit, HandleBatch: u.withdrawals.SubmitBatch},
			{Name: withdrawal.TopicPoll, Handle: u.withdrawals.Poll, Background: true},
			{Name: withdrawal.TopicCheck, Handle: u.withdrawals.Check},
			{Name: notify.Topic, AtMostOnce: true, HandleBatch: deliverNotifications, Background: true},
			{Name: employers.TopicStaffChange, Handle: u.staffChanges.Deliver},
			{Name: employers.TopicTransferOffer, Handle: offers.Deliver},
			{Name: certificate.TopicIssue, Handle: u.certificates.IssuePending},
			{Name: transfer.TopicSend, Handle: u.transfers.Send},
			{Name: transfer.TopicPoll, Handle: u.transfers.Poll, Background: true},
			{Name: transfer.TopicMerge, Handle: u.transfers.Merge},
			{Name: repayment.TopicApply, Handle: u.loans.Apply},
			{Name: report.Topic, Handle: a.reports.Deliver, Background: true},
		},
		Waker:       waker,
		Concurrency: max(cfg.OutboxWorkers, 1),
		Batch:       32,
		Lease:       cfg.OutboxLease,
		// Well inside the lease, so that a slow delivery never loses its
		// row to another replica and goes twice.
		HandlerTimeout: cfg.OutboxLease * 2 / 3,
		// The message centre's clock: a notification deferred to the end
		// of quiet hours is due on it.
		Now:     cfg.now(),
		Logger:  logger("outbox"),
		Observe: a.metrics.outboxDelivery,
		Tracer:  a.tracer,
	}); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	a.metrics.watchOutbox(a.outbox.Backlog, logger("metrics"))
	return a, nil
}

// routes mounts the use cases on their paths, each behind its pipeline, and
// returns how each limited route is counted, for ratelimit.CheckRoutes.
func (a *App) routes(u useCases) (*fiber.App, []ratelimit.Route) {
	onError := errorHandler(u.catalogs, a.log)
	app := fiber.New(fiber.Config{
		AppName:               "handheld",
		ErrorHandler:          onError,
		BodyLimit:             a.cfg.uploadLimit(), // each route its own bound: limitBody
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
	app.Use(middleware.RequestID(), middleware.Trace(a.tracer), a.closeWhileDraining,
		middleware.Observe(requestObservers{a.metrics, a.tally}, a.log, onError, "/api/v1/kiosk/print-queue", "/api/v1/kiosk/login-codes/:code"),
		middleware.Recover(a.log),
		middleware.ClientIP(u.proxies),
		middleware.Locale(u.catalogs),
		a.cfg.limitBody(),
		middleware.Deadline(a.cfg.RequestTimeout))

	app.Get("/healthz", a.healthz)
	app.Get("/readyz", a.readyz)
	app.Get("/metrics", a.metricsHandler())
	app.Get("/openapi.yaml", serveOpenAPI)

	v1 := app.Group("/api/v1")
	// Each limit is recorded as a ratelimit.Route for CheckRoutes: the
	// keys it fills follow from the roles that reach it.
	var limited []ratelimit.Route
	limit := func(route string, lim middleware.Limit) fiber.Handler {
		limited = append(limited, lim.Route(route))
		return middleware.RateLimit(u.limiter, lim)
	}
	anonymous := func(route string, class ratelimit.Class, channel string, subject func(*fiber.Ctx) string) fiber.Handler {
		return limit(route, middleware.Limit{Class: class, Channel: channel, Subject: subject})
	}
	signedIn := func(route string, class ratelimit.Class, roles ...string) fiber.Handler {
		return limit(route, middleware.Limit{Class: class, Roles: roles})
	}
	v1.Get("/loan/calculator", anonymous("GET /api/v1/loan/calculator", ratelimit.ClassPublic, "public", nil),
		public.Calculator{DefaultRateBP: a.cfg.LoanRateBP}.Get)
	// The service catalogue (issue 19): public, cacheable, one limit for
	// the list and an item.
	menu := public.Services{Catalogue: u.catalogue, Catalogs: u.catalogs}
	v1.Get("/services", anonymous("GET /api/v1/services", ratelimit.ClassPublic, "public", nil), menu.List)
	v1.Get("/services/:code", anonymous("GET /api/v1/services/{code}", ratelimit.ClassPublic, "public", nil), menu.Get)

	ah := auth.Handlers{ID: u.identity, KeySet: u.keys.JWKS()}
	authed := middleware.Auth(u.identity)
	kioskDevice := middleware.Require([]string{services.RoleKiosk})
	app.Get("/.well-known/jwks.json", anonymous("GET /.well-known/jwks.json", ratelimit.ClassPublic, "public", nil), ah.JWKS)
	v1.Post("/auth/wechat", anonymous("POST /api/v1/auth/wechat", ratelimit.ClassLogin, services.ChannelMiniApp, nil), ah.WeChat)
	v1.Post("/auth/bind", anonymous("POST /api/v1/auth/bind", ratelimit.ClassBind, services.ChannelMiniApp,
		middleware.HeaderValue(fiber.HeaderAuthorization)), ah.Bind)
	v1.Post("/auth/face-checks", anonymous("POST /api/v1/auth/face-checks", ratelimit.ClassFaceCheck, services.ChannelMiniApp,
		middleware.HeaderValue(fiber.HeaderAuthorization)), ah.FaceCheck)
	v1.Post("/auth/step-up", authed, middleware.Require([]string{services.RoleDepositor}),
		signedIn("POST /api/v1/auth/step-up", ratelimit.ClassFaceCheck, services.RoleDepositor), ah.StepUp)
	v1.Post("/auth/employer", anonymous("POST /api/v1/auth/employer", ratelimit.ClassLogin, services.ChannelApp, auth.EmployerAccount), ah.Employer)
	v1.Post("/auth/employer/password", authed, middleware.Require([]string{services.RoleEmployer}, services.ChannelApp),
		signedIn("POST /api/v1/auth/employer/password", ratelimit.ClassPasswordChange, services.RoleEmployer), ah.EmployerPassword)
	v1.Post("/auth/verifier", anonymous("POST /api/v1/auth/verifier", ratelimit.ClassLogin, services.ChannelApp, auth.VerifierAccount), ah.Verifier)
	v1.Post("/auth/party", anonymous("POST /api/v1/auth/party", ratelimit.ClassLogin, services.ChannelApp, auth.PartyAccount), ah.Party)
	v1.Post("/auth/refresh", anonymous("POST /api/v1/auth/refresh", ratelimit.ClassRefresh, "public", auth.RefreshAccount), ah.Refresh)
	v1.Post("/auth/logout", authed, signedIn("POST /api/v1/auth/logout", ratelimit.ClassRead,
		services.RoleDepositor, services.RoleEmployer, services.RoleKiosk, services.RoleVerifier, services.RoleParty), ah.Logout)
	v1.Post("/kiosk/session", anonymous("POST /api/v1/kiosk/session", ratelimit.ClassLogin, services.ChannelKiosk,
		middleware.HeaderValue(auth.HeaderDevice)), ah.DeviceSession)
	v1.Post("/auth/kiosk", authed, kioskDevice, limit("POST /api/v1/auth/kiosk",
		middleware.Limit{Class: ratelimit.ClassLogin, Roles: []string{services.RoleKiosk}, Subject: auth.KioskAccount}), ah.Kiosk)
	v1.Get("/kiosk/device", authed, kioskDevice, signedIn("GET /api/v1/kiosk/device", ratelimit.ClassRead, services.RoleKiosk),
		kiosk.Handlers{Devices: u.identity}.Device)
	// Printing at a kiosk (issue 16): the citizen signed in at the kiosk
	// asks for a print (with its Idempotency-Key, under the print class)
	// and follows it; the kiosk's printer, with the device token, takes
	// its queue and each PDF once. Behind the account screens' switch, and
	// a certificate's print copy behind the certificate switch too.
	prints := kiosk.Printing{Service: u.printing, Catalogs: u.catalogs, Hours: u.hours}
	kioskCitizen := []fiber.Handler{authed, middleware.Require([]string{services.RoleDepositor}, services.ChannelKiosk),
		middleware.Assurance(u.identity, identity.ServiceRead), middleware.Service(u.hours, hours.Account)}
	v1.Post("/kiosk/print-jobs", append(kioskCitizen, middleware.Idempotency(idempotency.New(u.store, time.Now)),
		signedIn("POST /api/v1/kiosk/print-jobs", ratelimit.ClassPrint, services.RoleDepositor), prints.Create)...)
	v1.Get("/kiosk/print-jobs/:id", append(kioskCitizen,
		signedIn("GET /api/v1/kiosk/print-jobs/{id}", ratelimit.ClassRead, services.RoleDepositor), prints.Get)...)
	v1.Get("/kiosk/print-queue", authed, kioskDevice, signedIn("GET /api/v1/kiosk/print-queue", ratelimit.ClassRead, services.RoleKiosk),
		prints.Queue)
	v1.Get("/kiosk/print-jobs/:id/document", authed, kioskDevice,
		signedIn("GET /api/v1/kiosk/print-jobs/{id}/document", ratelimit.ClassRead, services.RoleKiosk), prints.Document)
	// Sign-in at a kiosk by phone QR (issue 16, part 2): the kiosk's code
	// and its polling here; the phone's preview and confirmation under /me.
	byPhone := kiosk.SignInByPhone{Codes: u.identity}
	v1.Post("/kiosk/login-codes", authed, kioskDevice,
		signedIn("POST /api/v1/kiosk/login-codes", ratelimit.ClassKioskLoginCode, services.RoleKiosk), byPhone.Create)
	v1.Get("/kiosk/login-codes/:code", authed, kioskDevice,
		signedIn("GET /api/v1/kiosk/login-codes/{code}", ratelimit.ClassKioskLoginPoll, services.RoleKiosk), byPhone.Poll)

	me := v1.Group("/me", authed, middleware.Require([]string{services.RoleDepositor}), middleware.Assurance(u.identity, identity.ServiceRead),
		signedIn("/api/v1/me/*", ratelimit.ClassRead, services.RoleDepositor), middleware.Service(u.hours, hours.Account))
	me.Get("/session", depositor.Session)
	// Money and certificates need a recent face check (the assurance
	// policy); these run before the routes' own handlers below.
	stepUp := func(s identity.ServiceName) fiber.Handler { return middleware.Assurance(u.identity, s) }
	me.Post("/certificates", stepUp(identity.ServiceCertificate))
	me.Post("/withdrawals", stepUp(identity.ServiceWithdrawal))
	me.Post("/withdrawals/:id/cancel", stepUp(identity.ServiceWithdrawal))
	// A consent to ask government sources about the person is given with
	// the same recent face check as the withdrawal it serves.
	me.Post("/evidence-lookups", stepUp(identity.ServiceWithdrawal))
	depositor.Account{Service: u.account, Catalogs: u.catalogs, Messages: u.inbox}.Routes(me)
	// The message centre (issue 19): the inbox, preferences and WeChat
	// subscribe grants, under the group's read class: its writes touch
	// only the person's own rows, and grants are capped per template.
	depositor.Messages{Service: u.inbox, Catalogs: u.catalogs}.Routes(me)
	me.Get("/print-jobs", prints.List)
	// Evidence files (issue 17, part 2): an upload with its
	// Idempotency-Key, uploads and deletions under the material_write
	// class; the body limit of the upload is materials.max_bytes (uploads).
	mats := depositor.Materials{Service: u.materials, MaxBytes: a.cfg.Materials.MaxBytes}
	me.Post("/materials", middleware.Idempotency(idempotency.New(u.store, time.Now)),
		signedIn("POST /api/v1/me/materials", ratelimit.ClassMaterialWrite, services.RoleDepositor), mats.Upload)
	me.Get("/materials", mats.List)
	me.Get("/materials/:id", mats.Get)
	me.Delete("/materials/:id", signedIn("DELETE /api/v1/me/materials/{id}", ratelimit.ClassMaterialWrite, services.RoleDepositor), mats.Delete)
	depositor.Certificates{Service: u.certificates, Catalogs: u.catalogs}.Routes(me,
		middleware.Idempotency(idempotency.New(u.store, time.Now)), signedIn("POST /api/v1/me/certificates", ratelimit.ClassCertificateIssue, services.RoleDepositor),
		middleware.Service(u.hours, hours.Certificate))
	u.verify.Routes(app, anonymous("GET /api/v1/certificates/{id}/pdf", ratelimit.ClassPublic, "public", nil),
		anonymous("GET /api/v1/verify/{code}, /verify/{code}", ratelimit.ClassVerifyPublic, "public", nil))
	// Another centre verifying a certificate through the national platform
	// (issue 18): signed with the platform's key, limited per address as
	// the verify pages are.
	u.platformCalls.Routes(app, anonymous("POST /api/v1/platform/certificate-verifications", ratelimit.ClassVerifyPublic, "public", nil))
	depositor.ECard{Service: u.ecard}.Routes(me, signedIn("e-card routes", ratelimit.ClassECard, services.RoleDepositor))
	depositor.Withdrawals{Service: u.withdrawals, Catalogs: u.catalogs, Evidence: u.sharing}.Routes(me,
		signedIn("withdrawal writes", ratelimit.ClassWithdrawalSubmit, services.RoleDepositor), middleware.Service(u.hours, hours.Withdrawal))
	// Standing (monthly) withdrawals (issue 19): signing up with its
	// Idempotency-Key and the same recent face check as a withdrawal, as
	// are resuming and confirming; every change under the withdrawal
	// write class; behind the withdrawal switch.
	depositor.Standing{Service: u.standing, Catalogs: u.catalogs}.Routes(me,
		signedIn("standing withdrawal writes", ratelimit.ClassWithdrawalSubmit, services.RoleDepositor),
		middleware.Idempotency(idempotency.New(u.store, time.Now)), stepUp(identity.ServiceWithdrawal),
		middleware.Service(u.hours, hours.Withdrawal))
	// Evidence from shared data (issue 17): a lookup with the person's
	// consent, with its Idempotency-Key, under the sharing_lookup class;
	// behind the withdrawal switch, as it serves a withdrawal.
	depositor.Evidence{Service: u.sharing, Catalogs: u.catalogs}.Routes(me, middleware.Idempotency(idempotency.New(u.store, time.Now)),
		signedIn("POST /api/v1/me/evidence-lookups", ratelimit.ClassSharingLookup, services.RoleDepositor),
		middleware.Service(u.hours, hours.Withdrawal))
	depositor.Cases{Service: u.cases, Catalogs: u.catalogs}.Routes(me, signedIn("case ratings", ratelimit.ClassRating, services.RoleDepositor))
	// Confirming a sign-in at a kiosk: from the mini-program only (never a
	// kiosk citizen session), with a recent face check (the kiosk_login
	// assurance).
	depositor.KioskLogins{Service: u.identity}.Routes(me, middleware.Require([]string{services.RoleDepositor}, services.ChannelMiniApp),
		stepUp(identity.ServiceKioskLogin), signedIn("GET /api/v1/me/kiosk-logins/{code}, POST /api/v1/me/kiosk-logins", ratelimit.ClassKioskLogin, services.RoleDepositor))
	// Accounts elsewhere (issue 18): read through the national platform
	// under the platform_read class, behind the platform service switch.
	depositor.Elsewhere{Service: u.platform, Catalogs: u.catalogs}.Routes(me, middleware.Service(u.hours, hours.Platform),
		signedIn("GET /api/v1/me/accounts-elsewhere", ratelimit.ClassPlatformRead, services.RoleDepositor))
	// Transfers in (issue 18): asking and cancelling under the
	// transfer_write class, asking with its
	// Idempotency-Key (kept by the service); all behind the platform
	// switch. The platform's callbacks carry its signature, no token.
	depositor.Transfers{Service: u.transfers, Catalogs: u.catalogs}.Routes(me,
		signedIn("transfer writes", ratelimit.ClassTransferWrite, services.RoleDepositor), middleware.Service(u.hours, hours.Platform))
	// Loan holders (issue 21): the writes move money or change where it
	// comes from, so they take a recent face check as withdrawals do, and
	// count under the withdrawal_submit class.
	depositor.Loans{Service: u.loans, Catalogs: u.catalogs}.Routes(me,
		signedIn("loan writes", ratelimit.ClassWithdrawalSubmit, services.RoleDepositor), stepUp(identity.ServiceWithdrawal))
	app.Post(transfer.PathCallback, anonymous("POST "+transfer.PathCallback, ratelimit.ClassPlatformCallback, "public", nil),
		platformCallback{Service: u.transfers}.Handle)
	// Consented yes/no answers (issue 20): a person's shares and the
	// parties' requests, each change under the share_write class; making a
	// share and approving a request need the same recent face check as a
	// certificate, which tells a third party as much.
	depositor.Shares{Service: u.shares, Catalogs: u.catalogs}.Routes(me,
		signedIn("share writes", ratelimit.ClassShareWrite, services.RoleDepositor), stepUp(identity.ServiceCertificate))
	// The relying parties' side: party tokens only, each party counted on
	// its own (its subject is party:<id>); asking with its Idempotency-Key.
	party.Handlers{Shares: u.shares}.Routes(v1, []fiber.Handler{authed, middleware.Require([]string{services.RoleParty})},
		signedIn("POST /api/v1/shares/redeem", ratelimit.ClassShareRedeem, services.RoleParty),
		signedIn("POST /api/v1/share-requests", ratelimit.ClassShareRequest, services.RoleParty),
		middleware.Idempotency(idempotency.New(u.store, time.Now)),
		signedIn("GET /api/v1/share-requests/{id}", ratelimit.ClassRead, services.RoleParty))
	verifier.ECard{Service: u.ecard}.Routes(v1, authed,
		middleware.Require([]string{services.RoleVerifier, services.RoleKiosk}),
		signedIn("POST /api/v1/ecard/verify", ratelimit.ClassVerifyECard, services.RoleVerifier, services.RoleKiosk))

	// The kiosk screen: HTML pages for a registered kiosk's browser, each
	// under the limit of the API route doing the same work.
	if u.screen != nil {
		p := a.cfg.ScreenPath()
		u.screen.Routes(app, screen.Limits{
			Device: signedIn(p+" (kiosk screen, device pages)", ratelimit.ClassRead, services.RoleKiosk),
			SignIn: limit("POST "+p+"sign-in", middleware.Limit{Class: ratelimit.ClassLogin, Roles: []string{services.RoleKiosk},
				Subject: screen.IDNumberOf}),
			Read:        signedIn(p+"* (kiosk screen, citizen pages)", ratelimit.ClassRead, services.RoleDepositor),
			Certificate: signedIn("POST "+p+"certificates", ratelimit.ClassCertificateIssue, services.RoleDepositor),
			Withdrawal:  signedIn("POST "+p+"withdrawals/{kind}", ratelimit.ClassWithdrawalSubmit, services.RoleDepositor),
			Rating:      signedIn("POST "+p+"cases/{id}/rate", ratelimit.ClassRating, services.RoleDepositor),
			StepUp:      signedIn("POST "+p+"step-up", ratelimit.ClassFaceCheck, services.RoleDepositor),
			Print:       signedIn("POST "+p+"print", ratelimit.ClassPrint, services.RoleDepositor),
			PhoneStart:  signedIn("POST "+p+"phone", ratelimit.ClassKioskLoginCode, services.RoleKiosk),
			PhonePoll:   signedIn("GET "+p+"phone/{code}", ratelimit.ClassKioskLoginPoll, services.RoleKiosk),
		})
	}

	// Every employer route admits the operator roles its entry in the
	// policy names (employerRoutes), and none a session signed in with a
	// temporary password: it changes the password first.
	emp := v1.Group("/employer", authed, middleware.Require([]string{services.RoleEmployer}, services.ChannelApp),
		middleware.Operators(employerRoutes()),
		limit("/api/v1/employer/*", middleware.Limit{Class: ratelimit.ClassRead, Channel: services.ChannelApp, Roles: []string{services.RoleEmployer}}),
		middleware.Service(u.hours, hours.Employer))
	emp.Get("/unit", employer.Handlers{Units: u.employer}.Unit)
	// The unit's business (issue 15): the roster, and the audited reveal of
	// one ID number under its own tighter limit; every write under the
	// employer write limit, with its Idempotency-Key: bases and rates
	// (checked, then the core at once), staff changes (202, the outbox
	// delivers them at any hour), declarations and supplements.
	roster := employer.Roster{Staff: u.roster}
	changes := employer.StaffChanges{Service: u.staffChanges, Catalogs: u.catalogs}
	bills := employer.Remittances{Service: u.remittances}
	once := middleware.Idempotency(idempotency.New(u.store, time.Now))
	write := func(route string) fiber.Handler {
		return signedIn(route, ratelimit.ClassEmployerWrite, services.RoleEmployer)
	}
	emp.Get("/staff", roster.List)
	emp.Get("/staff/:staff_id", roster.Member)
	emp.Post("/staff/:staff_id/reveal", signedIn("POST /api/v1/employer/staff/{staff_id}/reveal", ratelimit.ClassStaffReveal, services.RoleEmployer), roster.Reveal)
	emp.Post("/bases", once, write("POST /api/v1/employer/bases"), employer.Bases{Adjuster: u.bases}.Adjust)
	emp.Post("/staff", write("POST /api/v1/employer/staff"), changes.Join)
	emp.Post("/staff/:staff_id/leave", write("POST /api/v1/employer/staff/{staff_id}/leave"), changes.Leave)
	emp.Post("/staff/:staff_id/rejoin", write("POST /api/v1/employer/staff/{staff_id}/rejoin"), changes.Rejoin)
	emp.Get("/staff-changes", changes.List)
	emp.Get("/staff-changes/:id", changes.Get)
	emp.Get("/remittances", bills.Year)
	emp.Get("/remittances/:month", bills.Bill)
	emp.Post("/remittances/:month/declare", once, write("POST /api/v1/employer/remittances/{month}/declare"), bills.Declare)
	emp.Post("/remittances/:month/supplement", once, write("POST /api/v1/employer/remittances/{month}/supplement"), bills.Supplement)
	emp.Get("/arrears", bills.Arrears)
	// The unit deposit certificate (issue 15, part 7): issued under the
	// certificate_issue class (the operator's daily budget and the unit's)
	// with its Idempotency-Key, behind the certificate service switch like
	// a person's; the PDF and verification are the public routes above.
	employer.Certificates{Service: u.certificates, Catalogs: u.catalogs}.Routes(emp,
		once, signedIn("POST /api/v1/employer/certificates", ratelimit.ClassCertificateIssue, services.RoleEmployer),
		middleware.Service(u.hours, hours.Certificate))
	// Bulk files (issue 15, part 6): one upload is one employer write,
	// however many lines it has; the unit's unfinished jobs are bounded by
	// employer_jobs.max_active_per_unit. The lines are applied in the
	// background by the runner.
	jobs := employer.Jobs{Service: u.jobs, Catalogs: u.catalogs, MaxFileBytes: a.cfg.EmployerJobs.MaxFileBytes}
	emp.Post("/jobs", write("POST /api/v1/employer/jobs"), jobs.Upload)
	emp.Get("/jobs/templates/:file", jobs.Template)
	emp.Get("/jobs/:id", jobs.Get)
	emp.Get("/jobs/:id/errors", jobs.Errors)
	// The unit's operators (issue 15, part 8): the administrator's alone,
	// each change under its own limit, per administrator and per unit.
	ops := employer.Operators{Admin: u.operators}
	manage := func(route string) fiber.Handler {
		return signedIn(route, ratelimit.ClassOperatorAdmin, services.RoleEmployer)
	}
	emp.Get("/operators", ops.List)
	emp.Post("/operators", manage("POST /api/v1/employer/operators"), ops.Add)
	emp.Post("/operators/:operator_id/disable", manage("POST /api/v1/employer/operators/{operator_id}/disable"), ops.Disable)
	emp.Post("/operators/:operator_id/enable", manage("POST /api/v1/employer/operators/{operator_id}/enable"), ops.Enable)
	emp.Post("/operators/:operator_id/reset-password", manage("POST /api/v1/employer/operators/{operator_id}/reset-password"), ops.Reset)

	// The centre staff's pages (issue 20, part 4): a session cookie of
	// their own, never a bearer token; sign-in under the login class per
	// address and staff id, the pages under the read class per staff member.
	u.staffSite.Routes(app, staffsite.Limits{
		Page:   anonymous("GET /staff/login, /staff/staff.css, /staff/font.ttf", ratelimit.ClassPublic, "public", nil),
		SignIn: anonymous("POST /staff/login", ratelimit.ClassLogin, services.ChannelWeb, staffsite.StaffIDOf),
		Read:   signedIn("/staff/* (staff pages)", ratelimit.ClassRead, services.RoleStaff),
	})
	return app, limited
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

// limitBody refuses a body over its route's bound (413): BodyLimit on
// every route but the uploads, which have their own (uploads). The
// server has read at most uploadLimit by then.
func (c Config) limitBody() fiber.Handler {
	uploads := c.uploads()
	return func(ctx *fiber.Ctx) error {
		limit := BodyLimit
		if ctx.Method() == fiber.MethodPost {
			if n, ok := uploads[ctx.Path()]; ok {
				limit = n
			}
		}
		if len(ctx.Request().Body()) > limit {
			ctx.Context().SetConnectionClose()
			return services.E(services.CodeTooLarge)
		}
		return ctx.Next()
	}
}

// openBlobs opens the materials' blob store the configuration names: a
// directory (the embedded default, under the data directory) or an
// S3-compatible bucket, which must exist (it is not created here: the
// bucket's policy, versioning and lifecycle are the operator's).
func openBlobs(ctx context.Context, cfg Config) (material.Blobs, error) {
	if cfg.MaterialsStore == MaterialsS3 {
		b, err := material.NewS3Blobs(material.S3Config{Endpoint: cfg.MaterialsS3Endpoint, Bucket: cfg.MaterialsS3Bucket,
			Region: cfg.MaterialsS3Region, Prefix: cfg.MaterialsS3Prefix, Insecure: cfg.MaterialsS3Insecure,
			PathStyle: cfg.MaterialsS3PathStyle, AccessKey: cfg.MaterialsS3AccessKey, SecretKey: cfg.MaterialsS3SecretKey})
		if err != nil {
			return nil, fmt.Errorf("HANDHELD_MATERIALS_S3_*: %w", err)
		}
		return b, nil
	}
	dir := cfg.MaterialsDir
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "materials")
	}
	b, err := material.NewFileBlobs(dir)
	if err != nil {
		return nil, fmt.Errorf("HANDHELD_MATERIALS_DIR: %w", err)
	}
	return b, nil
}
