// Package e2e boots the real app through bff.New (the same wiring as main)
// against real PostgreSQL and Redis, the core simulator served over HTTP and
// a fake WeChat server, and drives it over HTTP as the clients do. Every
// response is validated against bff/openapi.yaml, and so is every request
// but those a test sends through bad() on purpose.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"golang.org/x/crypto/bcrypt"

	"handheld/bff"
	"handheld/services/coresim"
	"handheld/services/redistest"
	"handheld/services/store/storetest"
	"handheld/services/suite"
	"handheld/services/wechat/wechattest"
)

const coreSecret = "e2e-core-secret-0123456789abcdef0123"

// env is one running handheld with its dependencies.
type env struct {
	t       *testing.T
	stop    func() error // ends Serve as SIGTERM does and returns what Serve returned
	base    string
	app     *bff.App
	sim     *coresim.Sim
	simURL  string
	wechat  *wechattest.Server
	cfg     bff.Config
	logs    *syncBuffer
	openapi validator.Validator
	// offContract is set on the env bad returns: its requests break the
	// contract on purpose and are not validated (their responses are).
	offContract bool
}

// bad returns the env for requests that break bff/openapi.yaml on purpose
// (a field too long, a malformed id, a missing header), which the request
// check would otherwise report.
func (e *env) bad() *env {
	b := *e
	b.offContract = true
	return &b
}

// option adjusts the config before the app starts.
type option func(*bff.Config)

// start boots handheld for one test and stops it at cleanup.
func start(t *testing.T, opts ...option) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())

	sim, err := coresim.Open(ctx, coresim.Config{
		Path:       filepath.Join(t.TempDir(), "coresim.db"),
		Keys:       map[string][]byte{"handheld": []byte(coreSecret)},
		BcryptCost: bcrypt.MinCost, // the demo passwords need no strength here, and -race slows bcrypt tenfold
		// Withdrawals are decided and paid within a second, not minutes.
		ReviewDelay: 400 * time.Millisecond,
		PayoutDelay: 400 * time.Millisecond,
		// Declared bills are collected and paid within a second too.
		CollectDelay: 300 * time.Millisecond,
		SettleDelay:  300 * time.Millisecond,
		Now:          time.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(sim.AdminHandler())
	wx := wechattest.NewServer(t)

	cfg := bff.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Crypto = suite.Env().String() // HANDHELD_CRYPTO=sm runs the suite under SM2, SM3 and SM4
	cfg.DatabaseURL = storetest.PostgresDSN(t)
	cfg.RedisURL = redistest.URL()
	cfg.RedisPrefix = redistest.Prefix(t) // tests run side by side on one Redis
	redistest.Client(t)                   // deletes the test's keys when it ends
	cfg.RedisTimeout = time.Second        // side by side under -race a slow answer is no outage
	cfg.RequestTimeout = 15 * time.Second // nor a machine that stalls for seconds while other packages test
	cfg.CoreURL = simSrv.URL
	cfg.CoreKeyID = "handheld"
	cfg.CoreSecret = coreSecret
	cfg.CoreTimeout = time.Second // the simulator under -race, on 2 cores shared with other packages' tests
	cfg.WeChatSandbox = false
	cfg.WeChatAPIBase = wx.URL
	cfg.WeChatAppID = wx.AppID
	cfg.WeChatAppSecret = wx.AppSecret
	// The reminder rules (issue 19, part 3) are off, so that no test's
	// inbox holds a reminder it did not ask for; remindersOn switches them
	// back on.
	for i := range cfg.Reminders {
		cfg.Reminders[i].Enabled = false
	}
	// The daily report upward (issue 20, part 5) is off too, so that no
	// test's outbox or trail holds reports it did not ask for;
	// dailyReportOn switches it back on.
	cfg.DailyReport.Enabled = false
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	base, app, stop := serve(t, ctx, cancel, cfg, logs)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
		simSrv.Close()
		_ = sim.Close()
		if t.Failed() {
			t.Logf("app logs:\n%s", logs.String())
		}
	})
	return &env{t: t, stop: stop, cfg: cfg, base: base, app: app, sim: sim, simURL: simSrv.URL,
		wechat: wx, logs: logs, openapi: openAPIValidator(t)}
}

