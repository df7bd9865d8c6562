package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects serve's log, written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The version main is built with (-ldflags -X main.version=...) reaches
// handheld_build_info and the start-up dump.
func TestServeExportsTheBuildVersion(t *testing.T) {
	was := version
	version = "v9.8.7-test"
	t.Cleanup(func() { version = was })
	t.Setenv("HANDHELD_DATA_DIR", t.TempDir())
	t.Setenv("HANDHELD_ADDR", "127.0.0.1:0")
	t.Setenv("HANDHELD_DEMO_KIOSK_LISTEN", "127.0.0.1:0")

	ctx, cancel := context.WithCancel(context.Background())
	logs, out := &lockedBuffer{}, &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, time.Now(), nil, out, logs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})

	ready := regexp.MustCompile(`"msg":"ready","addr":"([^"]+)"`)
	deadline := time.Now().Add(60 * time.Second)
	var addr string
	for addr == "" {
		if m := ready.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("serve never said ready:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The demo kiosk's agent runs beside it and serves the kiosk screen
	// with the demo kiosk's device token: the sign-in page, not the 401
	// page a browser without a device gets from the server itself.
	screen := regexp.MustCompile(`kiosk screen: open (http://\S+/kiosk/)`).FindStringSubmatch(out.String())
	if screen == nil {
		t.Fatalf("no kiosk screen line in the banner:\n%s", out.String())
	}
	for url, want := range map[string]int{screen[1]: 200, "http://" + addr + "/kiosk/": 401} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != want || !strings.Contains(string(page), "<html") {
			t.Errorf("%s: %d, want %d: %.300s", url, resp.StatusCode, want, page)
		}
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !regexp.MustCompile(`handheld_build_info\{go_version="go[^"]+",revision="[^"]+",version="v9\.8\.7-test"\} 1`).Match(body) {
		t.Errorf("/metrics has no build info for v9.8.7-test")
	}
	var dump struct {
		Msg      string            `json:"msg"`
		Settings map[string]string `json:"settings"`
	}
	first, _, _ := strings.Cut(logs.String(), "\n")
	if err := json.Unmarshal([]byte(first), &dump); err != nil || dump.Msg != "config" || dump.Settings["version"] != "v9.8.7-test" {
		t.Errorf("start-up dump %q: version %q, %v", first, dump.Settings["version"], err)
	}
}
