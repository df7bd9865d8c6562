package bff

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"

	"handheld/locales"
	"handheld/services"
	"handheld/services/account"
	"handheld/services/certpdf"
	"handheld/services/core"
	"handheld/services/coresim"
	"handheld/services/identity"
	"handheld/services/keys"
	"handheld/services/kv"
	"handheld/services/share"
	"handheld/services/store"
	"handheld/services/suite"
	"handheld/services/token"
	"handheld/services/tracing"
	"handheld/services/withdrawal"
	"handheld/templates"
)

// The builders New calls, in its order. Each returns what it built; the
// ones that open something to close register it on the App.

// hashSecret is HANDHELD_HASH_SECRET, or on the embedded profile a secret
// generated once under the data directory.
func hashSecret(cfg Config) ([]byte, error) {
	if cfg.HashSecret != "" {
		return []byte(cfg.HashSecret), nil
	}
	if cfg.Profile != ProfileEmbedded {
		return nil, errors.New("HANDHELD_HASH_SECRET: required")
	}
	path := filepath.Join(cfg.DataDir, "hash.secret")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		raw := make([]byte, 32)
		_, _ = rand.Read(raw)
		b = []byte(hex.EncodeToString(raw))
		err = os.WriteFile(path, b, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("hash secret %s: %w", path, err)
	}
	return b, nil
}

// hashKey is the deployment's keyed hash: the secret, under the HMAC the
// store was created with (store_settings.keyed_hash: the suite of the
// first start; intl for a store that held people before the setting
// existed). It never follows HANDHELD_CRYPTO afterwards: pseudonyms key
// stored rows.
func (a *App) hashKey(ctx context.Context, secret []byte) (services.HashKey, error) {
	name, err := a.store.Setting(ctx, "keyed_hash", a.cfg.Suite().String())
	if err != nil {
		return services.HashKey{}, err
	}
	s, err := suite.Parse(name)
	if err != nil {
		return services.HashKey{}, fmt.Errorf("store_settings.keyed_hash: %w", err)
	}
	if s != a.cfg.Suite() {
		a.log.Warn("the keyed hash stays the store's own, not the running suite's", "keyed_hash", s.String(), "suite", a.cfg.Suite().String())
	}
	return services.NewHashKey(secret, s), nil
}

// openTracing is the tracer provider: the one the configuration injects,
// else the one the OTEL_* settings describe (the id-only provider when
// tracing is off), flushed at Close.
func (a *App) openTracing(ctx context.Context) (*tracing.Provider, error) {
	if a.cfg.TracerProvider != nil {
		return tracing.Injected(a.cfg.TracerProvider), nil
	}
	tp, err := tracing.Open(ctx, a.cfg.tracing(), a.log.With("component", "tracing"))
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, tp.Close)
	return tp, nil
}

// storeOptions sizes the pool, and traces statements when spans are kept.
func (a *App) storeOptions() []store.Option {
	opts := []store.Option{store.WithMaxConns(a.cfg.DBMaxConns)}
	if a.tracer.Recording {
		opts = append(opts, store.WithTracing(a.tracer))
	}
	return opts
}

// openStore opens the store with its sealing ring; on the embedded profile
// it also migrates and runs the sealing step.
func (a *App) openStore(ctx context.Context) (*store.Store, error) {
	ring, err := sealingRing(a.cfg)
	if err != nil {
		return nil, err
	}
	s, err := store.Open(ctx, a.cfg.StoreDSN(), a.storeOptions()...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	a.closers = append(a.closers, s.Close)
	a.metrics.watchStore(s.DB())
	s = s.WithSealer(ring)
	if a.cfg.Profile == ProfileEmbedded {
		if err := s.Migrate(ctx); err != nil {
			return nil, fmt.Errorf("store: migrate: %w", err)
		}
		// Migration 0010's Go step: rows from before it end sealed.
		reps, err := Reseal(ctx, a.cfg, s, true)
		if err != nil {
			return nil, fmt.Errorf("store: sealing step: %w", err)
		}
		logReseal(a.log, reps)
	}
	return s, nil
}

// openCore is the core client: over HTTP when a core URL is set, otherwise
// to the simulator opened in-process (returned too, else nil).
func (a *App) openCore(ctx context.Context) (*core.Client, *coresim.Sim, error) {
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
		Observe: a.observeCore,
		Tracer:  a.tracer,
	}
	var sim *coresim.Sim
	if a.cfg.CoreURL == "" {
		// The embedded profile runs the simulator in-process with its own
		// random secret; calls still go through the real client and
		// signatures, only without a socket.
		var b [32]byte
		_, _ = rand.Read(b[:])
		cc.Secret = []byte(hex.EncodeToString(b[:]))
		var err error
		sim, err = coresim.Open(ctx, coresim.Config{
			Path:        filepath.Join(a.cfg.DataDir, "coresim.db"),
			Keys:        map[string][]byte{cc.KeyID: cc.Secret},
			Faults:      a.cfg.CoresimFaults,
			Maintenance: a.cfg.CoresimMaintenance,
			Now:         time.Now,
			Logger:      a.log.With("component", "coresim"),
		})
		if err != nil {
			return nil, nil, fmt.Errorf("coresim: %w", err)
		}
		a.closers = append(a.closers, sim.Close)
		cc.BaseURL = "http://coresim.internal"
		cc.HTTPClient = &http.Client{Transport: handlerTransport{sim.Handler()}}
	}
	c, err := core.NewClient(cc)
	if err != nil {
		return nil, nil, fmt.Errorf("core: %w", err)
	}
	return c, sim, nil
}

