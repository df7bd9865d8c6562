package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium is the one headless Chromium the package's browser tests share.
// Starting Chromium costs about a second of CPU on a busy machine; a tab in
// a running one costs milliseconds, and each session still gets a browser
// context of its own (cookies, storage, cache), so tests stay isolated. It
// is package state because tests run in parallel and TestMain closes it.
var chromium sharedChromium

// sharedChromium starts Chromium on first use and keeps it until close.
type sharedChromium struct {
	once   sync.Once
	ctx    context.Context // the browser's first tab; sessions are its children
	cancel func()
	err    error
	took   time.Duration // how long starting Chromium took, for the logs
}

// browser returns the running browser's context, starting it if needed.
func (c *sharedChromium) browser() (context.Context, error) {
	c.once.Do(func() {
		start := time.Now()
		defer func() { c.took = time.Since(start) }()
		path, err := exec.LookPath("chromium")
		if err != nil {
			c.err = errors.New("Chromium is missing: run `bash .ci/browser` (make services does; Debian: apt-get install chromium)")
			return
		}
		dir, err := os.MkdirTemp("", "handheld-chromium-")
		if err != nil {
			c.err = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.Flag("headless", true),
			chromedp.Flag("no-sandbox", true),
			chromedp.Flag("disable-gpu", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("no-first-run", true),
			chromedp.Flag("disable-quic", true),
			chromedp.WindowSize(1280, 900),
			chromedp.UserDataDir(dir),
		)
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, cancelBrowser := chromedp.NewContext(actx)
		c.cancel = func() { cancelBrowser(); cancelAlloc(); _ = os.RemoveAll(dir) }
		// The first Run starts the browser and binds it to bctx, which has
		// no deadline: a timeout here would stop the whole browser later.
		if err := chromedp.Do(bctx); err != nil {
			c.err = err
			return
		}
		c.ctx = bctx
	})
	return c.ctx, c.err
}

// close stops Chromium if it was started; TestMain calls it after the tests.
func (c *sharedChromium) close() {
	if c.cancel != nil {
		c.cancel()
	}
}

// seen is what a person sees on a page: its language, the status line and
// all visible text.
type seen struct {
	lang        string
	statusClass string
	status      string
	text        string
}

// readSeen reads the current page as a person sees it; the page must have
// a .status line.
func (s *browserSession) readSeen() seen {
	s.t.Helper()
	s.waitVisible(".status")
	lang, _ := s.attr("html", "lang")
	class, _ := s.attr(".status", "class")
	return seen{
		lang:        lang,
		statusClass: class,
		status:      strings.TrimSpace(s.text(".status")),
		text:        s.text("body"),
	}
}
