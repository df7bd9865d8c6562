package agent

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/bff/auth"
	"handheld/services/identity"
)

// upstream is a fake handheld: it signs devices in (checking the
// signature as identity does), answers the screen with what it received,
// and can be told to refuse a token.
type upstream struct {
	t        *testing.T
	pub      ed25519.PublicKey
	ttl      int
	mu       sync.Mutex
	sessions int
	refuse   map[string]bool
	seen     []*http.Request
	bodies   []string
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if r.URL.Path == SessionPath {
		sig, _ := base64.StdEncoding.DecodeString(r.Header.Get(auth.HeaderSignature))
		msg := identity.DeviceMessage(r.Method, r.URL.Path, r.Header.Get(auth.HeaderTimestamp), r.Header.Get(auth.HeaderNonce), nil)
		if r.Method != http.MethodPost || r.Header.Get(auth.HeaderDevice) != "kiosk-t" || !ed25519.Verify(u.pub, msg, sig) {
			w.WriteHeader(401)
			_, _ = io.WriteString(w, `{"code":"auth.device_signature"}`)
			return
		}
		u.sessions++
		fmt.Fprintf(w, `{"access_token":"devtok-%d","token_type":"Bearer","expires_in":%d}`, u.sessions, u.ttl)
		return
	}
	b, _ := io.ReadAll(r.Body)
	u.seen = append(u.seen, r.Clone(r.Context()))
	u.bodies = append(u.bodies, string(b))
	if u.refuse[r.Header.Get("Authorization")] {
		w.Header().Set("WWW-Authenticate", `Bearer `+DeviceRealm+`, error="invalid_token"`)
		w.WriteHeader(401)
		return
	}
	if r.URL.Path == "/kiosk/sign-in" && strings.Contains(string(b), "face=wrong") {
		w.WriteHeader(401) // the citizen's refusal: no challenge
		return
	}
	_, _ = io.WriteString(w, "page for "+r.URL.Path)
}