// openKeys loads the signing keys; the embedded profile generates them
// once under the data directory when no keys directory is set.
func openKeys(cfg Config) (*keys.Ring, error) {
	var ring *keys.Ring
	var err error
	if cfg.Profile == ProfileEmbedded {
		dir := cfg.KeysDir
		if dir == "" {
			dir = filepath.Join(cfg.DataDir, "keys")
		}
		ring, err = keys.Ensure(dir, time.Now(), cfg.Suite(), keys.Purposes()...)
	} else {
		ring, err = keys.Load(cfg.KeysDir, cfg.Suite(), keys.Purposes()...)
	}
	if err != nil {
		return nil, fmt.Errorf("HANDHELD_KEYS_DIR: %w", err)
	}
	return ring, nil
}

// openRedis connects to Redis when a URL is set; nil otherwise.
func (a *App) openRedis() (redis.UniversalClient, error) {
	if a.cfg.RedisURL == "" {
		return nil, nil
	}
	c, topology, err := kv.Connect(a.cfg.RedisURL, a.cfg.RedisPrefix)
	if err != nil {
		return nil, fmt.Errorf("HANDHELD_REDIS_URL: %w", err)
	}
	a.closers = append(a.closers, c.Close)
	if a.tracer.Recording {
		// Spans name the command only: keys are hashed, but values can
		// hold what a person sent.
		if err := redisotel.InstrumentTracing(c, redisotel.WithTracerProvider(a.tracer), redisotel.WithDBStatement(false)); err != nil {
			return nil, fmt.Errorf("redis tracing: %w", err)
		}
	}
	a.metrics.watchRedis(c)
	// One round trip now: a Cluster client learns the slot map, a Sentinel
	// client the primary, before the first request depends on either. A
	// Redis that is down is not fatal — limits fall back in process and
	// /readyz reports it — but it is said.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		a.log.Warn("redis not answering at start-up", "topology", string(topology), "err", err)
	} else {
		a.log.Info("redis", "topology", string(topology))
	}
	return c, nil
}

// openKV is short-lived shared state: in Redis when there is one, in
// process otherwise.
func openKV(cfg Config, rdb redis.UniversalClient, secret services.HashKey) kv.Store {
	if rdb == nil {
		return kv.NewMemory(time.Now, secret)
	}
	return kv.NewRedis(rdb, cfg.RedisPrefix, secret, max(cfg.RedisTimeout, 50*time.Millisecond))
}

// openReader is resilient core reads, cached in kv and sealed there with
// the suite's AEAD under a key derived from the hash secret.
func (a *App) openReader(c *core.Client, store kv.Store, secret services.HashKey) (*core.Reader, error) {
	rc := core.DefaultReaderConfig()
	if a.cfg.CoreReads != nil {
		rc = *a.cfg.CoreReads
	}
	rc.Secret = secret.Derive("core cache").Bytes()
	rc.Suite = a.cfg.Suite()
	rc.Now = time.Now
	rc.Logger = a.log.With("component", "core-reader")
	rc.OnRetry = a.metrics.coreRetry
	rc.OnStale = a.metrics.staleRead
	rc.OnCache = a.metrics.cacheRead
	reader, err := core.NewReader(c, rc, store)
	if err != nil {
		return nil, fmt.Errorf("core_reads: %w", err)
	}
	a.metrics.watchBreakers(reader.BreakerStates)
	return reader, nil
}

// newTokens issues and verifies access and device tokens.
func newTokens(cfg Config, ring *keys.Ring) (*token.Tokens, error) {
	tokens, err := token.New(token.Config{Issuer: cfg.Issuer, Audience: cfg.Issuer, TTL: cfg.AccessTTL,
		DeviceTTL: cfg.DeviceTokenTTL, Leeway: 5 * time.Second, Now: time.Now, CacheSize: 100_000}, ring)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return tokens, nil
}

