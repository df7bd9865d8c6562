package core_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"golang.org/x/crypto/bcrypt"

	"handheld/services/core"
	"handheld/services/coresim"
)

// harness is the simulator served over real HTTP on loopback, and a client
// for it whose transport checks every request and answer against
// openapi.yaml: the contract tests prove the client, the simulator and the
// published document agree, not just that the client and the simulator do.
type harness struct {
	sim    *coresim.Sim
	srv    *httptest.Server
	client *core.Client
	clock  *clock
	secret []byte
	seen   *validatingTransport
}

// clock is a settable clock shared by the simulator and the client, so
// seeded data, signature windows and maintenance are deterministic.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// shanghai is the centre's zone; a fixed offset is enough for tests and
// needs no tzdata.
func shanghai() *time.Location { return time.FixedZone("CST", 8*3600) }

// simConfig adjusts the simulator's Config before Open.
type simConfig func(*coresim.Config)

// newHarness opens a fresh in-memory simulator seeded with the demo data.
// The clock starts on a working-day morning, outside any night window.
func newHarness(tb testing.TB, opts ...simConfig) *harness {
	tb.Helper()
	clk := &clock{t: time.Date(2025, 6, 16, 10, 0, 0, 0, shanghai())}
	secret := []byte("contract-secret-contract-secret!")
	// The demo operators' passwords need no strength here, and -race slows
	// bcrypt tenfold: at the default cost, hashing them was most of a
	// harness's start.
	cfg := coresim.Config{Keys: map[string][]byte{"bff": secret}, Now: clk.Now, BcryptCost: bcrypt.MinCost}
	for _, o := range opts {
		o(&cfg)
	}
	sim, err := coresim.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("coresim.Open: %v", err)
	}
	srv := httptest.NewServer(sim.AdminHandler())
	tb.Cleanup(func() {
		srv.Close()
		sim.Close()
	})
	h := &harness{sim: sim, srv: srv, clock: clk, secret: secret}
	h.seen = newValidatingTransport(tb, http.DefaultTransport)
	h.client = h.newClient(tb, nil)
	return h
}

// newClient builds another client for the harness's simulator; tweak may
// change its config (another secret, a shorter timeout, an Observe hook).
func (h *harness) newClient(tb testing.TB, tweak func(*core.ClientConfig)) *core.Client {
	tb.Helper()
	cfg := core.ClientConfig{
		BaseURL:    h.srv.URL,
		KeyID:      "bff",
		Secret:     h.secret,
		HTTPClient: &http.Client{Transport: h.seen},
		Timeout:    5 * time.Second,
		Now:        h.clock.Now,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := core.NewClient(cfg)
	if err != nil {
		tb.Fatalf("NewClient: %v", err)
	}
	return c
}

// setFaults turns the simulator's fault knob over HTTP, as an operator or a
// fault-injection run would.
func (h *harness) setFaults(tb testing.TB, spec string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPut, h.srv.URL+"/_sim/faults", strings.NewReader(spec))
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("PUT /_sim/faults: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		tb.Fatalf("PUT /_sim/faults %q: %d %s", spec, resp.StatusCode, body)
	}
}

// validatingTransport validates each exchange against openapi.yaml and
// remembers the last X-Request-ID the core echoed.
type validatingTransport struct {
	tb   testing.TB
	next http.RoundTripper
	v    validator.Validator

	mu          sync.Mutex
	exchanges   int
	lastEchoRID string
}

func newValidatingTransport(tb testing.TB, next http.RoundTripper) *validatingTransport {
	tb.Helper()
	v, err := coreOpenAPIValidator()
	if err != nil {
		tb.Fatal(err)
	}
	return &validatingTransport{tb: tb, next: next, v: v}
}

// coreOpenAPIValidator is built once per test binary and shared by every
// harness: building it parses and resolves the whole document, and it is
// safe for concurrent use.
var coreOpenAPIValidator = sync.OnceValues(func() (validator.Validator, error) {
	doc, err := libopenapi.NewDocument(core.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, fmt.Errorf("openapi.yaml validator: %v", errs)
	}
	return v, nil
})

func (t *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.GetBody != nil {
		rc, err := req.GetBody()
		if err == nil {
			reqBody, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err // no answer (down, timeout): nothing to validate
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))

	// Validate copies, so the client still reads the real thing.
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	vresp := *resp
	vresp.Body = io.NopCloser(bytes.NewReader(body))
	if ok, verrs := t.v.ValidateHttpRequestResponse(vreq, &vresp); !ok {
		for _, e := range verrs {
			t.tb.Errorf("openapi.yaml disagrees with %s %s → %d: %s", req.Method, req.URL.Path, resp.StatusCode, describe(e))
		}
	}
	t.mu.Lock()
	t.exchanges++
	t.lastEchoRID = resp.Header.Get(core.HeaderRequestID)
	t.mu.Unlock()
	return resp, nil
}

func (t *validatingTransport) lastRequestID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastEchoRID
}

func describe(e *verrors.ValidationError) string {
	s := e.Message + ": " + e.Reason
	for _, f := range e.SchemaValidationErrors {
		s += fmt.Sprintf("; %s: %s", f.FieldPath, f.Reason)
	}
	return s
}
