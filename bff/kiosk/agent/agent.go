// Package agent is the kiosk's local agent (`handheld kiosk-agent`): it
// holds the device's id and Ed25519 key, signs the device session
// (POST /api/v1/kiosk/session), keeps the device token fresh, and serves
// the kiosk's browser the kiosk screen by reverse-proxying only the screen
// path to handheld, with the device token added. The browser never sees
// the key or the token: it talks to 127.0.0.1 and gets pages; nothing it
// sends can carry credentials of its own upstream. It also prints what
// the citizens at the kiosk ask for (printer.go: the device's print queue,
// with the same token).
package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"handheld/bff/auth"
	"handheld/services/identity"
)

// SessionPath is the device-session route the agent signs.
const SessionPath = "/api/v1/kiosk/session"

// DeviceRealm is the realm of the WWW-Authenticate challenge with which the
// kiosk screen refuses a device token (the screen's 401 for a citizen's
// refusal has none): on it the agent renews the device session.
const DeviceRealm = `realm="kiosk-device"`

// maxBody bounds what the browser may post through the agent: the
// screen's forms are small, and handheld refuses more anyway.
const maxBody = 64 << 10

// Config is one agent's device and upstream.
type Config struct {
	// Device is the kiosk's registered id; Key its Ed25519 private key.
	Device string
	Key    ed25519.PrivateKey
	// Upstream is handheld's base URL (scheme and host, no path).
	Upstream *url.URL
	// ScreenPath is the only path proxied ("/kiosk/" by default).
	ScreenPath string
	// Client makes the device-session calls; default a client with a 10 s
	// timeout.
	Client *http.Client
	// Transport carries the proxied requests; default http.DefaultTransport.
	Transport http.RoundTripper
	Now       func() time.Time
	Logger    *slog.Logger
}

// Agent keeps one device session and proxies the screen.
type Agent struct {
	cfg Config

	mu      sync.Mutex
	token   string
	expires time.Time
	renewAt time.Time
}

// New checks the configuration.
func New(cfg Config) (*Agent, error) {
	switch {
	case cfg.Device == "":
		return nil, errors.New("kiosk agent: --device is required")
	case len(cfg.Key) != ed25519.PrivateKeySize:
		return nil, errors.New("kiosk agent: the key must be an Ed25519 private key (a 32-byte seed)")
	case cfg.Upstream == nil || (cfg.Upstream.Scheme != "http" && cfg.Upstream.Scheme != "https") || cfg.Upstream.Host == "" ||
		strings.Trim(cfg.Upstream.Path, "/") != "" || cfg.Upstream.RawQuery != "":
		return nil, errors.New("kiosk agent: --upstream must be handheld's http(s) base URL without a path")
	}
	if cfg.ScreenPath == "" {
		cfg.ScreenPath = "/kiosk/"
	}
	if !strings.HasPrefix(cfg.ScreenPath, "/") || !strings.HasSuffix(cfg.ScreenPath, "/") || cfg.ScreenPath == "/" ||
		strings.HasPrefix(cfg.ScreenPath, "/api/") {
		return nil, fmt.Errorf("kiosk agent: screen path %q must be like /kiosk/", cfg.ScreenPath)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Agent{cfg: cfg}, nil
}

// Token is a live device token: the cached one, or a new device session
// when it is near its end (past four fifths of its life, or less than a
// minute left) or was refused. The printer asks it too.
func (a *Agent) Token(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token != "" && a.cfg.Now().Before(a.renewAt) {
		return a.token, nil
	}
	tok, ttl, err := a.session(ctx)
	if err != nil {
		if a.token != "" && a.cfg.Now().Before(a.expires) {
			// Renewal failed but the old token still works: use it, try
			// again on the next request.
			a.cfg.Logger.WarnContext(ctx, "kiosk agent: device session renewal failed; the current one is still valid", "device", a.cfg.Device, "err", err.Error())
			return a.token, nil
		}
		return "", err
	}
	now := a.cfg.Now()
	a.token, a.expires = tok, now.Add(ttl)
	early := min(ttl/5, 5*time.Minute)
	early = max(early, min(time.Minute, ttl/2))
	a.renewAt = a.expires.Add(-early)
	a.cfg.Logger.InfoContext(ctx, "kiosk agent: device session started", "device", a.cfg.Device, "expires_in", ttl.String())
	return tok, nil
}

// Invalidate forgets tok after handheld refused it (401), so that the next
// Token starts a new device session. A newer token is kept.
func (a *Agent) Invalidate(tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token == tok {
		a.token, a.renewAt = "", time.Time{}
	}
}

// session signs and sends POST /api/v1/kiosk/session.
func (a *Agent) session(ctx context.Context) (string, time.Duration, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return "", 0, err
	}
	ts := strconv.FormatInt(a.cfg.Now().Unix(), 10)
	n := hex.EncodeToString(nonce)
	sig := ed25519.Sign(a.cfg.Key, identity.DeviceMessage(http.MethodPost, SessionPath, ts, n, nil))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.Upstream.JoinPath(SessionPath).String(), nil)
	if err != nil {
		return "", 0, err
	}
	req.Header.Set(auth.HeaderDevice, a.cfg.Device)
	req.Header.Set(auth.HeaderTimestamp, ts)
	req.Header.Set(auth.HeaderNonce, n)
	req.Header.Set(auth.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	resp, err := a.cfg.Client.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("kiosk agent: device session: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		// The problem's code says why (auth.device_signature: wrong key or
		// clock; auth.device_disabled): no token is in it.
		var p struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(body, &p)
		return "", 0, fmt.Errorf("kiosk agent: device session refused: %d %s", resp.StatusCode, p.Code)
	}
	var t identity.Tokens
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" || t.ExpiresIn <= 0 {
		return "", 0, errors.New("kiosk agent: device session: malformed answer")
	}
	return t.AccessToken, time.Duration(t.ExpiresIn) * time.Second, nil
}

