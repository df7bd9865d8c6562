package platform

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
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"handheld/services"
	"handheld/services/core"
)

// maxAnswerBytes caps what the client reads of one answer: a person's
// accounts at every centre fit in a few kilobytes.
const maxAnswerBytes = 256 << 10

// minSecretBytes: the HMAC-SHA256 key is at least as long as its output.
const minSecretBytes = 32

// Breaker defaults: after so many failures in a row the client stops
// asking for a while, so a platform that is down costs the person one
// fast 503 instead of a deadline each.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = 30 * time.Second
)

// The operations, as the Observe hook and the metrics name them.
const (
	OpAccounts       = "accounts"
	OpCentres        = "centres"
	OpTransfer       = "transfer"
	OpTransferStatus = "transfer_status"
	OpTransferCancel = "transfer_cancel"
	OpVerification   = "certificate_verification"
)

// ErrCertificateNotFound is the issuing centre knowing no certificate by
// the code: an answer, not a failure.
var ErrCertificateNotFound = errors.New("platform: no certificate by that code")

// VerifyCertificate asks the platform to have the issuing centre verify a
// certificate's code, as a lending centre does with a certificate for a
// loan elsewhere issued by another centre. A code the issuing centre does
// not know is ErrCertificateNotFound.
func (c *Client) VerifyCertificate(ctx context.Context, v CertificateVerification) (CertificateCheck, error) {
	var out CertificateCheck
	err := c.call(ctx, OpVerification, http.MethodPost, PathCertificateVerifications, v, &out,
		func() bool { return out.Status != "" && out.Number != "" })
	if errors.Is(err, ErrTransferNotFound) {
		err = ErrCertificateNotFound
	}
	c.record(err)
	return out, err
}

// ErrTransferNotFound is the platform knowing no such transfer;
// ErrNotCancelable a cancel after the old centre accepted. Both are
// answers, not failures: the breaker does not count them.
var (
	ErrTransferNotFound = errors.New("platform: no such transfer")
	ErrNotCancelable    = errors.New("platform: the old centre accepted the transfer already")
)

// ClientConfig is what a Client needs, filled once by the wiring from
// typed configuration.
type ClientConfig struct {
	// BaseURL is the platform's scheme and host, optionally a path prefix.
	BaseURL string
	// KeyID names the shared secret at the platform; Secret is the
	// HMAC-SHA256 key, at least 32 bytes.
	KeyID  string
	Secret []byte
	// HTTPClient carries the requests; nil means a default without redirects.
	HTTPClient *http.Client
	// Timeout bounds one call; zero means DefaultTimeout.
	Timeout time.Duration
	// BreakerFailures and BreakerCooldown tune the circuit breaker; zero
	// means the defaults.
	BreakerFailures int
	BreakerCooldown time.Duration
	// Now is the clock for signatures and the breaker; nil means time.Now.
	Now func() time.Time
	// Observe, when set, is called once per call with the operation, an
	// outcome (ok, unavailable, refused, breaker_open) and the duration,
	// so the wiring can feed metrics; never the person.
	Observe func(operation, outcome string, d time.Duration)
}

// Client calls the platform over HTTP with signed requests and translates
// every failure into a *services.Error (platform.unavailable with a
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
	observe  func(operation, outcome string, d time.Duration)

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
		return nil, errors.New("platform client: BaseURL is required and must parse")
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return nil, fmt.Errorf("platform client: BaseURL must be an http(s) URL with a host, got %q", u.Redacted())
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("platform client: BaseURL must not carry credentials, a query or a fragment")
	case cfg.KeyID == "" || !printable(cfg.KeyID):
		return nil, errors.New("platform client: KeyID is required, printable ASCII")
	case len(cfg.Secret) < minSecretBytes:
		return nil, fmt.Errorf("platform client: Secret must be at least %d bytes, got %d", minSecretBytes, len(cfg.Secret))
	case cfg.Timeout < 0 || cfg.BreakerFailures < 0 || cfg.BreakerCooldown < 0:
		return nil, errors.New("platform client: Timeout and breaker settings must not be negative")
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

