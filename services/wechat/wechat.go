// Package wechat is handheld's adapter to the WeChat mini-program open API:
// login (code2session), the depositor's phone number and subscribe messages.
// It wraps github.com/silenceper/wechat/v2 so that use cases never see the
// library, its URLs or its errors: every failure is a *services.Error whose
// Cause is a redacted *APIError.
//
// Three things differ from using the library directly. Requests go to a
// configurable API base (a test server, an egress proxy) instead of the host
// the library hard-codes. The access token is the stable token, cached in
// the shared kv store so that replicas neither race nor invalidate each
// other. And a sandbox mode answers made-up codes for the embedded profile,
// which has no WeChat app.
package wechat

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/miniprogram"
	mpconfig "github.com/silenceper/wechat/v2/miniprogram/config"
	"go.opentelemetry.io/otel/trace"

	"handheld/services/kv"
)

// DefaultAPIBase is WeChat's own API host, used when Config.APIBase is empty.
const DefaultAPIBase = "https://api.weixin.qq.com"

// DefaultTimeout bounds one HTTP exchange with WeChat when Config.Timeout is
// zero. Login waits on it, so a slow WeChat should fail into a retry screen
// rather than hold the depositor for the library's unbounded default.
const DefaultTimeout = 5 * time.Second

// Config holds what a Client needs; the wiring point fills it from typed
// configuration in one place.
type Config struct {
	// AppID and AppSecret identify the mini-program. Both are required
	// unless Sandbox is on; a sandbox without them answers sandbox codes only.
	AppID     string
	AppSecret string
	// APIBase replaces https://api.weixin.qq.com in every request, optionally
	// with a path prefix (https://egress.example/wechat). Empty means
	// DefaultAPIBase.
	APIBase string
	// Timeout bounds each HTTP exchange; zero means DefaultTimeout.
	Timeout time.Duration
	// Sandbox accepts the made-up codes "sandbox:<openid>" and
	// "sandbox-phone:<11 digits>" and logs subscribe messages instead of
	// sending them. Only the embedded profile turns it on.
	Sandbox bool
	// Now is the clock that ages cached access tokens; nil means time.Now.
	Now func() time.Time
	// Logger receives sandbox messages and token cache trouble; nil discards.
	Logger *slog.Logger
	// Observe, when set, is told of every call that went to WeChat: the
	// API ("jscode2session", "stable_token", ...) and one of the Result
	// values, for a metric. Sandbox answers and codes refused before any
	// request are not calls. It must be quick.
	Observe func(api, result string)
	// Tracer makes each HTTP exchange with WeChat a client span. WeChat is a
	// third party: no trace context is sent to it. Nil: no spans.
	Tracer trace.TracerProvider
}

// Session is who WeChat says signed in. The session_key WeChat also returns
// stays inside this package: handheld decrypts nothing with it, and a key
// that never leaves cannot leak.
type Session struct {
	OpenID  string
	UnionID string // empty unless the app is bound to an open-platform account
}

// Message is one subscribe message. Data maps a template's keys
// ("thing1", "amount2") to their values; Lang is zh_CN (the default),
// en_US, zh_HK or zh_TW.
type Message struct {
	ToOpenID   string
	TemplateID string
	Page       string
	Data       map[string]string
	Lang       string
}

// Client talks to WeChat for one mini-program. It is safe for concurrent
// use; build one at start-up and share it.
type Client struct {
	appID   string
	secret  string
	sandbox bool
	live    bool // has credentials, so codes that are not sandbox codes go to WeChat
	route   *route
	mp      *miniprogram.MiniProgram
	tokens  *tokenSource
	log     *slog.Logger
	observe func(api, result string)
}

// New validates cfg and builds a Client. tokens holds the shared access
// token (Redis in production so that every replica uses the same one).
// It fails fast, naming the setting, so a misconfigured deployment stops at
// start-up rather than failing every login.
func New(cfg Config, tokens kv.Store) (*Client, error) {
	if tokens == nil {
		return nil, errors.New("wechat: a kv store for the access token is required")
	}
	live := cfg.AppID != "" || cfg.AppSecret != ""
	if !cfg.Sandbox && !live {
		return nil, errors.New("wechat: AppID and AppSecret are required outside the sandbox")
	}
	if live {
		// Both go into URLs unescaped by the library, so only plain tokens pass.
		if !codeLike(cfg.AppID, 1, 64) {
			return nil, errors.New("wechat: AppID must be 1..64 letters, digits, '_' or '-'")
		}
		if !codeLike(cfg.AppSecret, 1, 128) {
			return nil, errors.New("wechat: AppSecret must be 1..128 letters, digits, '_' or '-'")
		}
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("wechat: Timeout must not be negative, got %s", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	rt, err := newRoute(cfg.APIBase, cfg.Timeout)
	if err == nil && cfg.Tracer != nil {
		rt.tracer = cfg.Tracer.Tracer("handheld/wechat")
	}
	if err != nil {
		return nil, err
	}
	installDispatcher()
	if !routed() {
		return nil, errors.New("wechat: util.DefaultHTTPClient of github.com/silenceper/wechat was replaced after this package installed its router; calls would bypass APIBase")
	}
	c := &Client{
		appID:   cfg.AppID,
		secret:  cfg.AppSecret,
		sandbox: cfg.Sandbox,
		live:    live,
		route:   rt,
		log:     cfg.Logger,
		observe: cfg.Observe,
	}
	c.tokens = &tokenSource{
		appID:  cfg.AppID,
		secret: cfg.AppSecret,
		store:  tokens,
		route:  rt,
		now:    cfg.Now,
		log:    cfg.Logger,
		scrub:  c.scrub,
		called: c.called,
	}
	// The library insists on a cache for its default token handle, which
	// is replaced on the next line; the cache is never used.
	c.mp = miniprogram.NewMiniProgram(&mpconfig.Config{
		AppID:       cfg.AppID,
		AppSecret:   cfg.AppSecret,
		Cache:       unusedCache{},
		UseStableAK: true,
	})
	c.mp.SetAccessTokenContextHandle(c.tokens)
	return c, nil
}

// parseAPIBase splits base into scheme, host and path prefix.
func parseAPIBase(base string) (scheme, host, prefix string, err error) {
	if base == "" {
		base = DefaultAPIBase
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", "", "", fmt.Errorf("wechat: APIBase must be an http(s) URL with a host and no query, got %q", base)
	}
	return u.Scheme, u.Host, strings.TrimRight(u.Path, "/"), nil
}

// codeLike reports whether s is min..max characters of [A-Za-z0-9_-]: the
// shape of WeChat's codes, openids and app ids, and safe inside a URL.
func codeLike(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// unusedCache satisfies the library's constructor, which panics without a
// cache even though its token handle is replaced before any call. It
// stores nothing, so the library's racy in-memory cache is never in play.
type unusedCache struct{}

func (unusedCache) Get(string) any                       { return nil }
func (unusedCache) Set(string, any, time.Duration) error { return nil }
func (unusedCache) IsExist(string) bool                  { return false }
func (unusedCache) Delete(string) error                  { return nil }
