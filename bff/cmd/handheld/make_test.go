package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMakeRunSaysItIsBuilding: `make run` builds before it serves, and a
// cold build takes minutes, so the build says so when the binary is
// missing or older than the sources, and stays quiet when it is current.
// GO=true stands in for the compiler: only the Makefile's words are tested.
func TestMakeRunSaysItIsBuilding(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	bin := filepath.Join(t.TempDir(), "handheld")
	build := func() string {
		t.Helper()
		out, err := exec.Command("make", "-s", "-C", "../../..", "build", "GO=true", "BIN="+bin).CombinedOutput()
		if err != nil {
			t.Fatalf("make build: %v\n%s", err, out)
		}
		return string(out)
	}
	if out := build(); !strings.Contains(out, "building "+bin+" (the first build takes a minute or two)...") {
		t.Errorf("no binary yet: make build said %q", out)
	}
	if err := os.WriteFile(bin, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if out := build(); out != "" {
		t.Errorf("current binary: make build said %q, want nothing", out)
	}
	old := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(bin, old, old); err != nil {
		t.Fatal(err)
	}
	if out := build(); !strings.Contains(out, "rebuilding "+bin) {
		t.Errorf("stale binary: make build said %q", out)
	}
}
