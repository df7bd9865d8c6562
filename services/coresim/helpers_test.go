package coresim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"handheld/services/core"
)

// testNow is a Tuesday afternoon in Shanghai, far from the maintenance
// window tests use.
var testNow = time.Date(2026, 11, 24, 15, 4, 5, 0, time.FixedZone("CST", 8*3600))

const (
	testKeyID  = "bff-test"
	testSecret = "s3cret-for-tests-only"
)

// clock is an injectable, settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is a simulator served over real HTTP with a signing client.
type harness struct {
	t     *testing.T
	sim   *Sim
	srv   *httptest.Server
	clock *clock
	http  *http.Client
}

type harnessOption func(*Config)

func withFile(t *testing.T) harnessOption {
	return func(c *Config) { c.Path = filepath.Join(t.TempDir(), "coresim.db") }
}

func newHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	clk := &clock{t: testNow}
	cfg := Config{Keys: map[string][]byte{testKeyID: []byte(testSecret)}, Now: clk.Now, Seed: 1, BcryptCost: bcrypt.MinCost}
	for _, o := range opts {
		o(&cfg)
	}
	sim, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	srv := httptest.NewServer(sim.AdminHandler())
	t.Cleanup(func() {
		srv.Close()
		if err := sim.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &harness{t: t, sim: sim, srv: srv, clock: clk, http: srv.Client()}
}

// signing overrides what a request is signed with, for the negative cases.
type signing struct {
	keyID, secret string
	ts            *time.Time
	nonce         string
	signedBody    []byte // sign these bytes instead of the body sent
	unsigned      bool
}

// request sends a signed request and returns the response with its body
// read; a transport error fails the test.
func (h *harness) request(method, path string, body any, sg signing) (*http.Response, []byte) {
	h.t.Helper()
	resp, b, err := h.try(context.Background(), method, path, body, sg)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp, b
}

// try is request without failing on a transport error.
func (h *harness) try(ctx context.Context, method, path string, body any, sg signing) (*http.Response, []byte, error) {
	var raw []byte
	switch v := body.(type) {
	case nil:
	case []byte:
		raw = v
	default:
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return nil, nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, h.srv.URL+path, bytes.NewReader(raw))
	if err != nil {
		return nil, nil, err
	}
	if !sg.unsigned {
		keyID, secret := testKeyID, testSecret
		if sg.keyID != "" {
			keyID = sg.keyID
		}
		if sg.secret != "" {
			secret = sg.secret
		}
		ts := h.clock.Now()
		if sg.ts != nil {
			ts = *sg.ts
		}
		nonce := sg.nonce
		if nonce == "" {
			nonce = newNonce()
		}
		signed := raw
		if sg.signedBody != nil {
			signed = sg.signedBody
		}
		req.Header.Set(core.HeaderKeyID, keyID)
		req.Header.Set(core.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		req.Header.Set(core.HeaderNonce, nonce)
		req.Header.Set(core.HeaderSignature, core.Sign([]byte(secret), method, req.URL.RequestURI(), ts.Unix(), nonce, signed))
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func newNonce() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// get sends a signed GET and decodes a 200 answer into out.
func (h *harness) get(path string, out any) {
	h.t.Helper()
	resp, b := h.request(http.MethodGet, path, nil, signing{})
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		h.t.Fatalf("GET %s: decode: %v", path, err)
	}
}

// wantError checks a non-2xx answer's status and core error code.
func wantError(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	var eb core.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	if resp.StatusCode != status || eb.Code != code {
		t.Fatalf("got %d %q (%s), want %d %q", resp.StatusCode, eb.Code, eb.Message, status, code)
	}
}

// persona finds a demo persona by name.
func (h *harness) persona(name string) Persona {
	h.t.Helper()
	for _, p := range h.sim.Personas() {
		if p.Name == name {
			return p
		}
	}
	h.t.Fatalf("no persona %s", name)
	return Persona{}
}

// personID logs a persona in by real name and returns the core's id.
func (h *harness) personID(name string) string {
	h.t.Helper()
	p := h.persona(name)
	resp, b := h.request(http.MethodPost, core.PathPersonVerify, core.RealNameCheck{Name: p.Name, IDNumber: p.IDNumber}, signing{})
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("verify %s: %d %s", name, resp.StatusCode, b)
	}
	var person core.Person
	if err := json.Unmarshal(b, &person); err != nil {
		h.t.Fatal(err)
	}
	return person.PersonID
}

// path fills one path parameter of a contract path.
func path(tmpl, value string) string {
	for _, p := range []string{"{person_id}", "{unit_code}", "{application_id}"} {
		if i := bytes.Index([]byte(tmpl), []byte(p)); i >= 0 {
			return tmpl[:i] + value + tmpl[i+len(p):]
		}
	}
	return tmpl
}
