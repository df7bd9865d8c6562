package bff

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

// Every /api/v1/employer route has an entry in the operator policy, and
// every entry names a served route: a new route cannot skip the policy
// (it would be refused for everyone), and a stale entry cannot linger.
func TestEveryEmployerRouteHasAPolicy(t *testing.T) {
	table := employerRoutes()
	if err := table.Check(); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(map[string]string{"HANDHELD_DATA_DIR": t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	var served []string
	for _, r := range a.http.GetRoutes(true) {
		if r.Method == "HEAD" || r.Method == "USE" || !strings.HasPrefix(r.Path, "/api/v1/employer/") {
			continue
		}
		route := r.Method + " " + r.Path
		served = append(served, route)
		if _, ok := table[route]; !ok {
			t.Errorf("%s has no entry in employerRoutes", route)
		}
	}
	if len(served) < 15 {
		t.Fatalf("found only %d employer routes: %v", len(served), served)
	}
	for route := range table {
		if !slices.Contains(served, route) {
			t.Errorf("employerRoutes names %s, which is not served", route)
		}
	}
}