// sessionPolicy is identity's policy from the configuration.
func sessionPolicy(cfg Config) identity.Policy {
	return identity.Policy{
		AccessTTL: cfg.AccessTTL,
		RefreshTTL: map[string]time.Duration{
			services.ChannelMiniApp: cfg.MiniAppSessionTTL,
			services.ChannelApp:     cfg.AppSessionTTL,
		},
		BindingTTL:       5 * time.Minute,
		DeviceTokenTTL:   cfg.DeviceTokenTTL,
		KioskIdle:        cfg.KioskIdle,
		KioskAbsolute:    cfg.KioskAbsolute,
		KioskLoginTTL:    cfg.KioskLoginTTL,
		LockoutFailures:  cfg.LockoutFailures,
		LockoutWindow:    cfg.LockoutWindow,
		LockoutDuration:  cfg.LockoutDuration,
		DeviceClockSkew:  2 * time.Minute,
		RevocationCache:  cfg.RevocationCache,
		RevocationMemory: 100_000,

		LockoutOperatorFailures: cfg.LockoutOperatorFailures,
		LockoutDelay:            cfg.LockoutDelay,
		LockoutDelayMax:         cfg.LockoutDelayMax,
		OperatorCredentialTTL:   operatorCredentialTTL(cfg.OperatorCredentialTTL),
	}
}

// devices is the kiosk registry from configuration, plus the demo kiosk on
// the embedded profile.
func devices(cfg Config) ([]identity.Device, error) {
	var out []identity.Device
	for _, k := range cfg.Kiosks {
		pk, err := base64.StdEncoding.DecodeString(k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("kiosks %s: %w", k.ID, err)
		}
		out = append(out, identity.Device{ID: k.ID, Location: k.Location, PublicKey: ed25519.PublicKey(pk), Enabled: k.Enabled})
	}
	if cfg.Profile == ProfileEmbedded {
		out = append(out, identity.Device{ID: DemoKioskID, Location: DemoKioskLocation,
			PublicKey: DemoKioskKey().Public().(ed25519.PublicKey), Enabled: true})
	}
	return out, nil
}

// verifiers are the verifier credentials from configuration, plus the demo
// counter on the embedded profile.
func verifiers(cfg Config) []identity.Verifier {
	var out []identity.Verifier
	for _, v := range cfg.Verifiers {
		out = append(out, identity.Verifier{ID: v.ID, Name: v.Name, Scopes: v.Scopes, SecretSHA256: v.SecretSHA256, Enabled: v.Enabled})
	}
	if cfg.Profile == ProfileEmbedded {
		sum := sha256.Sum256([]byte(DemoVerifierSecret))
		out = append(out, identity.Verifier{ID: DemoVerifierID, Name: DemoVerifierName,
			Scopes: []string{identity.ScopeECardVerify}, SecretSHA256: hex.EncodeToString(sum[:]), Enabled: true})
	}
	return out
}

// parties are the relying parties from configuration, plus the demo bank on
// the embedded profile: their credentials for identity, their registry
// entries for services/share.
func parties(cfg Config) ([]identity.Party, []share.Party) {
	var creds []identity.Party
	var entries []share.Party
	for _, p := range cfg.Parties {
		creds = append(creds, identity.Party{ID: p.ID, SecretSHA256: p.SecretSHA256, Enabled: p.Enabled})
		entries = append(entries, share.Party{ID: p.ID, Name: p.Name, Predicates: p.Predicates, Enabled: p.Enabled})
	}
	if cfg.Profile == ProfileEmbedded {
		sum := sha256.Sum256([]byte(DemoPartySecret))
		creds = append(creds, identity.Party{ID: DemoPartyID, SecretSHA256: hex.EncodeToString(sum[:]), Enabled: true})
		entries = append(entries, share.Party{ID: DemoPartyID, Name: DemoPartyName, Predicates: share.Names(), Enabled: true})
	}
	return creds, entries
}

// fallbackFont is the certificates' fallback font, unpacked (27 MB, about
// half a second) once per process however many Apps it builds, in the
// background of the first (certpdf.New).
var fallbackFont = sync.OnceValues(func() ([]byte, error) {
	return certpdf.ReadFont(templates.FS, certpdf.FallbackFontPath)
})

// newRenderer draws certificate PDFs from templates/.
func newRenderer(catalogs *locales.Catalogs) (*certpdf.Renderer, error) {
	font, err := fs.ReadFile(templates.FS, certpdf.FontPath)
	if err != nil {
		return nil, fmt.Errorf("certificate font: %w", err)
	}
	return certpdf.New(font, templates.FS, catalogs, fallbackFont)
}

// homeApplications feeds the home screen's in-flight list from the
// withdrawal applications.
type homeApplications struct{ w *withdrawal.Service }

func (h homeApplications) InFlight(ctx context.Context, subject string) ([]account.Application, error) {
	apps, err := h.w.InFlight(ctx, subject)
	if err != nil {
		return nil, err
	}
	out := make([]account.Application, 0, len(apps))
	for _, x := range apps {
		out = append(out, account.Application{ID: x.ID, Kind: "withdrawal", Type: x.Kind, CaseNumber: x.CaseNumber,
			Status: x.Status, SubmittedAt: x.CreatedAt, DueOn: x.DueOn})
	}
	return out, nil
}

// operatorCredentialTTL maps the configuration's 0 (off) to identity's
// negative (never cached); identity's 0 means its default.
func operatorCredentialTTL(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