// unavailable is the stable error for a platform that cannot answer now.
func unavailable(retry time.Duration, format string, args ...any) *services.Error {
	e := services.Errorf(services.CodePlatformUnavailable, format, args...)
	e.RetryAfter = retry
	return e
}

// Accounts asks which accounts the person holds at other centres. A
// platform down, slow or answering nonsense is platform.unavailable; a
// request it refuses (signature, an unknown requesting centre) is internal:
// our configuration is wrong, and the person can do nothing about it.
func (c *Client) Accounts(ctx context.Context, q AccountQuery) (AccountsAnswer, error) {
	var a AccountsAnswer
	err := c.call(ctx, OpAccounts, http.MethodPost, PathAccounts, q, &a, func() bool {
		if a.Reference == "" || a.Accounts == nil {
			return false
		}
		for _, acc := range a.Accounts {
			if acc.Centre == "" || acc.AccountRef == "" || acc.Status == "" || (acc.BalanceFen != nil && !acc.BalanceShared) {
				return false
			}
		}
		return true
	})
	c.record(err)
	return a, err
}

// RequestTransfer asks the old centre for a transfer (202). The same
// TransferRef answers the same transfer, so the outbox may deliver it
// again safely.
func (c *Client) RequestTransfer(ctx context.Context, r TransferRequest) (Transfer, error) {
	var t Transfer
	err := c.call(ctx, OpTransfer, http.MethodPost, PathTransfers, r, &t, t.wellFormed(&t))
	c.record(err)
	return t, err
}

// TransferStatus is the transfer as it stands, for polling.
func (c *Client) TransferStatus(ctx context.Context, platformRef string) (Transfer, error) {
	var t Transfer
	if !platformRefPattern.MatchString(platformRef) {
		return t, ErrTransferNotFound
	}
	err := c.call(ctx, OpTransferStatus, http.MethodGet, PathTransfers+"/"+platformRef, nil, &t, t.wellFormed(&t))
	c.record(err)
	return t, err
}

// CancelTransfer cancels a transfer the old centre has not accepted yet;
// ErrNotCancelable once it has.
func (c *Client) CancelTransfer(ctx context.Context, platformRef string) (Transfer, error) {
	var t Transfer
	if !platformRefPattern.MatchString(platformRef) {
		return t, ErrTransferNotFound
	}
	err := c.call(ctx, OpTransferCancel, http.MethodPost, PathTransfers+"/"+platformRef+"/cancel", nil, &t, t.wellFormed(&t))
	c.record(err)
	return t, err
}

var platformRefPattern = regexp.MustCompile(`^PT[0-9A-Z-]{6,40}$`)

// wellFormed checks a decoded transfer: a reference, a known status and a
// sequence.
func (Transfer) wellFormed(t *Transfer) func() bool {
	return func() bool {
		switch t.Status {
		case TransferSent, TransferAccepted, TransferFundsMoved, TransferRefused, TransferCancelled:
		default:
			return false
		}
		return platformRefPattern.MatchString(t.PlatformRef) && t.Sequence >= 1
	}
}

// Centres lists the centres connected to the platform.
func (c *Client) Centres(ctx context.Context) (Centres, error) {
	var out Centres
	err := c.call(ctx, OpCentres, http.MethodGet, PathCentres, nil, &out, func() bool { return out.Items != nil })
	c.record(err)
	return out, err
}

