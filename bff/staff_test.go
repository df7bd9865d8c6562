package bff

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"handheld/bff/staffsite"
)

// staffApp is the embedded app with its demo staff member.
func staffApp(t *testing.T) *App {
	t.Helper()
	cfg, err := LoadConfig(map[string]string{"HANDHELD_DATA_DIR": t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

type staffClient struct {
	t       *testing.T
	a       *App
	cookies map[string]*http.Cookie
}

func (c *staffClient) do(method, target string, form url.Values, hdr map[string]string) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.a.http.Test(req, 30_000)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// loginForm opens the sign-in page and returns its CSRF token.
func (c *staffClient) loginForm() string {
	c.t.Helper()
	resp, body := c.do("GET", "/staff/login", nil, nil)
	if resp.StatusCode != 200 {
		c.t.Fatalf("login page: %d", resp.StatusCode)
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatal("no csrf field on the sign-in page")
	}
	return m[1]
}

func TestStaffPagesAttacks(t *testing.T) {
	a := staffApp(t)
	c := &staffClient{t: t, a: a, cookies: map[string]*http.Cookie{}}

	// No cookie: the page sends to sign-in, the export answers 401.
	resp, _ := c.do("GET", "/staff/dashboard", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/login" {
		t.Errorf("no cookie: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := c.do("GET", "/staff/dashboard.csv?section=services", nil, nil)
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("Content-Type"), "problem+json") {
		t.Errorf("no cookie on the export: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// A forged cookie: the same, and the cookie is cleared.
	c.cookies[staffsite.SessionCookie] = &http.Cookie{Name: staffsite.SessionCookie, Value: strings.Repeat("A", 43)}
	resp, _ = c.do("GET", "/staff/dashboard", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/staff/login") {
		t.Errorf("forged cookie: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, ok := c.cookies[staffsite.SessionCookie]; ok {
		t.Error("forged cookie not cleared")
	}
	// A bearer token never opens the pages.
	resp, _ = c.do("GET", "/staff/dashboard", nil, map[string]string{"Authorization": "Bearer eyJhbGciOiJFZERTQSJ9.e30.sig"})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("bearer on the dashboard: %d", resp.StatusCode)
	}

	// The sign-in page: strict CSP, a pre-session cookie HttpOnly and Strict.
	resp, _ = c.do("GET", "/staff/login", nil, nil)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	pre := c.cookies[staffsite.PreCookie]
	if pre == nil || !pre.HttpOnly || pre.SameSite != http.SameSiteStrictMode || pre.Path != "/staff" {
		t.Errorf("pre-session cookie %+v", pre)
	}

	// CSRF: missing, wrong, or another site's form → 403.
	csrf := c.loginForm()
	good := url.Values{"staff_id": {DemoStaffID}, "password": {DemoStaffPassword}}
	resp, body = c.do("POST", "/staff/login", good, nil)
	if resp.StatusCode != 403 || !strings.Contains(body, "<html") {
		t.Errorf("no csrf: %d", resp.StatusCode)
	}
	withCSRF := func(v url.Values, token string) url.Values {
		out := url.Values{"csrf": {token}}
		for k, x := range v {
			out[k] = x
		}
		return out
	}
	if resp, _ = c.do("POST", "/staff/login", withCSRF(good, csrf+"x"), nil); resp.StatusCode != 403 {
		t.Errorf("wrong csrf: %d", resp.StatusCode)
	}
	if resp, _ = c.do("POST", "/staff/login", withCSRF(good, csrf), map[string]string{"Sec-Fetch-Site": "cross-site"}); resp.StatusCode != 403 {
		t.Errorf("cross-site form: %d", resp.StatusCode)
	}
	if resp, _ = c.do("POST", "/staff/login", withCSRF(good, csrf), map[string]string{"Origin": "https://evil.example"}); resp.StatusCode != 403 {
		t.Errorf("foreign origin: %d", resp.StatusCode)
	}

	// Wrong password and unknown id: the same answer, word for word.
	bad := url.Values{"staff_id": {DemoStaffID}, "password": {"Wrong-password-1"}}
	resp, wrongBody := c.do("POST", "/staff/login", withCSRF(bad, c.loginForm()), nil)
	unknown := url.Values{"staff_id": {"no-such-staff"}, "password": {"Wrong-password-1"}}
	resp2, unknownBody := c.do("POST", "/staff/login", withCSRF(unknown, c.loginForm()), nil)
	strip := regexp.MustCompile(`value="[^"]*"`)
	if resp.StatusCode != 401 || resp2.StatusCode != 401 || strip.ReplaceAllString(wrongBody, "") != strip.ReplaceAllString(unknownBody, "") {
		t.Errorf("wrong password %d and unknown id %d answer differently", resp.StatusCode, resp2.StatusCode)
	}

	// Session fixation: a session cookie planted before sign-in is replaced.
	planted := strings.Repeat("B", 43)
	c.cookies[staffsite.SessionCookie] = &http.Cookie{Name: staffsite.SessionCookie, Value: planted}
	resp, _ = c.do("POST", "/staff/login", withCSRF(good, c.loginForm()), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/dashboard" {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	sess := c.cookies[staffsite.SessionCookie]
	if sess == nil || sess.Value == planted || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/staff" || sess.Secure {
		t.Fatalf("session cookie %+v", sess)
	}
	if _, ok := c.cookies[staffsite.PreCookie]; ok {
		t.Error("pre-session cookie kept after sign-in")
	}

	// The dashboard, its filters and its export.
	resp, body = c.do("GET", "/staff/dashboard", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "服务监管看板") || strings.Contains(body, "<script") {
		t.Fatalf("dashboard: %d", resp.StatusCode)
	}
	if !strings.Contains(body, "暂无依赖方核验记录") {
		t.Error("the shares panel does not show zero")
	}
	today := time.Now().In(time.FixedZone("CST", 8*3600))
	for _, q := range []string{"from=2020-01-01&to=2020-12-31", "to=" + today.AddDate(0, 0, 1).Format(time.DateOnly),
		"from=" + today.Format(time.DateOnly) + "&to=" + today.AddDate(0, 0, -1).Format(time.DateOnly), "from=yesterday"} {
		resp, body = c.do("GET", "/staff/dashboard?"+q, nil, nil)
		if resp.StatusCode != 400 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("dashboard?%s: %d %s", q, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		resp, _ = c.do("GET", "/staff/dashboard.csv?section=services&"+q, nil, nil)
		if resp.StatusCode != 400 || !strings.Contains(resp.Header.Get("Content-Type"), "problem+json") {
			t.Errorf("dashboard.csv?%s: %d %s", q, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	if resp, _ = c.do("GET", "/staff/dashboard.csv?section=passwords", nil, nil); resp.StatusCode != 400 {
		t.Errorf("unknown section: %d", resp.StatusCode)
	}
	resp, body = c.do("GET", "/staff/dashboard.csv?section=services&lang=en", nil, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "\ufeffService,Total,") ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="handheld-services-`) {
		t.Errorf("export: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}

	// The staff cookie does not open the API.
	resp, _ = c.do("GET", "/api/v1/me/home", nil, nil)
	if resp.StatusCode != 401 {
		t.Errorf("staff cookie on /api/v1/me/home: %d", resp.StatusCode)
	}
	// Sign out needs the form token.
	if resp, _ = c.do("POST", "/staff/logout", url.Values{}, nil); resp.StatusCode != 403 {
		t.Errorf("logout without csrf: %d", resp.StatusCode)
	}
	_, body = c.do("GET", "/staff/dashboard", nil, nil)
	token := csrfField.FindStringSubmatch(body)
	if token == nil {
		t.Fatal("no csrf on the dashboard")
	}
	if resp, _ = c.do("POST", "/staff/logout", url.Values{"csrf": {token[1]}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	c.cookies[staffsite.SessionCookie] = sess
	if resp, _ = c.do("GET", "/staff/dashboard", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the old cookie after logout: %d", resp.StatusCode)
	}
}

func TestStaffLockout(t *testing.T) {
	a := staffApp(t)
	c := &staffClient{t: t, a: a, cookies: map[string]*http.Cookie{}}
	var last *http.Response
	for range 5 {
		csrf := c.loginForm()
		last, _ = c.do("POST", "/staff/login", url.Values{"csrf": {csrf}, "staff_id": {DemoStaffID}, "password": {"Wrong-password-1"}}, nil)
	}
	if last.StatusCode != http.StatusLocked || last.Header.Get("Retry-After") == "" {
		t.Fatalf("fifth failure: %d", last.StatusCode)
	}
	resp, _ := c.do("POST", "/staff/login", url.Values{"csrf": {c.loginForm()}, "staff_id": {DemoStaffID}, "password": {DemoStaffPassword}}, nil)
	// Locked, or refused by the login class's limit on this address
	// before the lock is even asked: either way not in.
	if resp.StatusCode != http.StatusLocked && resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right password while locked: %d", resp.StatusCode)
	}
}
