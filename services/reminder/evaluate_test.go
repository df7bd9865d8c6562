package reminder_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/reminder"
)

// now is 18 November 2026, 10:00 in Shanghai.
var now = time.Date(2026, 11, 18, 10, 0, 0, 0, services.CentreTime)

func rule(t *testing.T, code string) reminder.Rule {
	t.Helper()
	r, ok := reminder.Defaults().Find(code)
	if !ok {
		t.Fatalf("no default rule %s", code)
	}
	return r
}

func TestMatch(t *testing.T) {
	normal := core.ReminderFacts{HasAccount: true, Status: core.StatusNormal, LastDepositMonth: "2026-10",
		LastDepositOn: "2026-10-15", LastDepositFen: 1_200_00, ContinuousMonths: 40}
	with := func(f core.ReminderFacts, edit func(*core.ReminderFacts)) reminder.Facts {
		edit(&f)
		return reminder.Facts{Core: f}
	}
	for _, tc := range []struct {
		name   string
		rule   string
		facts  reminder.Facts
		ok     bool
		amount int64
		values map[string]string
	}{
		{"instalment in 2 days", "loan_instalment_due", with(normal, func(f *core.ReminderFacts) { f.NextDueOn, f.NextPaymentFen = "2026-11-20", 3_310_47 }),
			true, 3_310_47, map[string]string{"due_on": "2026-11-20", "days": "2"}},
		{"instalment today", "loan_instalment_due", with(normal, func(f *core.ReminderFacts) { f.NextDueOn = "2026-11-18" }),
			true, 0, map[string]string{"due_on": "2026-11-18", "days": "0"}},
		{"instalment in 4 days", "loan_instalment_due", with(normal, func(f *core.ReminderFacts) { f.NextDueOn = "2026-11-22" }), false, 0, nil},
		{"no loan", "loan_instalment_due", reminder.Facts{Core: normal}, false, 0, nil},
		{"last month's deposit", "deposit_arrived", reminder.Facts{Core: normal}, true, 1_200_00, map[string]string{"month": "2026-10"}},
		{"deposit two months ago", "deposit_arrived", with(normal, func(f *core.ReminderFacts) { f.LastDepositMonth = "2026-09" }), false, 0, nil},
		{"no account", "deposit_arrived", reminder.Facts{}, false, 0, nil},
		{"certificate in 7 days", "certificate_expiring", reminder.Facts{Expires: now.Add(7*24*time.Hour + time.Hour)},
			true, 0, map[string]string{"expires_on": "2026-11-25", "days": "7"}},
		{"certificate in 8 days", "certificate_expiring", reminder.Facts{Expires: now.Add(8 * 24 * time.Hour)}, false, 0, nil},
		{"certificate expired", "certificate_expiring", reminder.Facts{Expires: now.Add(-time.Hour)}, false, 0, nil},
		{"just 4 months", "rent_eligible", with(normal, func(f *core.ReminderFacts) { f.ContinuousMonths = 4 }),
			true, 0, map[string]string{"months": "4"}},
		{"long eligible", "rent_eligible", reminder.Facts{Core: normal}, false, 0, nil},
		{"2 months only", "rent_eligible", with(normal, func(f *core.ReminderFacts) { f.ContinuousMonths = 2 }), false, 0, nil},
		{"frozen", "rent_eligible", with(normal, func(f *core.ReminderFacts) { f.ContinuousMonths, f.Status = 3, core.StatusFrozen }), false, 0, nil},
		{"sealed 7 months", "account_sealed", with(normal, func(f *core.ReminderFacts) { f.Status, f.LastDepositMonth = core.StatusSealed, "2026-03" }),
			true, 0, map[string]string{"months": "7", "month": "2026-03"}},
		{"sealed 5 months", "account_sealed", with(normal, func(f *core.ReminderFacts) { f.Status, f.LastDepositMonth = core.StatusSealed, "2026-05" }), false, 0, nil},
		{"normal, long without deposit", "account_sealed", with(normal, func(f *core.ReminderFacts) { f.LastDepositMonth = "2025-01" }), false, 0, nil},
		{"policy for normal accounts", "rent_cap_2027", reminder.Facts{Core: normal}, true, 0, map[string]string{}},
		{"policy, sealed account", "rent_cap_2027", with(normal, func(f *core.ReminderFacts) { f.Status = core.StatusSealed }), false, 0, nil},
		{"policy, no account", "rent_cap_2027", reminder.Facts{}, false, 0, nil},
	} {
		amount, values, ok := rule(t, tc.rule).Match(tc.facts, now)
		if ok != tc.ok || amount != tc.amount || !cmp.Equal(values, tc.values) {
			t.Errorf("%s: %v %d %v, want %v %d %v", tc.name, ok, amount, values, tc.ok, tc.amount, tc.values)
		}
	}
}
