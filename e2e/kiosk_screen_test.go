package e2e

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"handheld/bff"
	"handheld/bff/kiosk/agent"
	"handheld/bff/kiosk/screen"
	"handheld/services/store"
)

// kioskBrowser is the kiosk's browser: it reaches the screen only through
// the demo kiosk's agent, keeps cookies, and sends forms as a browser
// does (same origin).
type kioskBrowser struct {
	t      *testing.T
	base   string // the agent's address, http://127.0.0.1:port
	client *http.Client
	prints string // the kiosk printer's output: <job id>.pdf
}

// startKioskAgent runs the demo kiosk's agent in front of e, as `handheld
// serve` does on the embedded profile.
func startKioskAgent(t *testing.T, e *env) *kioskBrowser {
	t.Helper()
	up, _ := url.Parse(e.base)
	a, err := agent.New(agent.Config{Device: bff.DemoKioskID, Key: bff.DemoKioskKey(), Upstream: up, ScreenPath: "/kiosk/",
		Logger: slog.New(slog.NewJSONHandler(e.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	// The kiosk's printer: the device's queue, into a directory.
	prints := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	printer := &agent.Printer{Base: e.base, Token: a.Token, Sink: agent.DirSink{Dir: prints}, Interval: time.Second, // the queue polls count under the device's read limit, as the screen's own pages do
		Logger: slog.New(slog.NewJSONHandler(e.logs, nil))}
	done := make(chan struct{})
	go func() { defer close(done); _ = printer.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = srv.Shutdown(context.Background())
	})
	jar, _ := cookiejar.New(nil)
	return &kioskBrowser{t: t, base: "http://" + ln.Addr().String(), client: &http.Client{Jar: jar, Timeout: 20 * time.Second}, prints: prints}
}

// screenPage is a screen answer after redirects: where it ended and what it says.
type screenPage struct {
	status int
	path   string
	body   string
}

func (b *kioskBrowser) send(req *http.Request) screenPage {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if csp := resp.Header.Get("Content-Security-Policy"); strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") && csp != screen.Security {
		b.t.Errorf("%s: CSP %q", resp.Request.URL.Path, csp)
	}
	return screenPage{status: resp.StatusCode, path: resp.Request.URL.RequestURI(), body: string(body)}
}

func (b *kioskBrowser) get(path string) screenPage {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	req.Header.Set("Accept-Language", "en")
	return b.send(req)
}

// post sends a form from the screen's own page, with the token that page
// carried.
func (b *kioskBrowser) post(path string, from screenPage, form url.Values) screenPage {
	b.t.Helper()
	form.Set("form_token", field(b.t, from.body, `name="form_token" value="([^"]+)"`))
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	req.Header.Set("Accept-Language", "en")
	return b.send(req)
}

// waitPrinted follows a print's status page until the kiosk's printer has
// printed it, and checks the PDF it printed.
func (b *kioskBrowser) waitPrinted(id string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p := b.get("/kiosk/print/" + id)
		if strings.Contains(p.body, "Printed: please take the paper") {
			break
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("print %s never printed:\n%s", id, p.body)
		}
		time.Sleep(300 * time.Millisecond)
	}
	pdf, err := os.ReadFile(filepath.Join(b.prints, id+".pdf"))
	if err != nil || !strings.HasPrefix(string(pdf), "%PDF") {
		b.t.Fatalf("printed file: %v", err)
	}
}

// field is the first submatch of pattern in a page.
func field(t *testing.T, body, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in:\n%s", pattern, body)
	}
	return m[1]
}

func wantPage(t *testing.T, p screenPage, status int, path string, texts ...string) {
	t.Helper()
	if p.status != status || !strings.HasPrefix(p.path, path) {
		t.Fatalf("%d %s, want %d %s:\n%s", p.status, p.path, status, path, p.body)
	}
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Fatalf("%s lacks %q:\n%s", p.path, s, p.body)
		}
	}
}

