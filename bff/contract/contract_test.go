package contract

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// document is the contract, relative to this package.
const document = "../openapi.yaml"

// allowedWarnings are the warnings docs/api.md § The contract and its
// linter explains; a warning of any other rule fails, so that the list in
// the docs stays the list that is true.
var allowedWarnings = []string{
	"owasp:api4:2023-string-restricted",          // free text: names, labels, messages
	"owasp:api8:2023-define-error-validation",    // routes that read no input have no 400
	"owasp:api8:2023-define-error-responses-401", // public routes take no token
	"operation-description",                      // a summary says it all
	"info-contact",                               // the centre names its own contact
}

// finding is one result of spectral lint --format json.
type finding struct {
	Code     string                                        `json:"code"`
	Message  string                                        `json:"message"`
	Severity int                                           `json:"severity"` // 0 error, 1 warning, 2 info, 3 hint
	Path     []any                                         `json:"path"`
	Range    struct{ Start struct{ Line, Character int } } `json:"range"`
}

func (f finding) String() string {
	parts := make([]string, len(f.Path))
	for i, p := range f.Path {
		parts[i] = fmt.Sprint(p)
	}
	return fmt.Sprintf("openapi.yaml:%d:%d %s: %s (%s)", f.Range.Start.Line+1, f.Range.Start.Character+1, f.Code, f.Message, strings.Join(parts, "."))
}

// TestSpectral lints the document: no errors, and only the warnings the
// docs list.
func TestSpectral(t *testing.T) {
	node := tool(t, "node")
	tool(t, "npm")
	installLinter(t)
	cmd := exec.Command(node, filepath.Join("node_modules", "@stoplight", "spectral-cli", "dist", "index.js"),
		"lint", "--ruleset", ".spectral.yaml", "--format", "json", "--quiet", document)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run() // non-zero when it finds errors; the findings say which
	var findings []finding
	if err := json.Unmarshal(stdout.Bytes(), &findings); err != nil {
		t.Fatalf("spectral lint: %v (%v)\n%s%s", err, runErr, stdout.String(), stderr.String())
	}
	var errs, warns int
	for _, f := range findings {
		switch {
		case f.Severity == 0:
			errs++
			t.Errorf("%s", f)
		case f.Severity == 1:
			warns++
			if !slices.Contains(allowedWarnings, f.Code) {
				t.Errorf("warning of a rule docs/api.md does not list: %s", f)
			}
		}
	}
	t.Logf("spectral: %d errors, %d warnings (of the rules docs/api.md lists)", errs, warns)
	if errs == 0 && runErr != nil {
		t.Fatalf("spectral lint: %v\n%s", runErr, stderr.String())
	}
}

// tool finds a program or fails with the Debian package that brings it.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: the contract lint needs Node.js and npm (Debian: apt-get install nodejs npm; make test installs them)", name)
	}
	return p
}

// installLinter runs npm ci when node_modules is missing or was installed
// from another package-lock.json, and stamps it with the lock's hash.
func installLinter(t *testing.T) {
	t.Helper()
	lock, err := os.ReadFile("package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])
	stamp := filepath.Join("node_modules", ".handheld-lock-sha256")
	if got, err := os.ReadFile(stamp); err == nil && strings.TrimSpace(string(got)) == want {
		return
	}
	cmd := exec.Command("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in bff/contract: %v\n%s", err, out)
	}
	if err := os.WriteFile(stamp, []byte(want+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