func (u *upstream) last() *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		return nil
	}
	return u.seen[len(u.seen)-1]
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func setup(t *testing.T) (*upstream, *clock, *httptest.Server, *bytes.Buffer) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(nil)
	up := &upstream{t: t, pub: pub, ttl: 3600, refuse: map[string]bool{}}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	clk := &clock{t: time.Now()}
	logs := &bytes.Buffer{}
	a, err := New(Config{Device: "kiosk-t", Key: priv, Upstream: u, ScreenPath: "/kiosk/", Now: clk.now,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(a.Handler())
	t.Cleanup(front.Close)
	return up, clk, front, logs
}

func get(t *testing.T, front *httptest.Server, path string, header map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", front.URL+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestProxyAddsDeviceTokenAndStripsBrowserCredentials(t *testing.T) {
	up, _, front, logs := setup(t)
	resp := get(t, front, "/kiosk/home?lang=en", map[string]string{
		"Authorization":    "Bearer stolen-or-forged",
		auth.HeaderDevice:  "kiosk-other",
		"Cookie":           "hh_kiosk_citizen=cit; tracker=abc; session=xyz",
		"X-Forwarded-Host": "evil.example",
	})
	if resp.StatusCode != 200 {
		t.Fatalf("%d", resp.StatusCode)
	}
	r := up.last()
	if got := r.Header.Get("Authorization"); got != "Bearer devtok-1" {
		t.Fatalf("upstream Authorization %q", got)
	}
	if r.Header.Get(auth.HeaderDevice) != "" {
		t.Error("browser's device header passed")
	}
	if c := r.Header.Get("Cookie"); c != "hh_kiosk_citizen=cit" {
		t.Errorf("cookies upstream %q", c)
	}
	if h := r.Header.Get("X-Forwarded-Host"); h != strings.TrimPrefix(front.URL, "http://") {
		t.Errorf("X-Forwarded-Host %q", h)
	}
	if r.Header.Get("X-Forwarded-Proto") != "http" || r.URL.RawQuery != "lang=en" {
		t.Errorf("proto %q query %q", r.Header.Get("X-Forwarded-Proto"), r.URL.RawQuery)
	}
	// The token is cached: one session for many pages.
	get(t, front, "/kiosk/account", nil)
	if up.sessions != 1 {
		t.Fatalf("%d sessions", up.sessions)
	}
	if strings.Contains(logs.String(), "devtok") {
		t.Fatal("a token in the logs")
	}
}

func TestNeverProxiesOutsideTheScreen(t *testing.T) {
	up, _, front, _ := setup(t)
	for _, p := range []string{"/api/v1/me/home", "/api/v1/kiosk/session", "/kiosk", "/kioskx/", "/kiosk/../api/v1/me/home",
		"/kiosk/%2e%2e/api/v1/me/home", "/kiosk/..%2fapi/v1/me", "/kiosk//api", "/kiosk/%5c..%5capi", "/metrics", "/verify/ABC"} {
		resp := get(t, front, p, nil)
		if resp.StatusCode != 404 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	if len(up.seen) != 0 || up.sessions != 0 {
		t.Fatalf("reached upstream: %d requests", len(up.seen))
	}
	if resp := get(t, front, "/", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/kiosk/" {
		t.Fatalf("/ → %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestRenewsBeforeExpiryAndOnRefusal(t *testing.T) {
	up, clk, front, _ := setup(t)
	get(t, front, "/kiosk/", nil)
	clk.add(50 * time.Minute) // before the renewal point of a 1 h token (55 min)
	get(t, front, "/kiosk/", nil)
	if up.sessions != 1 {
		t.Fatalf("renewed too early: %d", up.sessions)
	}
	clk.add(6 * time.Minute) // 56 min: within the last five
	get(t, front, "/kiosk/", nil)
	if up.sessions != 2 || up.last().Header.Get("Authorization") != "Bearer devtok-2" {
		t.Fatalf("not renewed before expiry: %d %q", up.sessions, up.last().Header.Get("Authorization"))
	}
	// handheld refuses the token (revoked): a new session, and the same
	// request, form body and all, goes again with it.
	up.mu.Lock()
	up.refuse["Bearer devtok-2"] = true
	up.mu.Unlock()
	resp, err := http.Post(front.URL+"/kiosk/certificates", "application/x-www-form-urlencoded", strings.NewReader("form_token=x&purpose=bank"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || up.sessions != 3 || up.last().Header.Get("Authorization") != "Bearer devtok-3" {
		t.Fatalf("%d sessions %d auth %q", resp.StatusCode, up.sessions, up.last().Header.Get("Authorization"))
	}
	if up.bodies[len(up.bodies)-1] != "form_token=x&purpose=bank" {
		t.Fatalf("retried body %q", up.bodies[len(up.bodies)-1])
	}
	// A citizen's refusal is passed on as it is, never sent twice.
	n := len(up.bodies)
	resp, _ = http.Post(front.URL+"/kiosk/sign-in", "application/x-www-form-urlencoded", strings.NewReader("face=wrong"))
	resp.Body.Close()
	if resp.StatusCode != 401 || len(up.bodies) != n+1 || up.sessions != 3 {
		t.Fatalf("citizen refusal: %d, %d requests, %d sessions", resp.StatusCode, len(up.bodies)-n, up.sessions)
	}
	// An oversize body never leaves the kiosk.
	resp, _ = http.Post(front.URL+"/kiosk/sign-in", "text/plain", strings.NewReader(strings.Repeat("x", maxBody+1)))
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("oversize: %d", resp.StatusCode)
	}
}

func TestUpstreamDownIsAPlainPage(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	u, _ := url.Parse("http://127.0.0.1:1")
	a, err := New(Config{Device: "kiosk-t", Key: priv, Upstream: u})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/kiosk/", nil))
	if rec.Code != 502 || !strings.Contains(rec.Body.String(), "try again") {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
	for _, bad := range []Config{{Key: priv, Upstream: u}, {Device: "k", Upstream: u}, {Device: "k", Key: priv},
		{Device: "k", Key: priv, Upstream: &url.URL{Scheme: "http", Host: "h", Path: "/prefix"}},
		{Device: "k", Key: priv, Upstream: u, ScreenPath: "/api/v1/"}} {
		if _, err := New(bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}
