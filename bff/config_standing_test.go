package bff

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The standing withdrawal policy comes from the configuration file and
// stops start-up, naming the setting, when it makes no sense against the
// withdrawal kinds.
func TestConfigStandingWithdrawals(t *testing.T) {
	load := func(yaml string) (Config, error) {
		path := filepath.Join(t.TempDir(), "centre.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return LoadConfig(map[string]string{"HANDHELD_CONFIG_FILE": path})
	}
	cfg, err := load("standing_withdrawals:\n  rent: {cap_per_month_fen: 150000, day_of_month: 5, reconfirm_every_months: 6}\n")
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.StandingWithdrawals["rent"]; p.CapPerMonthFen != 150000 || p.DayOfMonth != 5 || p.ReconfirmEveryMonths != 6 {
		t.Fatalf("rent = %+v", p)
	}
	for yaml, want := range map[string]string{
		"standing_withdrawals:\n  lottery: {cap_per_month_fen: 150000, day_of_month: 1}\n":    "standing_withdrawals.lottery",
		"standing_withdrawals:\n  retirement: {cap_per_month_fen: 150000, day_of_month: 1}\n": "standing_withdrawals.retirement",
		"standing_withdrawals:\n  purchase: {cap_per_month_fen: 150000, day_of_month: 1}\n":   "standing_withdrawals.purchase",
		"standing_withdrawals:\n  rent: {cap_per_month_fen: 150000, day_of_month: 31}\n":      "standing_withdrawals.rent.day_of_month",
		"standing_withdrawals:\n  rent: {cap_per_month_fen: 0, day_of_month: 1}\n":            "standing_withdrawals.rent.cap_per_month_fen",
		"standing_withdrawals:\n  rent: {cap_per_month_fen: 150000, every: month}\n":          "every",
	} {
		if _, err := load(yaml); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error naming %s", yaml, err, want)
		}
	}
}