// call makes one signed call and decodes a 200 answer into out, which
// well must then find complete (a malformed answer is the platform
// unwell), reporting the outcome to the Observe hook.
func (c *Client) call(ctx context.Context, op, method, path string, in, out any, well func() bool) (err error) {
	start := time.Now()
	defer func() {
		outcome := "ok"
		switch code := services.ErrorCode(err); {
		case err == nil:
		case errors.Is(err, ErrTransferNotFound), errors.Is(err, ErrCertificateNotFound):
			outcome = "not_found"
		case errors.Is(err, ErrNotCancelable):
			outcome = "not_cancelable"
		case errors.Is(err, ErrReportConflict):
			outcome = "conflict"
		case code == services.CodePlatformUnavailable && isBreaker(err):
			outcome = "breaker_open"
		case code == services.CodePlatformUnavailable:
			outcome = "unavailable"
		default:
			outcome = "refused"
		}
		if c.observe != nil {
			c.observe(op, outcome, time.Since(start))
		}
	}()
	if err := c.admit(); err != nil {
		return err
	}
	var body []byte
	if in != nil {
		if body, err = json.Marshal(in); err != nil {
			return services.Errorf(services.CodeInternal, "platform: encode %s: %v", op, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return services.Errorf(services.CodeInternal, "platform: build request: %v", err)
	}
	var nb [16]byte
	_, _ = rand.Read(nb[:])
	nonce := hex.EncodeToString(nb[:])
	ts := c.now().Unix()
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set(HeaderKeyID, c.keyID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderSignature, core.Sign(c.secret, method, req.URL.EscapedPath(), ts, nonce, body))
	if id := services.RequestID(ctx); id != "" {
		req.Header.Set(core.HeaderRequestID, id)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The cause names the operation, never the person.
		return unavailable(5*time.Second, "platform: %s: %v", op, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil || len(raw) > maxAnswerBytes {
		return unavailable(5*time.Second, "platform: %s: reading the answer failed or it is too large", op)
	}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusAccepted {
		if err := json.Unmarshal(raw, out); err != nil || !well() {
			return unavailable(5*time.Second, "platform: %s: malformed answer", op)
		}
		return nil
	}
	var p Problem
	_ = json.Unmarshal(raw, &p)
	switch {
	case resp.StatusCode == http.StatusNotFound && p.Code == ProblemNotFound:
		return ErrTransferNotFound
	case resp.StatusCode == http.StatusConflict && p.Code == ProblemNotCancelable:
		return ErrNotCancelable
	case resp.StatusCode == http.StatusConflict && p.Code == ProblemConflict:
		return ErrReportConflict
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		retry := 30 * time.Second
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 && s <= 3600 {
			retry = time.Duration(s) * time.Second
		}
		return unavailable(retry, "platform: %s: status %d %s", op, resp.StatusCode, p.Code)
	}
	// 400/401/403: our request, our key or our centre code is wrong.
	return services.Errorf(services.CodeInternal, "platform: %s: refused with status %d %s", op, resp.StatusCode, p.Code)
}

// errBreakerOpen marks the refusal of an open breaker, for the outcome.
var errBreakerOpen = errors.New("platform: breaker open")

func isBreaker(err error) bool { return errors.Is(err, errBreakerOpen) }

// admit refuses at once while the breaker is open.
func (c *Client) admit() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if wait := c.openUntil.Sub(c.now()); wait > 0 {
		return unavailable(wait.Round(time.Second)+time.Second, "%w", errBreakerOpen)
	}
	return nil
}

// record counts failures that say the platform is unwell (not our own
// 4xx) and opens the breaker after too many in a row. A refusal by the
// open breaker itself is not counted again.
func (c *Client) record(err error) {
	if isBreaker(err) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if errors.Is(err, ErrTransferNotFound) || errors.Is(err, ErrCertificateNotFound) || errors.Is(err, ErrNotCancelable) ||
		errors.Is(err, ErrReportConflict) || services.ErrorCode(err) != services.CodePlatformUnavailable {
		c.failed = 0
		return
	}
	c.failed++
	if c.failed >= c.failures {
		c.openUntil = c.now().Add(c.cooldown)
		c.failed = 0
	}
}

// Health asks the platform whether it answers (GET /platform/v1/health),
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
		return fmt.Errorf("platform: health: status %d", resp.StatusCode)
	}
	return nil
}
