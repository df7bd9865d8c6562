package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// stepTimeout bounds one step of a session: long enough for a page of the
// app on a loaded CI machine, short enough that a missing element fails
// the test with the step's name instead of the package timeout.
const stepTimeout = 30 * time.Second

// browserSession is one person's visit in its own tab and browser context
// (its own cookies) of the shared Chromium, for flows of several steps:
// navigate, click, fill, submit, wait for text, read, take screenshots and
// check accessibility with axe. Every step fails the test with the step's
// name when it cannot be done; a failed test gets a last screenshot.
type browserSession struct {
	t     *testing.T
	tab   context.Context
	shots string // where screenshots go; empty until the first one
	step  int    // numbers screenshot files in the order they were taken
}

// newBrowserSession opens a tab in a new browser context of the shared
// Chromium; the test's cleanup closes it.
func newBrowserSession(t *testing.T) *browserSession {
	t.Helper()
	start := time.Now()
	b, err := chromium.browser()
	if err != nil {
		t.Fatal(err)
	}
	tab, cancel := chromedp.NewContext(b, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(tab); err != nil { // opens the tab, without a deadline
		cancel()
		t.Fatalf("open a Chromium tab: %v", err)
	}
	s := &browserSession{t: t, tab: tab}
	t.Logf("browser session open in %s (starting the shared Chromium took %s, once)", time.Since(start).Round(time.Millisecond), chromium.took.Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			s.screenshot("failed")
		}
		cancel()
	})
	return s
}

// run runs one step against the tab with stepTimeout, failing the test
// with what the step was doing.
func run[T any](s *browserSession, what string, a chromedp.Action[T]) T {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.tab, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		s.t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// navigate opens url and waits for the page to load.
func (s *browserSession) navigate(url string) {
	s.t.Helper()
	run(s, "navigate to "+url, chromedp.Navigate(url))
}

// click clicks the first visible element matching the CSS selector.
func (s *browserSession) click(selector string) {
	s.t.Helper()
	run(s, "click "+selector, chromedp.Click(chromedp.CSS(selector)))
}

// clickText clicks the first button, link, label or summary whose visible
// text is exactly text (spaces collapsed): what a person reads is what the
// test names, so a renamed button fails the test.
func (s *browserSession) clickText(text string) {
	s.t.Helper()
	run(s, fmt.Sprintf("click %q", text), chromedp.Click(chromedp.JSPath(byVisibleText(text))))
}

// byVisibleText is a JavaScript expression giving the first clickable
// element whose visible text (or a button input's value) is text, or null.
func byVisibleText(text string) string {
	return fmt.Sprintf(`(() => {
  const want = %s.replace(/\s+/g, ' ').trim();
  for (const e of document.querySelectorAll('button, a, [role=button], input[type=submit], input[type=button], label, summary')) {
    const t = (e.innerText || e.value || '').replace(/\s+/g, ' ').trim();
    if (t === want) return e;
  }
  return null;
})()`, jsString(text))
}

// fill clears the field matching the CSS selector and types value into it,
// as a person would (key events, so input listeners and validation run).
func (s *browserSession) fill(selector, value string) {
	s.t.Helper()
	run(s, "fill "+selector, chromedp.Steps(
		chromedp.Clear(chromedp.CSS(selector)),
		chromedp.SendKeys(chromedp.CSS(selector), value),
	))
}

// submit submits the form that holds the element matching the CSS
// selector (the form itself, a field or a button in it).
func (s *browserSession) submit(selector string) {
	s.t.Helper()
	run(s, "submit "+selector, chromedp.Submit(chromedp.CSS(selector)))
}

// waitVisible waits until an element matching the CSS selector is visible.
func (s *browserSession) waitVisible(selector string) {
	s.t.Helper()
	run(s, "wait for "+selector, chromedp.WaitVisible(chromedp.CSS(selector)))
}

// waitText waits until the page's visible text contains text, e.g. after a
// click or a submit that loads another page.
func (s *browserSession) waitText(text string) {
	s.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	expr := "document.body !== null && document.body.innerText.includes(" + jsString(text) + ")"
	for {
		ctx, cancel := context.WithTimeout(s.tab, time.Second)
		found, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && found {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("browser: wait for text %q: not on the page after %s (%v):\n%s", text, stepTimeout, err, s.text("body"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// text is the visible text (innerText) of the first element matching the
// CSS selector; "body" gives the whole page as a person reads it.
func (s *browserSession) text(selector string) string {
	s.t.Helper()
	return run(s, "read the text of "+selector, chromedp.Text(chromedp.CSS(selector)))
}

// attr is an attribute of the first element matching the CSS selector,
// and whether the element has it.
func (s *browserSession) attr(selector, name string) (string, bool) {
	s.t.Helper()
	a := run(s, "read "+selector+"["+name+"]", chromedp.AttributeValue(chromedp.CSS(selector), name))
	return a.Value, a.Exists
}

// screenshot saves a full-page PNG as <test>-<nn>-<step>.png under
// $HANDHELD_SCREENSHOTS (kept after the run, e.g. as CI artefacts) or the
// test's temporary directory, and returns its path.
func (s *browserSession) screenshot(step string) string {
	s.t.Helper()
	if s.shots == "" {
		s.shots = os.Getenv("HANDHELD_SCREENSHOTS")
		if s.shots == "" {
			s.shots = s.t.TempDir()
		} else if err := os.MkdirAll(s.shots, 0o755); err != nil {
			s.t.Fatalf("screenshots: %v", err)
		}
	}
	s.step++
	png := run(s, "screenshot "+step, chromedp.FullScreenshot(100))
	path := filepath.Join(s.shots, fmt.Sprintf("%s-%02d-%s.png", fileSafe(s.t.Name()), s.step, fileSafe(step)))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Fatalf("screenshot %s: %v", step, err)
	}
	s.t.Logf("screenshot %s", path)
	return path
}

// unsafeInFileName is what fileSafe replaces: subtests' slashes, spaces.
var unsafeInFileName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fileSafe turns a test or step name into part of a file name.
func fileSafe(name string) string {
	return strings.Trim(unsafeInFileName.ReplaceAllString(name, "_"), "_")
}

// jsString quotes s as a JavaScript string literal: JSON is a subset, and
// encoding/json escapes what could end a script or a line.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
