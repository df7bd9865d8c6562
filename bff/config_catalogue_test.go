package bff

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"handheld/services/catalogue"
	"handheld/services/hours"
)

func loadFile(t *testing.T, doc string) (Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "centre.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return LoadConfig(map[string]string{"HANDHELD_CONFIG_FILE": path})
}

// The switches and hours live in catalogue.switches; the older top-level
// services: keeps working, folded into them, and the gate is built from
// the result.
func TestCatalogueSwitchesAndTheOlderServicesSetting(t *testing.T) {
	cfg, err := loadFile(t, `
services:
  employer: {app: {off: true}}
catalogue:
  switches:
    withdrawal: {kiosk: {hours: "08:00-20:00"}}
`)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cfg.catalogue()
	if err != nil {
		t.Fatal(err)
	}
	sw := c.Switches()
	if !sw[hours.Employer]["app"].Off || sw[hours.Withdrawal]["kiosk"].Hours != "08:00-20:00" {
		t.Errorf("switches %v", sw)
	}
	gate, err := hours.New(sw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := gate.Check(hours.Employer, "app"); err == nil {
		t.Error("employer open on the app although services: switched it off")
	}
	if len(c.Items(catalogueFilter("", ""))) < 20 {
		t.Error("a file naming only the switches lost the shipped items")
	}
}

// A switch set in both places, an unknown name in catalogue.switches or an
// item that makes no sense stops start-up naming the setting.
func TestCatalogueMistakesStopStartUp(t *testing.T) {
	cases := []struct{ name, file, want string }{
		{"both places", `
services:
  withdrawal: {"*": {off: true}}
catalogue:
  switches:
    withdrawal: {kiosk: {hours: "08:00-20:00"}}
`, "catalogue.switches.withdrawal"},
		{"unknown switch", `
catalogue:
  switches:
    withdrawals: {"*": {off: true}}
`, `catalogue.switches: flow "withdrawals"`},
		{"unknown field", `
catalogue:
  itemz: []
`, "itemz"},
		{"a kind without an item", `
catalogue:
  items:
    - code: account.overview
      category: account
      name: {zh-CN: 账户查询, en: Account}
      roles: [depositor]
      channels: [miniapp]
      switches: [account, certificate, withdrawal, employer]
      legal_working_days: 0
`, `catalogue.items: no item for the withdrawal kind "rent"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadFile(t, tc.file)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to name %s", err, tc.want)
			}
		})
	}
}

func catalogueFilter(channel, role string) catalogue.Filter {
	return catalogue.Filter{Channel: channel, Role: role}
}
