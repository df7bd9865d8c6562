package e2e

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"handheld/bff"
	"handheld/services"
	"handheld/services/audit"
	"handheld/services/store"
)

// The supervision dashboard in headless Chromium (issue 20, part 4): a
// persona signs in, reads, issues a certificate and rates it low with a
// comment; a relying party's redemptions are in the trail; the demo staff
// member signs in on the page and reads figures that match the records,
// in both languages, exports nothing a spreadsheet would run, and signs
// out. Each step leaves a screenshot; HANDHELD_STAFF_README_SHOT=1 copies
// the dashboard's to docs/staff-dashboard.png.
func TestStaffDashboardInChromium(t *testing.T) {
	e := start(t, relaxedIssue())
	ctx := context.Background()

	// The persona's activity.
	zhang := e.persona("depositor", "张伟")
	tok := e.bindWeChat("openid-staff-dash-zhang", zhang).AccessToken
	for _, path := range []string{"/api/v1/me/home", "/api/v1/me/account"} {
		if r := e.do("GET", path, nil, bearer(tok)); r.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, r.StatusCode, r.body)
		}
	}
	r := e.issue(tok, "staff-dash-cert", map[string]string{"type": "deposit_use", "purpose": "购房"})
	if r.StatusCode != 201 {
		t.Fatalf("issue: %d %s", r.StatusCode, r.body)
	}
	var cert issuedCert
	r.json(t, &cert)
	if r := e.do("POST", "/api/v1/me/applications/"+cert.ID+"/rating",
		map[string]any{"level": 1, "comment": "等太久了，电话13812345678没人接"}, bearer(tok)); r.StatusCode != 201 {
		t.Fatalf("rating: %d %s", r.StatusCode, r.body)
	}

	// Two redemptions by the demo bank, as the sharing service records them.
	s, err := store.Open(ctx, e.cfg.StoreDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	trail := audit.New(s, audit.Options{Replica: "e2e-staff-dashboard"})
	for i := range 2 {
		if err := trail.Append(ctx, audit.Record{Actor: "party:demo-bank", Channel: "app", Action: "share.redeem",
			Target: "share:s" + strconv.Itoa(i), Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	_ = trail.Close(ctx)

	// A depositor's bearer token does not open the staff pages, and no
	// staff cookie opens the API.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", e.base+"/staff/dashboard", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/login" {
		t.Fatalf("depositor bearer on the dashboard: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	req, _ = http.NewRequest("GET", e.base+"/staff/dashboard.csv?section=services", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err = noFollow.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("depositor bearer on the export: %d", resp.StatusCode)
	}

	// The core's counters and the trail's queued reads are written.
	if err := e.app.FlushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	want := waitForTrail(t, s)

	// The staff member signs in on the page.
	b := newBrowserSession(t)
	b.navigate(e.base + "/staff/login?lang=zh-CN")
	b.waitText("工作人员登录")
	reportAxe(t, b.axeResults())
	staffShot(b, "sign-in")
	b.fill("#staff_id", bff.DemoStaffID)
	b.fill("#password", "wrong-Password-1")
	b.submit("#password")
	b.waitText("工号、密码或动态口令不正确")
	b.fill("#password", bff.DemoStaffPassword)
	b.submit("#password")
	b.waitText("服务监管看板")
	if c := run(b, "read document.cookie", chromedp.Evaluate[string](`document.cookie`)); strings.Contains(c, "hh_staff") {
		t.Fatalf("a staff cookie is readable by script: %q", c)
	}
	reportAxe(t, b.axeResults())
	shot := staffShot(b, "dashboard")
	if os.Getenv("HANDHELD_STAFF_README_SHOT") != "" {
		if png, err := os.ReadFile(shot); err == nil {
			_ = os.WriteFile("../docs/staff-dashboard.png", png, 0o644)
		}
	}

	// The figures are the records'.
	if got := b.text("#fig-total"); got != strconv.FormatInt(want.total, 10) {
		t.Errorf("total on the page %s, in the trail %d", got, want.total)
	}
	row := func(table, attr, key string) []string {
		t.Helper()
		txt := b.text("#" + table + " tr[" + attr + "=\"" + key + "\"]")
		return strings.Fields(txt)
	}
	if got := row("table-services", "data-service", "certificate"); len(got) < 2 || got[1] != strconv.FormatInt(want.certificate, 10) {
		t.Errorf("certificate row %v, trail %d", got, want.certificate)
	}
	if got := row("table-timeliness", "data-kind", "certificate"); len(got) < 3 || got[1] != "1" || got[2] != "1" {
		t.Errorf("timeliness row %v", got)
	}
	if got := row("table-satisfaction", "data-kind", "certificate"); len(got) < 8 || got[1] != "1" || got[6] != "1" || got[7] != "0.0%" {
		t.Errorf("satisfaction row %v", got)
	}
	if got := b.text("#table-low-ratings"); !strings.Contains(got, "等太久了，电话138******78没人接") || strings.Contains(got, "13812345678") {
		t.Errorf("low ratings %q", got)
	}
	if got := row("table-shares", "data-party", "demo-bank"); len(got) != 2 || got[1] != "2" {
		t.Errorf("shares row %v", got)
	}
	if got := b.text("#table-core"); !strings.Contains(got, strconv.FormatInt(want.coreCalls, 10)) || want.coreCalls == 0 {
		t.Errorf("core table %q, counters %d calls", got, want.coreCalls)
	}
	if got := b.text("#fig-availability"); !strings.HasSuffix(got, "%") {
		t.Errorf("availability %q", got)
	}

	// A range out of bounds is the page with 400.
	b.navigate(e.base + "/staff/dashboard?from=2020-01-01&to=2020-12-31&lang=zh-CN")
	b.waitText("填写的内容有误")
	staffShot(b, "range refused")

	// In English.
	b.navigate(e.base + "/staff/dashboard?lang=en")
	b.waitText("Supervision dashboard")
	b.waitText("Shares redeemed by relying party")
	reportAxe(t, b.axeResults())
	staffShot(b, "dashboard en")

	// Signed out: the dashboard sends to sign-in again.
	b.clickText("Sign out")
	b.waitText("Staff sign-in")
	b.navigate(e.base + "/staff/dashboard?lang=zh-CN")
	b.waitText("Staff sign-in") // the browser asks for English; the redirect does not carry ?lang

	// Every view was audited with the staff member as actor.
	var reads int
	if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'dashboard.read' AND actor = $1`,
		"staff:"+bff.DemoStaffID).Scan(&reads); err != nil || reads < 2 {
		t.Errorf("dashboard.read records %d %v", reads, err)
	}
}

// expected are the figures the dashboard must show, from the records.
type expected struct {
	total, certificate, coreCalls int64
}

// waitForTrail waits until the trail's queued records are written (the
// count stops moving) and returns today's figures counted straight from
// the tables.
func waitForTrail(t *testing.T, s *store.Store) expected {
	t.Helper()
	ctx := context.Background()
	day := time.Now().In(services.CentreTime)
	start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, services.CentreTime)
	count := func() expected {
		var x expected
		_ = s.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE at >= $1 AND channel <> 'web'
			AND action NOT LIKE 'centre\_staff.%' AND action NOT LIKE 'dashboard.%'
			AND action NOT LIKE 'retention.%' AND action NOT LIKE 'reminder.%'`, start).Scan(&x.total)
		_ = s.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE at >= $1 AND action LIKE 'certificate.%'`, start).Scan(&x.certificate)
		_ = s.QueryRow(ctx, `SELECT COALESCE(SUM(n), 0) FROM activity_minutes WHERE metric = 'core' AND minute >= $1`, start).Scan(&x.coreCalls)
		return x
	}
	last := count()
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		now := count()
		if now == last {
			return now
		}
		last = now
	}
	t.Fatalf("the trail keeps moving: %+v", last)
	return last
}

// staffShot waits for the pages' fonts and takes a screenshot.
func staffShot(s *browserSession, step string) string {
	s.t.Helper()
	run(s, "load the staff font", chromedp.Evaluate[bool](
		`Promise.all([document.fonts.load('16px "HH Staff CJK"', '服务监管'), document.fonts.load('700 16px "HH Staff CJK"', '服务监管')])
			.then(() => document.fonts.ready).then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true)))))`, chromedp.EvalAwaitPromise))
	return s.screenshot(step)
}
