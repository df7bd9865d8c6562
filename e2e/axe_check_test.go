package e2e

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// servePage serves one HTML page (and a greeting for the form flow) on a
// local test server, with the given Content-Security-Policy if not empty.
func servePage(t *testing.T, csp, page string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if csp != "" {
			w.Header().Set("Content-Security-Policy", csp)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/hello" {
			fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Hello</title></head><body><main><h1>Hello, %s</h1><p id="seen" data-name="%s">Signed in</p></main></body></html>`,
				html.EscapeString(r.FormValue("name")), html.EscapeString(r.FormValue("name")))
			return
		}
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// accessiblePage passes WCAG 2 A/AA; its inline script would change the
// title if the page's CSP let it run.
const accessiblePage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Form</title>
<script>document.title = "script ran"</script></head>
<body><main><h1>Sign in</h1>
<form action="/hello" method="get" id="f">
<label for="name">Your name</label> <input id="name" name="name" autocomplete="name">
<button type="submit">Continue</button>
</form></main></body></html>`

// The DevTools protocol injects axe-core even where the page's CSP forbids
// every script — and the CSP is still in force for the page's own scripts.
func TestAxeRunsUnderAScriptForbiddingCSP(t *testing.T) {
	t.Parallel()
	url := servePage(t, "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'", accessiblePage)
	s := newBrowserSession(t)
	s.navigate(url)
	if title := run(s, "read the title", chromedp.Title()); title != "Form" {
		t.Fatalf("the page's own script ran (title %q): the CSP is not in force, so this test proves nothing", title)
	}
	r := s.axeResults()
	if r.URL == "" {
		t.Fatal("axe gave no result")
	}
	s.axe()
}

// tbRecorder is a testing.TB that records failures instead of failing, so
// that a test can assert the axe report would fail a test.
type tbRecorder struct {
	testing.TB
	errors []string
}

func (r *tbRecorder) Helper()                   {}
func (r *tbRecorder) Logf(string, ...any)       {}
func (r *tbRecorder) Errorf(f string, a ...any) { r.errors = append(r.errors, fmt.Sprintf(f, a...)) }

// An inaccessible page makes the check fail: no text alternative, grey on
// white, an unlabelled field, no language — so a pass means something.
func TestAxeFailsAnInaccessiblePage(t *testing.T) {
	t.Parallel()
	url := servePage(t, "default-src 'none'; img-src data:; style-src 'unsafe-inline'", `<!doctype html><html><head><title>Bad</title></head>
<body><main><h1>Bad page</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<p style="color:#c8c8c8;background:#ffffff">Hard to read</p>
<form><input name="q"></form>
</main></body></html>`)
	s := newBrowserSession(t)
	s.navigate(url)
	rec := &tbRecorder{TB: t}
	blocking := reportAxe(rec, s.axeResults())
	var ids []string
	for _, v := range blocking {
		ids = append(ids, v.ID)
		if len(v.Nodes) == 0 || v.Help == "" {
			t.Errorf("violation without elements or help: %+v", v)
		}
	}
	for _, want := range []string{"image-alt", "color-contrast", "label", "html-has-lang"} {
		if !slices.Contains(ids, want) {
			t.Errorf("axe did not report %s as serious or critical; it reported %v", want, ids)
		}
	}
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "image-alt") || !strings.Contains(rec.errors[0], "img") {
		t.Errorf("the report would not fail a test naming the rule and the element: %q", rec.errors)
	}
}

// A session's steps work together: fill, click by visible text, wait for
// the next page, read text and attributes, submit, screenshots by name.
func TestBrowserSessionSteps(t *testing.T) {
	t.Parallel()
	url := servePage(t, "", accessiblePage)
	s := newBrowserSession(t)
	s.navigate(url)
	s.fill("#name", "Li <b>Na</b>")
	s.clickText("Continue")
	s.waitText("Hello, Li <b>Na</b>")
	if got, ok := s.attr("#seen", "data-name"); !ok || got != "Li <b>Na</b>" {
		t.Fatalf("data-name %q %v", got, ok)
	}
	if _, ok := s.attr("#seen", "hidden"); ok {
		t.Fatal("attr reports an attribute the element lacks")
	}
	shot := s.screenshot("greeted page")
	if want := "TestBrowserSessionSteps-01-greeted_page.png"; filepath.Base(shot) != want {
		t.Fatalf("screenshot at %s, want %s", shot, want)
	}
	if b, err := os.ReadFile(shot); err != nil || !strings.HasPrefix(string(b), "\x89PNG") {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}

	s.navigate(url)
	s.fill("#name", "Wang")
	s.submit("#name")
	s.waitText("Hello, Wang")
	if got := s.text("h1"); got != "Hello, Wang" {
		t.Fatalf("h1 %q", got)
	}
	s.axe()
}
