package core

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
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

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"handheld/services"
	"handheld/services/tracing"
)

// OpenAPI is the core API contract as an OpenAPI 3.1 document, embedded so the
// BFF can serve it to a centre's integration team and the contract tests can
// validate the simulator's answers against the very file that is published.
//
//go:embed openapi.yaml
var OpenAPI []byte

// DefaultTimeout bounds a core call when ClientConfig.Timeout is zero. It is
// short because every screen waits on the core; a slow core should fail fast
// into a degraded screen rather than hold a request for tens of seconds.
const DefaultTimeout = 5 * time.Second

// maxResponseBytes caps what the client reads from one core answer. The largest
// legitimate answer (certificate facts with 24 months of deposits, a page of
// 100 staff) is a few tens of KiB; anything near the cap is a broken gateway.
const maxResponseBytes = 4 << 20

// minSecretBytes is the shortest HMAC-SHA256 secret accepted: as long as the
// hash output, so the key is never the weakest part of the signature.
const minSecretBytes = 32

// maxPooledBuffer keeps unusually large response buffers out of the pool so a
// single large answer does not pin memory for the life of the process.
const maxPooledBuffer = 64 << 10

// ClientConfig holds what a Client needs. It is a struct rather than options
// because the wiring point fills it from typed configuration in one place.
type ClientConfig struct {
	// BaseURL is the core API's scheme and host, optionally with a path prefix
	// when a gateway publishes the core under one (https://gw.example/hpf).
	// The signature covers the request target exactly as sent, prefix included.
	BaseURL string
	// KeyID names the shared secret at the core (X-Core-Key).
	KeyID string
	// Secret is the HMAC-SHA256 key shared with the core; at least 32 bytes.
	Secret []byte
	// HTTPClient carries the requests; nil means a client with a Transport
	// tuned for many concurrent calls to one host and no redirects.
	HTTPClient *http.Client
	// Timeout is the deadline of one call when the caller's context has no
	// shorter one; zero means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock for signature timestamps and Retry-After dates; nil
	// means time.Now. Durations reported to Observe use the real clock.
	Now func() time.Time
	// Observe, when set, is called once per request sent with a stable
	// endpoint name ("account", "deposits", ...), one of the Outcome values
	// and the call's duration, so the wiring can feed metrics without this
	// package importing a metrics library.
	Observe func(endpoint, outcome string, d time.Duration)
	// Tracer makes each call a client span ("core account") and sends its
	// context to the core as a W3C traceparent header. Nil: no spans, but
	// a traceparent from the caller's context still goes out.
	Tracer trace.TracerProvider
}

// Client calls the core API over HTTP with signed requests and translates
// every failure into a *services.Error, so use cases never see HTTP. It is
// safe for concurrent use; build one per core and share it.
type Client struct {
	base    string // scheme://host[/prefix], no trailing slash
	keyID   string
	secret  []byte
	http    *http.Client
	timeout time.Duration
	now     func() time.Time
	observe func(endpoint, outcome string, d time.Duration)
	tracer  trace.Tracer
	bufs    sync.Pool // *bytes.Buffer for reading response bodies
}