// openAPIValidator is the validator for bff/openapi.yaml. Every test shares
// one: building it parses, resolves and checks the whole document, which
// under -race took longer than many tests' requests, and it is safe for
// concurrent use.
func openAPIValidator(t *testing.T) validator.Validator {
	t.Helper()
	v, err := sharedOpenAPIValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var sharedOpenAPIValidator = sync.OnceValues(func() (validator.Validator, error) {
	doc, err := libopenapi.NewDocument(bff.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, fmt.Errorf("openapi: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		var msgs []string
		for _, e := range verrs {
			msgs = append(msgs, fmt.Sprintf("%s: %s", e.Message, e.Reason))
		}
		return nil, fmt.Errorf("openapi document: %s", strings.Join(msgs, "; "))
	}
	return v, nil
})

// response is a finished exchange, body read.
type response struct {
	*http.Response
	body []byte
}

// json decodes the body into v, failing the test on error.
func (r *response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem decodes a problem+json body.
func (r *response) problem(t *testing.T) bff.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json; body %s", ct, r.body)
	}
	var p bff.Problem
	r.json(t, &p)
	return p
}

// do sends a request and validates the response against bff/openapi.yaml
// (documented paths) or checks it is a problem (undocumented ones).
func (e *env) do(method, path string, body any, header http.Header) *response {
	e.t.Helper()
	var rd io.Reader
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range header {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if !e.offContract {
		e.validateRequest(req, raw)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.Header.Get("X-Request-ID") == "" {
		e.t.Errorf("%s %s: no X-Request-ID", method, path)
	}
	e.validate(req, resp, got)
	if resp.StatusCode == http.StatusTooManyRequests {
		e.t.Logf("%s %s refused: %s", method, path, e.logLine(resp.Header.Get("X-Request-ID")))
	}
	return &response{Response: resp, body: got}
}

// logLine is the app's log line that mentions id (a request's access-log
// line names the policy that refused it), or "" when there is none yet.
func (e *env) logLine(id string) string {
	for line := range strings.Lines(e.logs.String()) {
		if id != "" && strings.Contains(line, id) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// validateRequest checks a request the test means to be valid against the
// OpenAPI document, so the e2e suite never passes on input a client
// following the contract could not send. A request to an undocumented path
// is the response check's matter.
func (e *env) validateRequest(req *http.Request, body []byte) {
	e.t.Helper()
	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(body))
	ok, errs := e.openapi.ValidateHttpRequest(check)
	if ok {
		return
	}
	for _, ve := range errs {
		if ve.ValidationType == "path" {
			continue
		}
		e.t.Errorf("%s %s: request does not match openapi.yaml (send it through e.bad() if that is the point): %s (%s) %v",
			req.Method, req.URL.Path, ve.Message, ve.Reason, schemaErrors(ve.SchemaValidationErrors))
	}
}

// validate checks a response against the OpenAPI document.
func (e *env) validate(req *http.Request, resp *http.Response, body []byte) {
	e.t.Helper()
	check := &http.Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)), Request: req}
	ok, errs := e.openapi.ValidateHttpResponse(req, check)
	if ok {
		return
	}
	for _, ve := range errs {
		if ve.ValidationType == "path" && resp.StatusCode >= 400 {
			// An undocumented path: it must still answer with a problem.
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
				e.t.Errorf("%s %s: %d without problem+json", req.Method, req.URL.Path, resp.StatusCode)
			}
			continue
		}
		e.t.Errorf("%s %s → %d does not match openapi.yaml: %s (%s) %v", req.Method, req.URL.Path, resp.StatusCode, ve.Message, ve.Reason, schemaErrors(ve.SchemaValidationErrors))
	}
}

func schemaErrors[T any](errs []T) string {
	var parts []string
	for _, e := range errs {
		b, _ := json.Marshal(e)
		parts = append(parts, string(b))
	}
	return strings.Join(parts, "; ")
}

// syncBuffer collects the app's logs for failure reports and the
// no-personal-data check.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// setFaults changes the simulator's faults mid-test over its admin API.
func (e *env) setFaults(spec string) {
	e.t.Helper()
	req, _ := http.NewRequest("PUT", e.simURL+"/_sim/faults", strings.NewReader(spec))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		e.t.Fatalf("PUT /_sim/faults %q: %d", spec, resp.StatusCode)
	}
}

// serve builds an app from cfg and serves it on a free port until stop.
func serve(t *testing.T, ctx context.Context, cancel context.CancelFunc, cfg bff.Config, logs *syncBuffer) (string, *bff.App, func() error) {
	t.Helper()
	app, err := bff.New(ctx, cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			serveErr = <-done
		})
		return serveErr
	}
	return "http://" + ln.Addr().String(), app, stop
}

// replica starts a second handheld on the same configuration: the same
// PostgreSQL, Redis, core, keys and secrets, as a second replica behind a
// load balancer. It returns an env that talks to the replica.
func (e *env) replica() *env {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	base, app, stop := serve(e.t, ctx, cancel, e.cfg, logs)
	e.t.Cleanup(func() {
		if err := stop(); err != nil {
			e.t.Errorf("replica: %v", err)
		}
	})
	r := *e
	r.base, r.app, r.stop, r.logs = base, app, stop, logs
	return &r
}
