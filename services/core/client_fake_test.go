package core

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// testSecret is long enough for NewClient and obviously not a real key.
const testSecret = "test-secret-test-secret-test-sec"

// seen is what the fake core received, copied out of the request.
type seen struct {
	Method     string
	RequestURI string
	Header     http.Header
	Body       []byte
	SigOK      bool
}

// fakeCore is a hand-written stand-in for the core: it records each request,
// checks its signature with the contract's VerifySignature, and answers with
// whatever the test's respond func writes.
type fakeCore struct {
	srv     *httptest.Server
	now     time.Time
	respond func(w http.ResponseWriter, r *http.Request)

	mu   sync.Mutex
	reqs []seen
}

func newFakeCore(t *testing.T, respond func(w http.ResponseWriter, r *http.Request)) *fakeCore {
	t.Helper()
	f := &fakeCore{now: time.Unix(1_750_000_000, 0), respond: respond}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeCore) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts, _ := strconv.ParseInt(r.Header.Get(HeaderTimestamp), 10, 64)
	ok := r.Header.Get(HeaderKeyID) == "bff" && VerifySignature([]byte(testSecret), r.Method, r.URL.RequestURI(), ts,
		r.Header.Get(HeaderNonce), body, r.Header.Get(HeaderSignature), f.now)
	f.mu.Lock()
	f.reqs = append(f.reqs, seen{Method: r.Method, RequestURI: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body, SigOK: ok})
	f.mu.Unlock()
	f.respond(w, r)
}

func (f *fakeCore) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// observation is one call of ClientConfig.Observe.
type observation struct{ endpoint, outcome string }

// recorder collects Observe calls; safe for concurrent use.
type recorder struct {
	mu  sync.Mutex
	obs []observation
}

func (r *recorder) observe(endpoint, outcome string, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.obs = append(r.obs, observation{endpoint, outcome})
}

func (r *recorder) all() []observation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]observation(nil), r.obs...)
}

// newTestClient builds a client for f whose clock is the fake's, so the
// fake's signature check can use a fixed instant.
func newTestClient(t *testing.T, f *fakeCore, tweak ...func(*ClientConfig)) (*Client, *recorder) {
	t.Helper()
	rec := &recorder{}
	cfg := ClientConfig{
		BaseURL: f.srv.URL,
		KeyID:   "bff",
		Secret:  []byte(testSecret),
		Timeout: 5 * time.Second,
		Now:     func() time.Time { return f.now },
		Observe: rec.observe,
	}
	for _, fn := range tweak {
		fn(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, rec
}

// answer writes a JSON answer with a status.
func answer(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}
