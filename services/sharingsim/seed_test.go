package sharingsim

import (
	"testing"

	"handheld/services/coresim"
)

// The seed follows the core simulator's personas: every demo person's ID
// number here is the persona's, so the embedded demo finds their facts.
func TestSeedMatchesCorePersonas(t *testing.T) {
	ids := map[string]string{}
	for _, p := range (*coresim.Sim)(nil).Personas() {
		if p.IDNumber != "" {
			ids[p.Name] = p.IDNumber
		}
	}
	for _, d := range demoIDs {
		if got := DemoID(d[1]); ids[d[1]] != got {
			t.Errorf("%s: seed %s, persona %s", d[1], got, ids[d[1]])
		}
	}
	if len(ids) != len(demoIDs) {
		t.Errorf("personas %d, seeded %d", len(ids), len(demoIDs))
	}
	people := seed()
	if _, ok := people[DemoID("陈静")]; ok {
		t.Error("陈静 must be unknown to every source")
	}
	if p := people[DemoID("吴敏")]; p.settledOn != "" {
		t.Error("吴敏 must have no settlement (her critical-illness application needs an upload)")
	}
	if p := people[DemoID("李娜")]; p.deed == nil {
		t.Error("李娜's purchase needs her deed")
	}
}
