package bff

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// undocumented are the routes openapi.yaml leaves out on purpose, each with
// its reason. Prefer documenting a route to adding it here.
// None today: even the operator's /metrics and /healthz are documented.
// An entry is "METHOD /path" (OpenAPI's `{param}` form) → reason.
var undocumented = map[string]string{}

// undocumentedPrefix is the kiosk screen (docs/api.md § Kiosk screen):
// HTML pages for a kiosk's browser behind its agent, not an API a client
// is generated for; their own tests (bff/kiosk/screen, e2e) cover them.
var undocumentedPrefix = Defaults().KioskScreenPath

// The document and the app must describe the same API: every route the
// real app serves has an operation in bff/openapi.yaml, and every operation
// a route, so a client generated from the document reaches all of the API
// and nothing that is not there.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	cfg, err := LoadConfig(map[string]string{"HANDHELD_DATA_DIR": t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })

	served := map[string]bool{}
	for _, r := range a.HTTP().GetRoutes(true) {
		if r.Method == http.MethodHead || r.Method == http.MethodConnect {
			continue // Fiber adds a HEAD twin to each GET; the document describes the GET
		}
		if strings.HasPrefix(r.Path+"/", undocumentedPrefix) {
			continue
		}
		served[r.Method+" "+openAPIPath(r.Path)] = true
	}
	documented, err := documentedOperations(OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	var missing, stale []string
	for op := range served {
		if !documented[op] && undocumented[op] == "" {
			missing = append(missing, op)
		}
	}
	for op := range documented {
		if !served[op] {
			stale = append(stale, op)
		}
	}
	for op := range undocumented {
		if !served[op] {
			t.Errorf("allow-list names %s, which the app does not serve: drop it", op)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("routes without an operation in bff/openapi.yaml:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("operations in bff/openapi.yaml that no route serves:\n  %s", strings.Join(stale, "\n  "))
	}
	if len(served) < 30 {
		t.Errorf("only %d routes found: is the walk over the app still right?", len(served))
	}
}

// fiberParam is a Fiber path parameter, `:id` (optionally `:id?`).
var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)\??`)

// openAPIPath writes a Fiber route path the way OpenAPI does: `:id` → `{id}`.
func openAPIPath(p string) string { return fiberParam.ReplaceAllString(p, "{$1}") }

// documentedOperations reads "METHOD /path" for every operation in an
// OpenAPI document.
func documentedOperations(doc []byte) (map[string]bool, error) {
	var spec struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(doc, &spec); err != nil {
		return nil, err
	}
	methods := map[string]bool{"get": true, "put": true, "post": true, "delete": true,
		"options": true, "head": true, "patch": true, "trace": true}
	ops := map[string]bool{}
	for path, item := range spec.Paths {
		for key := range item {
			if methods[key] {
				ops[strings.ToUpper(key)+" "+path] = true
			}
		}
	}
	return ops, nil
}

// The conversion itself, table-tested so a silent mismatch cannot hide a gap.
func TestOpenAPIPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/api/v1/me/withdrawals/:id/cancel", "/api/v1/me/withdrawals/{id}/cancel"},
		{"/verify/:code", "/verify/{code}"},
		{"/api/v1/me/ecard/qr.png", "/api/v1/me/ecard/qr.png"},
		{"/a/:x/b/:y_z", "/a/{x}/b/{y_z}"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, openAPIPath(tt.in)); diff != "" {
			t.Errorf("openAPIPath(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}
