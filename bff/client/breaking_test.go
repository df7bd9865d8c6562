package client

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"
	"gopkg.in/yaml.v3"
)

// Announcement is a breaking change client developers were told of: one
// entry of announced.yaml.
type Announcement struct {
	ID     string `yaml:"id"`
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
	Reason string `yaml:"reason"`
}

// Clients built on the last release keep working: every change oasdiff
// calls breaking between released/openapi.yaml and bff/openapi.yaml is in
// announced.yaml, and every announcement is still a change.
func TestNoUnannouncedBreakingChange(t *testing.T) {
	released, err := os.ReadFile("released/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	current, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	announced, err := readAnnounced("announced.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range gate(t, released, current, announced) {
		t.Error(p)
	}
}

// The gate itself, on changes made to the released document here: a
// removed operation and a new required request field fail it until
// announced, and an announcement that matches nothing fails it too.
func TestBreakingChangeGate(t *testing.T) {
	released, err := os.ReadFile("released/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	broken := replace(t, released, "\n  /api/v1/me/ecard/usage:\n", "\n  /api/v1/me/ecard/uses:\n")
	broken = replace(t, broken, "required: [refresh_token]\n              properties:\n",
		"required: [refresh_token, device]\n              properties:\n                device: { type: string }\n")
	removed := Announcement{ID: "api-path-removed-without-deprecation", Method: "GET", Path: "/api/v1/me/ecard/usage", Reason: "renamed"}
	required := Announcement{ID: "new-required-request-property", Path: "/api/v1/auth/refresh", Reason: "devices are named"}
	stale := Announcement{ID: "api-path-removed-without-deprecation", Path: "/api/v1/me/home", Reason: "never happened"}

	tests := []struct {
		name      string
		announced []Announcement
		want      []string // each a substring of one problem, in order
	}{
		{"nothing announced", nil, []string{
			"api-path-removed-without-deprecation GET /api/v1/me/ecard/usage",
			"new-required-request-property POST /api/v1/auth/refresh: added the new required request property `device`",
		}},
		{"one announced", []Announcement{removed}, []string{"new-required-request-property POST /api/v1/auth/refresh"}},
		{"both announced", []Announcement{removed, required}, nil},
		{"a stale announcement", []Announcement{removed, required, stale}, []string{"announced.yaml: api-path-removed-without-deprecation /api/v1/me/home"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gate(t, released, broken, tt.announced)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
	if got := gate(t, released, released, nil); len(got) != 0 {
		t.Errorf("the released document against itself: %v", got)
	}
}

// gate answers what stops a change from released to current: each breaking
// change not announced, with oasdiff's message, and each announcement that
// matches no change.
func gate(t *testing.T, released, current []byte, announced []Announcement) []string {
	t.Helper()
	base, err := load.NewSpecInfoFromData(openapi3.NewLoader(), released, "released/openapi.yaml")
	if err != nil {
		t.Fatalf("released/openapi.yaml: %v", err)
	}
	rev, err := load.NewSpecInfoFromData(openapi3.NewLoader(), current, "bff/openapi.yaml")
	if err != nil {
		t.Fatalf("bff/openapi.yaml: %v", err)
	}
	d, sources, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), base, rev)
	if err != nil {
		t.Fatalf("oasdiff: %v", err)
	}
	changes := checker.CheckBackwardCompatibilityUntilLevel(checker.NewConfig(checker.GetAllChecks()), d, sources, checker.WARN)
	l := checker.NewDefaultLocalizer()
	matched := make([]bool, len(announced))
	var problems []string
	for _, c := range changes {
		msg := fmt.Sprintf("%s %s %s: %s", c.GetId(), c.GetOperation(), c.GetPath(), c.GetUncolorizedText(l))
		if c.GetLevel() != checker.ERR {
			t.Logf("may break clients (not enforced): %s", msg)
			continue
		}
		found := false
		for i, a := range announced {
			if a.ID == c.GetId() && a.Path == c.GetPath() && (a.Method == "" || strings.EqualFold(a.Method, c.GetOperation())) {
				matched[i], found = true, true
			}
		}
		if !found {
			problems = append(problems, "breaking change not in bff/client/announced.yaml: "+msg)
		}
	}
	sort.Strings(problems)
	for i, a := range announced {
		if !matched[i] {
			problems = append(problems, fmt.Sprintf("announced.yaml: %s %s matches no breaking change: drop it", a.ID, a.Path))
		}
	}
	return problems
}

// readAnnounced reads announced.yaml strictly: an unknown or missing field
// is an error, not an announcement that silently matches nothing.
func readAnnounced(name string) ([]Announcement, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Announced []Announcement `yaml:"announced"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for i, a := range doc.Announced {
		if a.ID == "" || a.Path == "" || a.Reason == "" {
			return nil, fmt.Errorf("%s: entry %d needs id, path and reason", name, i+1)
		}
	}
	return doc.Announced, nil
}

func replace(t *testing.T, doc []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(doc, []byte(old)) {
		t.Fatalf("released/openapi.yaml no longer contains %q: update this test", old)
	}
	return bytes.Replace(doc, []byte(old), []byte(new), 1)
}
