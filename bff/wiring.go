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
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"handheld/bff/middleware"
	"handheld/bff/public"
	"handheld/services"
	"handheld/services/account"
	"handheld/services/audit"
	"handheld/services/certificate"
	"handheld/services/certpdf"
	"handheld/services/core"
	"handheld/services/ecard"
	"handheld/services/employer"
	"handheld/services/hours"
	"handheld/services/identity"
	"handheld/services/keys"
	"handheld/services/kv"
	"handheld/services/mask"
	"handheld/services/ratelimit"
	"handheld/services/token"
	"handheld/services/wechat"
	"handheld/templates"
)

// openIdentity builds keys, kv, the audit trail, WeChat and the identity
// service.
func (a *App) openIdentity(ctx context.Context) error {
	cfg := a.cfg
	secret, err := a.hashSecret()
	if err != nil {
		return err
	}
	keysDir := cfg.KeysDir
	if cfg.Profile == ProfileEmbedded {
		if keysDir == "" {
			keysDir = filepath.Join(cfg.DataDir, "keys")
		}
		a.keys, err = keys.Ensure(keysDir, time.Now(), keys.Purposes()...)
	} else {
		a.keys, err = keys.Load(keysDir, keys.Purposes()...)
	}
	if err != nil {
		return fmt.Errorf("HANDHELD_KEYS_DIR: %w", err)
	}
	if cfg.RedisURL != "" {
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("HANDHELD_REDIS_URL: %w", err)
		}
		// Without this go-redis ignores context deadlines on reads, and a
		// hung Redis would hold requests for the client's read timeout.
		opt.ContextTimeoutEnabled = true
		a.redis = redis.NewClient(opt)
		a.closers = append(a.closers, a.redis.Close)
		a.kv = kv.NewRedis(a.redis, cfg.RedisPrefix, secret, max(cfg.RedisTimeout, 50*time.Millisecond))
	} else {
		a.kv = kv.NewMemory(time.Now, secret)
	}
	tokens, err := token.New(token.Config{Issuer: cfg.Issuer, Audience: cfg.Issuer, TTL: cfg.AccessTTL,
		DeviceTTL: cfg.DeviceTokenTTL, Leeway: 5 * time.Second, Now: time.Now, CacheSize: 100_000}, a.keys)
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	wx, err := wechat.New(wechat.Config{AppID: cfg.WeChatAppID, AppSecret: cfg.WeChatAppSecret, APIBase: cfg.WeChatAPIBase,
		Timeout: cfg.WeChatTimeout, Sandbox: cfg.WeChatSandbox, Now: time.Now, Logger: a.log.With("component", "wechat")}, a.kv)
	if err != nil {
		return fmt.Errorf("wechat: %w", err)
	}
	a.wechat = wx
	a.audit = audit.New(a.store, audit.Options{Now: time.Now, Logger: a.log.With("component", "audit")})
	a.closers = append(a.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return a.audit.Close(ctx)
	})
	devices, err := a.devices()
	if err != nil {
		return err
	}
	var verifiers []identity.Verifier
	for _, v := range a.cfg.Verifiers {
		verifiers = append(verifiers, identity.Verifier{ID: v.ID, Name: v.Name, Scopes: v.Scopes, SecretSHA256: v.SecretSHA256, Enabled: v.Enabled})
	}
	if a.cfg.Profile == ProfileEmbedded {
		sum := sha256.Sum256([]byte(DemoVerifierSecret))
		verifiers = append(verifiers, identity.Verifier{ID: DemoVerifierID, Name: DemoVerifierName,
			Scopes: []string{identity.ScopeECardVerify}, SecretSHA256: hex.EncodeToString(sum[:]), Enabled: true})
	}
	a.identity, err = identity.New(identity.Deps{
		Store: a.store, Core: a.core, WeChat: wx, Tokens: tokens, KV: a.kv, Audit: a.audit,
		Devices: devices, Verifiers: verifiers, HashSecret: secret, Now: time.Now, Logger: a.log.With("component", "identity"),
		Assurance: cfg.Assurance,
		Policy: identity.Policy{
			AccessTTL: cfg.AccessTTL,
			RefreshTTL: map[string]time.Duration{
				services.ChannelMiniApp: cfg.MiniAppSessionTTL,
				services.ChannelApp:     cfg.AppSessionTTL,
			},
			BindingTTL:       5 * time.Minute,
			DeviceTokenTTL:   cfg.DeviceTokenTTL,
			KioskIdle:        cfg.KioskIdle,
			KioskAbsolute:    cfg.KioskAbsolute,
			LockoutFailures:  cfg.LockoutFailures,
			LockoutWindow:    cfg.LockoutWindow,
			LockoutDuration:  cfg.LockoutDuration,
			DeviceClockSkew:  2 * time.Minute,
			RevocationCache:  cfg.RevocationCache,
			RevocationMemory: 100_000,

			LockoutOperatorFailures: cfg.LockoutOperatorFailures,
			LockoutDelay:            cfg.LockoutDelay,
			LockoutDelayMax:         cfg.LockoutDelayMax,
		},
	})
	return err
}

