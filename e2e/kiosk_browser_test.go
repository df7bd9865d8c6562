package e2e

import (
	"os"

	"github.com/chromedp/chromedp"
	"strings"
	"testing"

	"handheld/bff"
)

// The kiosk screen in headless Chromium, as the person at the kiosk sees
// it through the demo kiosk's agent: sign in by face, the home page, a
// certificate issued, rated and printed, and a deposit statement printed;
// axe-core finds no serious violation on any page, and each step leaves a
// screenshot ($HANDHELD_SCREENSHOTS keeps them; docs/kiosk-home.png is the
// home page's).
func TestKioskScreenInChromium(t *testing.T) {
	e := start(t, func(c *bff.Config) { c.RevocationCache = 0 })
	b := startKioskAgent(t, e)
	s := newBrowserSession(t)

	s.navigate(b.base + "/kiosk/?lang=zh-CN")
	s.waitText("刷脸登录")
	if lang, _ := s.attr("html", "lang"); lang != "zh-CN" {
		t.Fatalf("lang %q", lang)
	}
	kioskAxe(s)
	kioskShot(s, "sign-in")
	s.fill("#name", "李娜")
	s.fill("#id_number", "330105199007212626")
	s.fill("#face_token", "face:demo-lina")
	s.clickText("登录")
	s.waitText("李*，您好！")
	if got := s.text(".countdown"); !strings.Contains(got, "180 秒内不操作将自动退出") || !strings.Contains(got, "还需要更多时间") {
		t.Fatalf("countdown: %q", got)
	}
	if got, _ := s.attr(".read-aloud", "data-read-aloud"); !strings.Contains(got, "这里是首页") {
		t.Fatalf("read-aloud text %q", got)
	}
	kioskAxe(s)
	home := kioskShot(s, "home")
	if os.Getenv("HANDHELD_KIOSK_README_SHOT") != "" {
		// Refresh README's picture: HANDHELD_KIOSK_README_SHOT=1 go test -run TestKioskScreenInChromium ./e2e/
		if png, err := os.ReadFile(home); err == nil {
			_ = os.WriteFile("../docs/kiosk-home.png", png, 0o644)
		}
	}

	// A certificate, issued and rated on the spot.
	s.clickText("开缴存使用证明")
	s.waitText("开一份新证明")
	kioskAxe(s)
	s.clickText("开证明")
	s.waitText("证明已开好")
	kioskAxe(s)
	kioskShot(s, "certificate issued")
	s.clickText("非常满意")
	s.clickText("提交评价")
	s.waitText("谢谢您的评价！")
	if got := s.text("main"); !strings.Contains(got, "您的评价：非常满意") {
		t.Fatalf("cases page: %q", got)
	}
	kioskAxe(s)
	kioskShot(s, "rated")

	// Printed at this kiosk: the certificate, then a statement.
	s.navigate(b.base + "/kiosk/print")
	s.waitText("缴存明细")
	kioskAxe(s)
	kioskShot(s, "print choice")
	s.click(".print-certificate")
	s.waitText("打印好了，请到出纸口取纸。")
	kioskAxe(s)
	kioskShot(s, "certificate printed")
	s.navigate(b.base + "/kiosk/print")
	s.waitText("缴存明细")
	s.click("#print-deposit-statement") // over the last 12 months
	s.waitText("打印好了，请到出纸口取纸。")
	entries, err := os.ReadDir(b.prints)
	if err != nil || len(entries) != 2 {
		t.Fatalf("printed %d files (%v)", len(entries), err)
	}

	// In English, and signed out by the person.
	s.navigate(b.base + "/kiosk/home?lang=en")
	s.waitText("What would you like to do?")
	kioskAxe(s)
	s.clickText("Sign out")
	s.waitText("You have signed out safely")
	kioskAxe(s)
	kioskShot(s, "signed out")
}

// kioskShot waits for the screen's own CJK font (the test machine has
// none of its own) and takes a screenshot.
func kioskShot(s *browserSession, step string) string {
	s.t.Helper()
	run(s, "load the kiosk font", chromedp.Evaluate[bool](
		`document.fonts.load('700 26px "HH Kiosk CJK"', '首页').then(() => document.fonts.ready).then(() => true)`, chromedp.EvalAwaitPromise))
	return s.screenshot(step)
}

// kioskAxe is the axe check for the kiosk screen, with one rule set
// aside: meta-refresh. The screen refreshes on purpose — after the kiosk
// idle time to the sign-out page (a public screen must not keep showing a
// person's data), and every two seconds while a QR code or a print waits
// (no script may poll). axe cannot see how WCAG 2.2.1 (Timing Adjustable)
// is met here: the countdown is on the page from the start and the
// "还需要更多时间 / I need more time" button extends it with one touch
// (the "Extend" option). Every other serious or critical rule fails the
// test, and the refresh itself is checked by the screen's own tests.
func kioskAxe(s *browserSession) {
	s.t.Helper()
	r := s.axeResults()
	kept := r.Violations[:0]
	for _, v := range r.Violations {
		if v.ID == "meta-refresh" {
			s.t.Logf("axe (set aside for the kiosk screen, see kioskAxe): %s", v)
			continue
		}
		kept = append(kept, v)
	}
	r.Violations = kept
	reportAxe(s.t, r)
}
