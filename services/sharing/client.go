package sharing

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"handheld/services"
	"handheld/services/core"
)

// maxAnswerBytes caps what the client reads of one answer: a minimal fact
// is a few hundred bytes.
const maxAnswerBytes = 64 << 10

// minSecretBytes: the HMAC-SHA256 key is at least as long as its output.
const minSecretBytes = 32

// Breaker defaults: after so many failures in a row the client stops
// asking for a while, so a source that is down costs the person one fast
// 503 instead of a deadline each.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = 30 * time.Second
)

// ClientConfig is what a Client needs, filled once by the wiring from
// typed configuration.
type ClientConfig struct {
	// BaseURL is the exchange's scheme and host, optionally a path prefix.
	BaseURL string
	// KeyID names the shared secret at the exchange; Secret is the
	// HMAC-SHA256 key, at least 32 bytes.
	KeyID  string
	Secret []byte
	// HTTPClient carries the requests; nil means a default without redirects.
	HTTPClient *http.Client
	// Timeout bounds one question; zero means DefaultTimeout.
	Timeout time.Duration
	// BreakerFailures and BreakerCooldown tune the circuit breaker; zero
	// means the defaults.
	BreakerFailures int
	BreakerCooldown time.Duration
	// Now is the clock for signatures and the breaker; nil means time.Now.
	Now func() time.Time
	// Observe, when set, is called once per question with the source, an
	// outcome (ok, not_found, unavailable, refused, breaker_open) and the
	// duration, so the wiring can feed metrics; never the person.
	Observe func(source, outcome string, d time.Duration)
}

// Client asks the exchange over HTTP with signed requests and translates
// every failure into a *services.Error (sharing.unavailable with a
// Retry-After, or internal for what is our own fault), so the use case
// never sees HTTP. Safe for concurrent use.
type Client struct {
	base     string
	keyID    string
	secret   []byte
	http     *http.Client
	timeout  time.Duration
	now      func() time.Time
	failures int
	cooldown time.Duration
	observe  func(source, outcome string, d time.Duration)

	mu        sync.Mutex
	failed    int       // failures in a row
	openUntil time.Time // the breaker refuses calls until then
}

// NewClient validates cfg, naming the setting, so a misconfigured
// deployment stops at start-up.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	switch {
	case cfg.BaseURL == "" || err != nil:
		return nil, errors.New("sharing client: BaseURL is required and must parse")
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return nil, fmt.Errorf("sharing client: BaseURL must be an http(s) URL with a host, got %q", u.Redacted())
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("sharing client: BaseURL must not carry credentials, a query or a fragment")
	case cfg.KeyID == "" || !printable(cfg.KeyID):
		return nil, errors.New("sharing client: KeyID is required, printable ASCII")
	case len(cfg.Secret) < minSecretBytes:
		return nil, fmt.Errorf("sharing client: Secret must be at least %d bytes, got %d", minSecretBytes, len(cfg.Secret))
	case cfg.Timeout < 0 || cfg.BreakerFailures < 0 || cfg.BreakerCooldown < 0:
		return nil, errors.New("sharing client: Timeout and breaker settings must not be negative")
	}
	c := &Client{base: strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), keyID: cfg.KeyID,
		secret: bytes.Clone(cfg.Secret), http: cfg.HTTPClient, timeout: cfg.Timeout, now: cfg.Now,
		failures: cfg.BreakerFailures, cooldown: cfg.BreakerCooldown, observe: cfg.Observe}
	if c.http == nil {
		c.http = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.failures == 0 {
		c.failures = DefaultBreakerFailures
	}
	if c.cooldown == 0 {
		c.cooldown = DefaultBreakerCooldown
	}
	return c, nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ErrPersonUnknown is what Ask returns when the source does not know the
// person: for the use case an absent fact, not a failure.
var ErrPersonUnknown = errors.New("sharing: the source does not know the person")

// unavailable is the stable error for a source that cannot answer now.
func unavailable(retry time.Duration, format string, args ...any) *services.Error {
	e := services.Errorf(services.CodeSharingUnavailable, format, args...)
	e.RetryAfter = retry
	return e
}

// Ask puts one question to the exchange. A person the source does not know
// is ErrPersonUnknown; a source down, slow or refusing for our own fault is
// a *services.Error (sharing.unavailable, or internal for a bad signature
// or a refused consent, which are bugs of ours, not the person's).
func (c *Client) Ask(ctx context.Context, q Query) (Answer, error) {
	start := time.Now()
	if err := c.admit(); err != nil {
		c.report(q.Source, "breaker_open", start)
		return Answer{}, err
	}
	a, err := c.ask(ctx, q)
	c.record(err)
	outcome := "ok"
	switch {
	case errors.Is(err, ErrPersonUnknown):
		outcome = "not_found"
	case services.ErrorCode(err) == services.CodeSharingUnavailable:
		outcome = "unavailable"
	case err != nil:
		outcome = "refused"
	}
	c.report(q.Source, outcome, start)
	return a, err
}

// report feeds the Observe hook, when there is one.
func (c *Client) report(source, outcome string, start time.Time) {
	if c.observe != nil {
		c.observe(source, outcome, time.Since(start))
	}
}

// admit refuses at once while the breaker is open.
func (c *Client) admit() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if wait := c.openUntil.Sub(c.now()); wait > 0 {
		return unavailable(wait.Round(time.Second)+time.Second, "sharing: breaker open")
	}
	return nil
}