// Handler serves the kiosk's browser: the screen path proxied to
// handheld with the device token, "/" sent to the screen, anything else
// 404 (the agent is no way to the API).
func (a *Agent) Handler() http.Handler {
	proxy := &httputil.ReverseProxy{
		Rewrite: a.rewrite,
		Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			return a.roundTrip(r)
		}),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			a.cfg.Logger.WarnContext(r.Context(), "kiosk agent: upstream", "err", err.Error())
			unavailable(w)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			http.Redirect(w, r, a.cfg.ScreenPath, http.StatusFound)
			return
		}
		if !a.onScreen(r.URL) {
			http.NotFound(w, r)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			// Kept whole so that a request refused for an expired device
			// token can be sent again with a new one.
			b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
			if err != nil || len(b) > maxBody {
				http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
			r.ContentLength = int64(len(b))
		}
		proxy.ServeHTTP(w, r)
	})
}

// onScreen admits only paths under the screen path, with nothing that a
// server behind could read as another path (dot segments, encoded
// slashes, backslashes, doubled slashes).
func (a *Agent) onScreen(u *url.URL) bool {
	p, raw := u.Path, u.EscapedPath()
	if !strings.HasPrefix(p, a.cfg.ScreenPath) || !strings.HasPrefix(raw, a.cfg.ScreenPath) {
		return false
	}
	lower := strings.ToLower(raw)
	return !strings.Contains(p, "..") && !strings.Contains(p, "//") && !strings.Contains(p, `\`) &&
		!strings.Contains(lower, "%2f") && !strings.Contains(lower, "%5c") && !strings.Contains(lower, "%2e")
}

// rewrite points a browser request at handheld: the browser's own
// credentials go (Authorization, the device headers, cookies other than
// the screen's own), the forwarded host and scheme say how the browser
// reached the agent (the screen's same-origin check and cookie flags).
func (a *Agent) rewrite(r *httputil.ProxyRequest) {
	r.SetURL(a.cfg.Upstream)
	out := r.Out
	for _, h := range []string{"Authorization", "Proxy-Authorization", auth.HeaderDevice, auth.HeaderTimestamp,
		auth.HeaderNonce, auth.HeaderSignature, "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip"} {
		out.Header.Del(h)
	}
	var keep []string
	for _, c := range r.In.Cookies() {
		if strings.HasPrefix(c.Name, "hh_kiosk_") {
			keep = append(keep, c.Name+"="+c.Value)
		}
	}
	out.Header.Del("Cookie")
	if len(keep) > 0 {
		out.Header.Set("Cookie", strings.Join(keep, "; "))
	}
	out.Header.Set("X-Forwarded-Host", r.In.Host)
	proto := "http"
	if r.In.TLS != nil {
		proto = "https"
	}
	out.Header.Set("X-Forwarded-Proto", proto)
}

// roundTrip sends a proxied request with the device token; a 401 (the
// device session ended early: revoked, or handheld restarted with new
// keys) is tried once more with a new session.
func (a *Agent) roundTrip(r *http.Request) (*http.Response, error) {
	tok, err := a.Token(r.Context())
	if err != nil {
		return nil, err
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	resp, err := a.cfg.Transport.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), DeviceRealm) {
		// Only the screen's refusal of the device token is the agent's
		// business; a citizen's refusal (a face that does not match) is
		// the page's, and is never sent twice.
		return resp, err
	}
	a.Invalidate(tok)
	if r.GetBody == nil && r.Body != nil && r.Body != http.NoBody {
		return resp, nil
	}
	retry := r.Clone(r.Context())
	if r.GetBody != nil {
		if retry.Body, err = r.GetBody(); err != nil {
			return resp, nil
		}
	}
	fresh, err := a.Token(r.Context())
	if err != nil || fresh == tok {
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	retry.Header.Set("Authorization", "Bearer "+fresh)
	return a.cfg.Transport.RoundTrip(retry)
}

// roundTripper adapts a function to http.RoundTripper.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// unavailable is the agent's own page when handheld cannot be reached or
// refuses the device: plain words for the person at the kiosk.
func unavailable(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Retry-After", "10")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = io.WriteString(w, `<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10"><title>暂停服务 / Out of service</title></head>`+
		`<body><h1>自助机暂时连不上公积金中心，请稍后再试。</h1><p lang="en">This kiosk cannot reach the HPF centre just now. Please try again shortly.</p></body></html>`)
}