// NewClient validates cfg and builds a Client. It fails fast, naming the
// setting, so a misconfigured deployment stops at start-up rather than
// answering every request with core.unavailable.
func NewClient(cfg ClientConfig) (*Client, error) {
	base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.KeyID == "" {
		return nil, errors.New("core client: KeyID is required")
	}
	if !validHeaderValue(cfg.KeyID) {
		return nil, errors.New("core client: KeyID must be printable ASCII")
	}
	if len(cfg.Secret) < minSecretBytes {
		return nil, fmt.Errorf("core client: Secret must be at least %d bytes, got %d", minSecretBytes, len(cfg.Secret))
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("core client: Timeout must not be negative, got %s", cfg.Timeout)
	}
	c := &Client{
		base:    base,
		keyID:   cfg.KeyID,
		secret:  bytes.Clone(cfg.Secret),
		http:    cfg.HTTPClient,
		timeout: cfg.Timeout,
		now:     cfg.Now,
		observe: cfg.Observe,
		bufs:    sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
	if c.http == nil {
		c.http = newHTTPClient()
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	tp := cfg.Tracer
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	c.tracer = tp.Tracer("handheld/core")
	return c, nil
}

func parseBaseURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("core client: BaseURL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("core client: BaseURL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("core client: BaseURL must be http or https, got scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return "", errors.New("core client: BaseURL has no host")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("core client: BaseURL must not carry credentials, a query or a fragment")
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// newHTTPClient is the default: keep-alive connections sized for a BFF that
// fans out to one core host, and no redirects (a redirected signed request
// would fail verification anyway, and a redirect means a misconfigured URL).
func newHTTPClient() *http.Client {
	t, ok := http.DefaultTransport.(*http.Transport)
	if ok {
		t = t.Clone() // keeps proxy-from-environment, dial and HTTP/2 defaults
	} else {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	}
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	t.TLSHandshakeTimeout = 5 * time.Second
	return &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// request describes one core call.
type request struct {
	endpoint string // stable short name for Observe and error causes
	method   string
	path     string // escaped path, without the base
	query    url.Values
	body     any // JSON-encoded when not nil
	// raw is sent as it is instead of body, with rawType as its
	// Content-Type (an uploaded document).
	raw     []byte
	rawType string
	// notFound is the code a core 404 not_found becomes for this call.
	notFound services.Code
	// credentials marks operator auth, where 401 bad_credentials is an answer
	// about the user's input rather than about our signature.
	credentials bool
}

// send performs r and decodes a 2xx answer into a T. On error it returns
// the zero T, never a half-decoded value.
func send[T any](ctx context.Context, c *Client, r request) (T, error) {
	var out T
	if err := c.do(ctx, r, &out); err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// do runs one call: deadline, signing, transport, size-limited read, error
// translation, strict decoding into out (nil: ignore the body), Observe.
//
// The call is a client span named after the endpoint, never the path (which
// can hold a person's id): its attributes are the endpoint, method and
// outcome, and on failure the error's code, not its text.
func (c *Client) do(ctx context.Context, r request, out any) error {
	start := time.Now()
	ctx, span := c.tracer.Start(ctx, "core "+r.endpoint, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", r.method), attribute.String("handheld.core.endpoint", r.endpoint)))
	defer span.End()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	outcome, err := c.roundTrip(ctx, r, out)
	if c.observe != nil {
		c.observe(r.endpoint, outcome, time.Since(start))
	}
	if span.IsRecording() {
		span.SetAttributes(attribute.String("handheld.core.outcome", outcome))
		if err != nil {
			span.SetStatus(codes.Error, string(services.ErrorCode(err)))
		}
	}
	return err
}

func (c *Client) roundTrip(ctx context.Context, r request, out any) (string, error) {
	req, err := c.newRequest(ctx, r)
	if err != nil {
		return OutcomeError, services.Errorf(services.CodeInternal, "core %s: building request: %w", r.endpoint, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return transportError(ctx, r.endpoint, err)
	}
	buf := c.bufs.Get().(*bytes.Buffer)
	defer c.putBuffer(buf)
	buf.Reset()
	body, err := readLimited(resp, buf)
	if err != nil {
		return transportError(ctx, r.endpoint, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.statusError(r, resp, body)
	}
	if out == nil {
		return OutcomeOK, nil
	}
	if err := decodeStrict(body, out); err != nil {
		return OutcomeError, services.Errorf(services.CodeCoreUnavailable, "core %s: malformed %d answer: %w", r.endpoint, resp.StatusCode, err)
	}
	return OutcomeOK, nil
}

// newRequest builds and signs the HTTP request. The signature covers the
// request target as it goes on the wire (req.URL.RequestURI), so whatever
// escaping net/url applies is what the core verifies.
func (c *Client) newRequest(ctx context.Context, r request) (*http.Request, error) {
	body, contentType := r.raw, r.rawType
	if r.raw == nil && r.body != nil {
		contentType = "application/json"
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, err
		}
		body = b
	}
	target := c.base + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, rd)
	if err != nil {
		return nil, err
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	nonce := hex.EncodeToString(raw[:])
	ts := c.now().Unix()
	h := req.Header
	h.Set("Accept", "application/json")
	h.Set("User-Agent", "handheld-core-client")
	if body != nil {
		h.Set("Content-Type", contentType)
	}
	h.Set(HeaderKeyID, c.keyID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderNonce, nonce)
	h.Set(HeaderSignature, Sign(c.secret, r.method, req.URL.RequestURI(), ts, nonce, body))
	if id := services.RequestID(ctx); id != "" && len(id) <= 128 && validHeaderValue(id) {
		h.Set(HeaderRequestID, id)
	}
	// The core is the centre's own: it may join handheld's traces. Not
	// signed: it changes nothing the core does.
	tracing.Inject(ctx, h)
	return req, nil
}

// readLimited reads the whole body (so the connection can be reused) up to
// maxResponseBytes and closes it.
func readLimited(resp *http.Response, buf *bytes.Buffer) ([]byte, error) {
	defer resp.Body.Close()
	if resp.ContentLength > maxResponseBytes {
		return nil, fmt.Errorf("answer of %d bytes exceeds the %d byte limit", resp.ContentLength, maxResponseBytes)
	}
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if n > maxResponseBytes {
		return nil, fmt.Errorf("answer exceeds the %d byte limit", maxResponseBytes)
	}
	return buf.Bytes(), nil
}

func (c *Client) putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBuffer {
		c.bufs.Put(buf)
	}
}

// decodeStrict rejects unknown fields and trailing data: a core that drifts
// from the contract fails loudly in the contract tests instead of silently
// losing a field.
func decodeStrict(body []byte, out any) error {
	if bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		return errors.New("null instead of an object") // would decode as a zero value
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// validHeaderValue accepts printable ASCII only, so a value can never break
// the header block or be rejected by net/http at send time.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