// record counts failures that say the exchange is unwell (not a person
// unknown, not our own 4xx) and opens the breaker after too many in a row.
func (c *Client) record(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil || errors.Is(err, ErrPersonUnknown) || services.ErrorCode(err) != services.CodeSharingUnavailable {
		c.failed = 0
		return
	}
	c.failed++
	if c.failed >= c.failures {
		c.openUntil = c.now().Add(c.cooldown)
		c.failed = 0
	}
}

func (c *Client) ask(ctx context.Context, q Query) (Answer, error) {
	body, err := json.Marshal(q)
	if err != nil {
		return Answer{}, services.Errorf(services.CodeInternal, "sharing: encode query: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	target := c.base + PathQuery
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return Answer{}, services.Errorf(services.CodeInternal, "sharing: build request: %v", err)
	}
	var nb [16]byte
	_, _ = rand.Read(nb[:])
	nonce := hex.EncodeToString(nb[:])
	ts := c.now().Unix()
	signed := req.URL.EscapedPath()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(HeaderKeyID, c.keyID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderSignature, core.Sign(c.secret, http.MethodPost, signed, ts, nonce, body))
	if id := services.RequestID(ctx); id != "" {
		req.Header.Set(core.HeaderRequestID, id)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The cause names the source and the fact, never the person.
		return Answer{}, unavailable(5*time.Second, "sharing: %s/%s: %v", q.Source, q.Fact, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil || len(raw) > maxAnswerBytes {
		return Answer{}, unavailable(5*time.Second, "sharing: %s/%s: reading the answer failed or it is too large", q.Source, q.Fact)
	}
	if resp.StatusCode == http.StatusOK {
		var a Answer
		if err := json.Unmarshal(raw, &a); err != nil || a.Source != q.Source || a.Fact != q.Fact || a.Reference == "" {
			return Answer{}, unavailable(5*time.Second, "sharing: %s/%s: malformed answer", q.Source, q.Fact)
		}
		return a, nil
	}
	var p Problem
	_ = json.Unmarshal(raw, &p)
	switch {
	case resp.StatusCode == http.StatusNotFound && p.Code == ProblemPersonNotFound:
		return Answer{}, ErrPersonUnknown
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		retry := 30 * time.Second
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 && s <= 3600 {
			retry = time.Duration(s) * time.Second
		}
		return Answer{}, unavailable(retry, "sharing: %s/%s: status %d %s", q.Source, q.Fact, resp.StatusCode, p.Code)
	default:
		// 400/401/403: our request, our key or our consent handling is
		// wrong; the person can do nothing about it.
		return Answer{}, services.Errorf(services.CodeInternal, "sharing: %s/%s: refused with status %d %s",
			q.Source, q.Fact, resp.StatusCode, p.Code)
	}
}

// Health asks the exchange whether it answers (GET /sharing/v1/health),
// for readiness reporting only.
func (c *Client) Health(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+PathHealth, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("sharing: health: status %d", resp.StatusCode)
	}
	return nil
}
