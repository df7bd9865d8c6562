package client

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The TypeScript client is checked as its developers would: installed from
// the lock file, its types regenerated from bff/openapi.yaml and compared
// with the committed ones, compiled strictly, and its tests run on Node.
func TestTypeScriptClient(t *testing.T) {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("bff/client needs Node.js and npm (%s not found): apt-get install nodejs npm", tool)
		}
	}
	if stale, why := modulesStale(); stale {
		t.Logf("npm ci: %s", why)
		run(t, "npm", "ci", "--no-audit", "--no-fund")
	}

	t.Run("schema.ts is generated from openapi.yaml", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "schema.ts")
		run(t, "node", "node_modules/openapi-typescript/bin/cli.js", "../openapi.yaml", "--output", out)
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile("src/schema.ts")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, committed) {
			t.Fatal("bff/client/src/schema.ts is not what bff/openapi.yaml generates: run make client")
		}
	})
	t.Run("tsc strict", func(t *testing.T) { run(t, "npm", "run", "--silent", "check") })
	t.Run("node tests", func(t *testing.T) { run(t, "npm", "test", "--silent") })
}

// modulesStale says whether node_modules is missing or older than the lock
// file (npm ci records what it installed in node_modules/.package-lock.json).
func modulesStale() (bool, string) {
	installed, err := os.Stat("node_modules/.package-lock.json")
	if err != nil {
		return true, "node_modules missing"
	}
	lock, err := os.Stat("package-lock.json")
	if err != nil || lock.ModTime().After(installed.ModTime()) {
		return true, "package-lock.json is newer than node_modules"
	}
	return false, ""
}

// run runs a command in bff/client and fails the test with its output.
func run(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "npm_config_update_notifier=false")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}