// hashSecret is HANDHELD_HASH_SECRET, or on the embedded profile a secret
// generated once under the data directory.
func (a *App) hashSecret() ([]byte, error) {
	if a.cfg.HashSecret != "" {
		return []byte(a.cfg.HashSecret), nil
	}
	if a.cfg.Profile != ProfileEmbedded {
		return nil, errors.New("HANDHELD_HASH_SECRET: required")
	}
	path := filepath.Join(a.cfg.DataDir, "hash.secret")
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

// devices is the kiosk registry from configuration, plus the demo kiosk on
// the embedded profile.
func (a *App) devices() ([]identity.Device, error) {
	var out []identity.Device
	for _, k := range a.cfg.Kiosks {
		pk, err := base64.StdEncoding.DecodeString(k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("kiosks %s: %w", k.ID, err)
		}
		out = append(out, identity.Device{ID: k.ID, Location: k.Location, PublicKey: ed25519.PublicKey(pk), Enabled: k.Enabled})
	}
	if a.cfg.Profile == ProfileEmbedded {
		out = append(out, identity.Device{ID: DemoKioskID, Location: DemoKioskLocation,
			PublicKey: DemoKioskKey().Public().(ed25519.PublicKey), Enabled: true})
	}
	return out, nil
}

// openLimits builds the rate limiter (Redis when configured, in process
// otherwise), the flow-control gate and the trusted proxies.
func (a *App) openLimits() error {
	var err error
	if a.proxies, err = middleware.ParseProxies(a.cfg.TrustedProxies); err != nil {
		return fmt.Errorf("HANDHELD_TRUSTED_PROXIES: %w", err)
	}
	if a.hours, err = hours.New(a.cfg.Services, time.Now); err != nil {
		return fmt.Errorf("services: %w", err)
	}
	secret, err := a.hashSecret()
	if err != nil {
		return err
	}
	rc := ratelimit.Config{Prefix: a.cfg.RedisPrefix, Secret: secret, Timeout: a.cfg.RedisTimeout,
		Replicas: a.cfg.Replicas, Now: time.Now, Logger: a.log.With("component", "ratelimit"),
		OnFallback: a.metrics.rateLimitFallback}
	if a.redis != nil {
		rc.Redis = a.redis
	}
	a.limiter, err = ratelimit.New(rc, a.cfg.RateLimits)
	if err != nil {
		return fmt.Errorf("rate_limits: %w", err)
	}
	return nil
}

// openAccount builds resilient core reads (cache in kv, encrypted) and the
// depositor account service.
func (a *App) openAccount() error {
	secret, err := a.hashSecret()
	if err != nil {
		return err
	}
	rc := core.DefaultReaderConfig()
	if a.cfg.CoreReads != nil {
		rc = *a.cfg.CoreReads
	}
	cacheKey := sha256.Sum256(append([]byte("core cache "), secret...))
	rc.Secret = cacheKey[:]
	rc.Now = time.Now
	rc.Logger = a.log.With("component", "core-reader")
	rc.OnBreakerChange = a.metrics.breakerChange
	rc.OnStale = a.metrics.staleRead
	rc.OnCache = a.metrics.cacheRead
	reader, err := core.NewReader(a.core, rc, a.kv)
	if err != nil {
		return fmt.Errorf("core_reads: %w", err)
	}
	if err := a.openCertificates(reader, secret); err != nil {
		return err
	}
	if err := a.openWithdrawals(reader, a.wechat); err != nil {
		return err
	}
	a.account, err = account.New(account.Deps{
		Reader: reader, People: a.identity, Audit: a.audit, Applications: homeApplications{a.withdrawals},
		Mask:         mask.DefaultPolicy().Overlay(a.cfg.Masking),
		Secret:       secret,
		HomeDeadline: a.cfg.HomeDeadline,
		Now:          time.Now,
		Logger:       a.log.With("component", "account"),
	})
	if err != nil {
		return err
	}
	a.employer, err = employer.New(employer.Deps{Reader: reader, Audit: a.audit, Now: time.Now, Logger: a.log.With("component", "employer")})
	return err
}

// fallbackFont is the certificates' fallback font, unpacked (27 MB, about
// half a second) once per process however many Apps it builds.
var fallbackFont = sync.OnceValues(func() ([]byte, error) {
	return certpdf.ReadFont(templates.FS, certpdf.FallbackFontPath)
})

func (a *App) openCertificates(reader *core.Reader, secret []byte) error {
	font, err := fs.ReadFile(templates.FS, certpdf.FontPath)
	if err != nil {
		return fmt.Errorf("certificate font: %w", err)
	}
	fallback, err := fallbackFont()
	if err != nil {
		return fmt.Errorf("certificate fallback font: %w", err)
	}
	renderer, err := certpdf.New(font, templates.FS, a.catalogs, fallback)
	if err != nil {
		return err
	}
	a.certificates, err = certificate.New(certificate.Deps{
		Store: a.store, Facts: reader, People: a.identity, Renderer: renderer, Ring: a.keys, Audit: a.audit,
		Validity: a.cfg.CertificateValidity, LinkTTL: a.cfg.CertificateLinkTTL,
		PublicBaseURL: a.cfg.PublicBase(), CentreName: a.cfg.CentreName, CentreCode: a.cfg.CentreCode,
		Secret: secret, Mask: mask.DefaultPolicy().Overlay(a.cfg.Masking), Now: time.Now,
		Logger: a.log.With("component", "certificate"),
	})
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	a.verify, err = public.NewCertificates(a.certificates, a.catalogs, a.cfg.CentreName)
	if err != nil {
		return err
	}
	a.ecard, err = ecard.New(ecard.Deps{Ring: a.keys, KV: a.kv, Reader: reader, People: a.identity, Audit: a.audit,
		Store: a.store, Mask: mask.DefaultPolicy().Overlay(a.cfg.Masking), CentreCode: a.cfg.CentreCode,
		CentreName: a.cfg.CentreName, Now: time.Now, Logger: a.log.With("component", "ecard")})
	return err
}
