package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// seen is what a person sees on a page: its language, the status line and
// all visible text.
type seen struct {
	lang        string
	statusClass string
	status      string
	text        string
}

// browse opens url in headless Chromium (Debian's package, installed by
// make test) and reads the page as rendered.
func browse(t *testing.T, url string) seen {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("Chromium is missing: make test installs it (apt-get install chromium)")
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
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 45*time.Second)
	defer cancelTimeout()
	var s seen
	steps := []func() error{
		func() error { _, err := chromedp.Run(ctx, chromedp.Navigate(url)); return err },
		func() error { _, err := chromedp.Run(ctx, chromedp.WaitVisible(chromedp.CSS(".status"))); return err },
		func() error {
			a, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("html"), "lang"))
			s.lang = a.Value
			return err
		},
		func() error {
			a, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(".status"), "class"))
			s.statusClass = a.Value
			return err
		},
		func() error {
			v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".status")))
			s.status = v
			return err
		},
		func() error { v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body"))); s.text = v; return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("browse %s: %v", url, err)
		}
	}
	s.status = strings.TrimSpace(s.status)
	return s
}
