package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// axeDir is the npm package that pins axe-core (package-lock.json); its
// node_modules is installed by the tests, as bff/contract's is.
const axeDir = "axe"

// axeMissing is the one line a test fails with when axe-core cannot be
// installed: what to run.
const axeMissing = "axe-core is missing: run `bash .ci/node && (cd e2e/axe && npm ci)`"

// axeTags are the rules axe runs: WCAG 2.0, 2.1 and 2.2 at levels A and AA,
// the level China's GB/T 37668 and the EU's EN 301 549 ask of public sites.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// axeScript is axe-core's source, read once (after npm ci when the
// installed copy is missing or from another lock).
var axeScript = sync.OnceValues(func() (string, error) {
	if err := installAxe(); err != nil {
		return "", fmt.Errorf("%s (%v)", axeMissing, err)
	}
	src, err := os.ReadFile(filepath.Join(axeDir, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		return "", fmt.Errorf("%s (%v)", axeMissing, err)
	}
	return string(src), nil
})

// installAxe runs npm ci in e2e/axe unless node_modules was installed from
// this very package-lock.json (a stamp holds the lock's hash).
func installAxe() error {
	lock, err := os.ReadFile(filepath.Join(axeDir, "package-lock.json"))
	if err != nil {
		return err
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])
	stamp := filepath.Join(axeDir, "node_modules", ".handheld-lock-sha256")
	if got, err := os.ReadFile(stamp); err == nil && strings.TrimSpace(string(got)) == want {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return err
	}
	cmd := exec.Command(npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = axeDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return os.WriteFile(stamp, []byte(want+"\n"), 0o644)
}

// axeResult is what axe.run found, trimmed to what a report needs.
type axeResult struct {
	URL        string         `json:"url"`
	Violations []axeViolation `json:"violations"`
}

// axeViolation is one rule that failed, on one or more elements.
type axeViolation struct {
	ID      string     `json:"id"`
	Impact  string     `json:"impact"` // minor, moderate, serious, critical
	Help    string     `json:"help"`
	HelpURL string     `json:"helpUrl"`
	Nodes   [][]string `json:"nodes"` // each element's CSS target path
}

// String is the violation as one line of a test failure.
func (v axeViolation) String() string {
	targets := make([]string, len(v.Nodes))
	for i, n := range v.Nodes {
		targets[i] = strings.Join(n, " ")
	}
	return fmt.Sprintf("%s [%s] %s: %s (%s)", v.ID, v.Impact, v.Help, strings.Join(targets, ", "), v.HelpURL)
}

// blocking says whether the violation fails a test: serious and critical
// ones keep some people out (no text alternative, unreadable contrast, no
// label); minor and moderate ones are logged.
func (v axeViolation) blocking() bool {
	return v.Impact == "serious" || v.Impact == "critical"
}

// axeRun is the expression that runs axe on the document and gives the
// trimmed result as JSON.
var axeRun = `axe.run(document, {runOnly: {type: "tag", values: ` + mustJSON(axeTags) + `}, resultTypes: ["violations"]})
  .then(r => JSON.stringify({url: r.url, violations: r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => n.target.map(String))}))}))`

// axeResults injects axe-core into the current page and runs it. The source
// goes in through the DevTools protocol (Runtime.evaluate), which the
// page's Content-Security-Policy does not govern, so pages that forbid all
// scripts (the verify page: default-src 'none') are checked as they are,
// without switching their CSP off.
func (s *browserSession) axeResults() axeResult {
	s.t.Helper()
	src, err := axeScript()
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(s.tab, 2*stepTimeout)
	defer cancel()
	inject := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		r, err := cdp.Call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{Expression: src})
		if err == nil && r.ExceptionDetails != nil {
			err = &chromedp.ExceptionError{ExceptionDetails: r.ExceptionDetails}
		}
		return err
	})
	if err := chromedp.Do(ctx, inject); err != nil {
		s.t.Fatalf("browser: inject axe-core: %v", err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		s.t.Fatalf("browser: axe.run: %v", err)
	}
	var r axeResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		s.t.Fatalf("browser: axe.run result: %v", err)
	}
	return r
}

// axe checks the current page against WCAG 2 A/AA with axe-core: every
// serious or critical violation fails the test (listed with its rule, help
// and elements), minor and moderate ones are logged.
func (s *browserSession) axe() {
	s.t.Helper()
	start := time.Now()
	r := s.axeResults()
	reportAxe(s.t, r)
	s.t.Logf("axe %s: %d violations in %s", r.URL, len(r.Violations), time.Since(start).Round(time.Millisecond))
}

// reportAxe fails t with every blocking violation in r and logs the others;
// it returns the blocking ones. It takes a testing.TB so that a test can
// prove it fails on an inaccessible page.
func reportAxe(t testing.TB, r axeResult) []axeViolation {
	t.Helper()
	var blocking []axeViolation
	for _, v := range r.Violations {
		if v.blocking() {
			blocking = append(blocking, v)
		} else {
			t.Logf("axe (not failing, %s): %s", v.Impact, v)
		}
	}
	if len(blocking) > 0 {
		lines := make([]string, len(blocking))
		for i, v := range blocking {
			lines[i] = "  " + v.String()
		}
		t.Errorf("axe: %d serious or critical accessibility violations on %s:\n%s", len(blocking), r.URL, strings.Join(lines, "\n"))
	}
	return blocking
}

// mustJSON encodes a value that always encodes.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
