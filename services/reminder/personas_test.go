package reminder_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"handheld/services/core"
	"handheld/services/coresim"
	"handheld/services/reminder"
)

const secret = "reminder-test-core-secret-0123456789"

// The simulator's demo personas make every shipped rule fire for some
// and not for others, through the core's reminder-facts call: on the
// 18th, 张伟's instalment of the 20th is due in 2 days.
// (certificate_expiring reads handheld's own certificates: TestMatch.)
func TestEveryRuleFiresForSomePersonas(t *testing.T) {
	ctx := context.Background()
	clock := func() time.Time { return now }
	sim, err := coresim.Open(ctx, coresim.Config{Path: filepath.Join(t.TempDir(), "core.db"),
		Keys: map[string][]byte{"handheld": []byte(secret)}, BcryptCost: bcrypt.MinCost, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); _ = sim.Close() })
	c, err := core.NewClient(core.ClientConfig{BaseURL: srv.URL, KeyID: "handheld", Secret: []byte(secret), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{} // person id → name
	var ids []string
	for _, p := range sim.Personas() {
		if p.Role != "depositor" && p.Role != "person" {
			continue
		}
		person, err := c.VerifyRealName(ctx, p.Name, p.IDNumber)
		if err != nil {
			t.Fatal(err)
		}
		names[person.PersonID] = p.Name
		ids = append(ids, person.PersonID)
	}
	facts, err := c.ReminderFacts(ctx, append(ids, "P-no-such-person"))
	if err != nil {
		t.Fatal(err)
	}
	if len(facts) != len(ids) {
		t.Fatalf("%d facts for %d known persons (and one unknown, left out)", len(facts), len(ids))
	}
	want := map[string][]string{
		"loan_instalment_due": {"张伟"},
		"deposit_arrived":     {"张伟", "李娜", "欧阳晓峰", "吴敏", "刘洋", "孙丽", "周强", "林晓𪚥"},
		"rent_eligible":       {"周强"},
		"account_sealed":      {"王芳", "赵建国"},
		"rent_cap_2027":       {"张伟", "李娜", "欧阳晓峰", "吴敏", "孙丽", "周强", "林晓𪚥"},
	}
	for _, r := range reminder.Defaults() {
		if r.When == reminder.CertificateExpiring {
			continue
		}
		var got []string
		for _, f := range facts {
			if _, _, ok := r.Match(reminder.Facts{Core: f}, now); ok {
				got = append(got, names[f.PersonID])
			}
		}
		slices.Sort(got)
		w := slices.Sorted(slices.Values(want[r.Code]))
		if !slices.Equal(got, w) {
			t.Errorf("%s fires for %v, want %v", r.Code, got, w)
		}
	}
	// Bad batches are the core's 400.
	if _, err := c.ReminderFacts(ctx, []string{ids[0], ids[0]}); err == nil {
		t.Error("an id named twice was answered")
	}
	if _, err := c.ReminderFacts(ctx, make([]string, core.MaxReminderFacts+1)); err == nil {
		t.Error("an oversize batch was sent")
	}
}