// The "done when" on the screen, through the real app and the
// demo kiosk's agent: sign in by face, home, issue a certificate and rate
// it, apply for a withdrawal the kiosk offers, rate it once paid, and be
// signed out after the idle time.
func TestKioskScreenThroughTheAgent(t *testing.T) {
	e := start(t, func(c *bff.Config) {
		c.KioskIdle = 4 * time.Second
		c.RevocationCache = 0
	})
	b := startKioskAgent(t, e)
	db, err := store.Open(t.Context(), e.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Without the agent the screen is the plain 401 page.
	direct, err := http.Get(e.base + "/kiosk/")
	if err != nil {
		t.Fatal(err)
	}
	direct.Body.Close()
	if direct.StatusCode != 401 || !strings.HasPrefix(direct.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("direct: %d %s", direct.StatusCode, direct.Header.Get("Content-Type"))
	}

	signIn := b.get("/")
	wantPage(t, signIn, 200, "/kiosk/", "Sign in with your face", `data-read-aloud="Hello, please sign in.`)
	wrong := b.post("/kiosk/sign-in", signIn, url.Values{"name": {"李娜"}, "id_number": {"330105199007212626"}, "face_token": {"face:demo-zhangwei"}})
	wantPage(t, wrong, 401, "/kiosk/sign-in", "could not recognise you")
	home := b.post("/kiosk/sign-in", signIn, url.Values{"name": {"李娜"}, "id_number": {"330105199007212626"}, "face_token": {"face:demo-lina"}})
	wantPage(t, home, 200, "/kiosk/home", "Hello, 李*!", "Balance", `content="4;url=/kiosk/logout?reason=idle"`, "I need more time")
	if strings.Contains(home.body, "330105199007212626") {
		t.Fatal("the full ID number on the page")
	}

	// A deposit-and-use certificate, finished at once: rated on the spot.
	certs := b.get("/kiosk/certificates")
	wantPage(t, certs, 200, "/kiosk/certificates", "Get a new certificate")
	rate := b.post("/kiosk/certificates", certs, url.Values{"purpose": {`<script>alert("x")</script> bank loan`}})
	wantPage(t, rate, 200, "/kiosk/cases/", "Your certificate is ready", "How satisfied are you")
	certID := field(t, rate.path, `^/kiosk/cases/([^/]+)/rate`)
	done := b.post("/kiosk/cases/"+certID+"/rate", rate, url.Values{"level": {"5"}, "comment": {"很方便 <b>quick</b>"}})
	wantPage(t, done, 200, "/kiosk/cases?rated=1", "Thank you for your rating!", "Your rating: Very satisfied")
	again := b.post("/kiosk/cases/"+certID+"/rate", rate, url.Values{"level": {"1"}})
	wantPage(t, again, 409, "/kiosk/cases/", "rated this already")
	// Printed at this kiosk: the certificate, then a deposit statement.
	job := b.post("/kiosk/print", rate, url.Values{"document": {"certificate"}, "certificate_id": {certID},
		"form_id": {field(t, rate.body, `name="form_id" value="([^"]+)"`)}})
	wantPage(t, job, 200, "/kiosk/print/", "Printing")
	b.waitPrinted(field(t, job.path, `^/kiosk/print/([^/?]+)`))
	choose := b.get("/kiosk/print")
	statement := b.post("/kiosk/print", choose, url.Values{"document": {"deposit_statement"},
		"from": {field(t, choose.body, `name="from" type="month" value="([^"]+)"`)}, "to": {field(t, choose.body, `name="to" type="month" value="([^"]+)"`)},
		"form_id": {field(t, choose.body, `name="form_id" value="([^"]+)"`)}})
	wantPage(t, statement, 200, "/kiosk/print/", "Deposit statement")
	b.waitPrinted(field(t, statement.path, `^/kiosk/print/([^/?]+)`))

	var level int
	var channel string
	if err := db.QueryRow(t.Context(), `SELECT level, channel FROM ratings WHERE case_id = $1`, certID).Scan(&level, &channel); err != nil ||
		level != 5 || channel != "kiosk" {
		t.Fatalf("ratings row: %d %q %v", level, channel, err)
	}

	// Withdrawals the kiosk offers: rent yes, purchase (needs documents) not shown.
	kinds := b.get("/kiosk/withdrawals")
	wantPage(t, kinds, 200, "/kiosk/withdrawals", "Rent withdrawal", "You can apply")
	if strings.Contains(kinds.body, "Home purchase withdrawal") {
		t.Fatal("a kind needing documents offered at the kiosk")
	}
	form := b.get("/kiosk/withdrawals/rent")
	wantPage(t, form, 200, "/kiosk/withdrawals/rent", "Send application")
	apply := url.Values{"amount_yuan": {"1500"}, "form_id": {field(t, form.body, `name="form_id" value="([^"]+)"`)},
		"payout_account": {field(t, form.body, `name="payout_account" value="([^"]+)"`)}}
	applied := b.post("/kiosk/withdrawals/rent", form, apply)
	wantPage(t, applied, 200, "/kiosk/cases?applied=", "Your application was sent")
	wdID := field(t, applied.path, `applied=([^&]+)`)
	// Pressing the button again applies once.
	twice := b.post("/kiosk/withdrawals/rent", form, apply)
	wantPage(t, twice, 200, "/kiosk/cases?applied="+wdID)
	var n int
	if err := db.QueryRow(t.Context(), `SELECT COUNT(*) FROM withdrawals`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d withdrawals (%v)", n, err)
	}
	// Once paid it is rated like the certificate (the page polls every
	// second: each look is a touch, within the idle time).
	deadline := time.Now().Add(15 * time.Second)
	for {
		cases := b.get("/kiosk/cases")
		if strings.Contains(cases.body, `/kiosk/cases/`+wdID+`/rate`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the withdrawal was never finished:\n%s", cases.body)
		}
		time.Sleep(time.Second)
	}
	ratePaid := b.get("/kiosk/cases/" + wdID + "/rate")
	wantPage(t, b.post("/kiosk/cases/"+wdID+"/rate", ratePaid, url.Values{"level": {"4"}}), 200, "/kiosk/cases?rated=1")

	// More time, then idle: after the idle time the session is over on
	// the server, whatever the page does.
	wantPage(t, b.post("/kiosk/more-time", home, url.Values{"back": {"/kiosk/account"}}), 200, "/kiosk/account", "Deposits")
	time.Sleep(5 * time.Second)
	wantPage(t, b.get("/kiosk/home"), 200, "/kiosk/?reason=idle", "signed out after a while without a touch")
	// The countdown's own address says the same and changes nothing.
	wantPage(t, b.get("/kiosk/logout?reason=idle"), 200, "/kiosk/?reason=idle")
	if strings.Contains(e.logs.String(), "330105199007212626") {
		t.Fatal("an ID number in the logs")
	}
}

// Sign-in by phone QR on the screen: the kiosk shows the code as a QR and
// polls it; the person confirms in the mini-program; the next poll signs
// the kiosk's browser in. Another kiosk's browser cannot collect it.
func TestKioskScreenPhoneSignIn(t *testing.T) {
	e := start(t, func(c *bff.Config) { c.RevocationCache = 0 })
	b := startKioskAgent(t, e)
	li := e.persona("depositor", "李娜")
	phone := e.bindWeChat("o-screen-qr-li", li).AccessToken

	signIn := b.get("/")
	wantPage(t, signIn, 200, "/kiosk/", "Sign in with your phone")
	qr := b.post("/kiosk/phone", signIn, url.Values{})
	wantPage(t, qr, 200, "/kiosk/phone/", `<meta http-equiv="refresh" content="2">`, `src="data:image/png;base64,`, "Scan this code")
	code := field(t, qr.path, `^/kiosk/phone/([A-Za-z0-9_-]+)$`)
	// Still pending: the same page again.
	wantPage(t, b.get("/kiosk/phone/"+code), 200, "/kiosk/phone/"+code)
	if r := e.do("POST", "/api/v1/me/kiosk-logins", map[string]string{"code": code}, bearer(phone)); r.StatusCode != 200 {
		t.Fatalf("confirm %d %s", r.StatusCode, r.body)
	}
	// A browser that did not start the code (no agent: a direct request)
	// cannot collect it, nor can a second look once collected.
	direct, err := http.Get(e.base + "/kiosk/phone/" + code)
	if err != nil {
		t.Fatal(err)
	}
	direct.Body.Close()
	if direct.StatusCode != 401 {
		t.Fatalf("direct: %d", direct.StatusCode)
	}
	home := b.get("/kiosk/phone/" + code)
	wantPage(t, home, 200, "/kiosk/home", "Hello, 李*!")
	wantPage(t, b.get("/kiosk/phone/"+code), 410, "/kiosk/phone/", "used already") // a page, with the code's status
}
