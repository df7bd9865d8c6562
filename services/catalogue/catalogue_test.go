package catalogue

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"handheld/services/hours"
	"handheld/services/withdrawal"
)

func shippedCatalogue(t *testing.T) *Catalogue {
	t.Helper()
	c, err := New(Default(), withdrawal.DefaultPolicies())
	if err != nil {
		t.Fatalf("the shipped catalogue: %v", err)
	}
	return c
}

// Every withdrawal kind and every service switch the routes name has an
// item: a client building its menus from the catalogue misses none, and
// every switch's hours are published somewhere.
func TestEveryKindAndSwitchHasAnItem(t *testing.T) {
	c := shippedCatalogue(t)
	for _, kind := range withdrawal.DefaultPolicies().KindNames() {
		i := slices.IndexFunc(c.Items(Filter{}), func(s Service) bool { return s.WithdrawalKind == kind })
		if i < 0 {
			t.Errorf("no item for the withdrawal kind %s", kind)
			continue
		}
		if got := c.Items(Filter{})[i].Code; got != "withdrawal."+kind {
			t.Errorf("kind %s: item %s, want withdrawal.%s", kind, got, kind)
		}
		if n, ok := c.PromisedWorkingDays(kind); !ok || n < 1 || n > withdrawal.DefaultPolicies().DecisionWorkingDays {
			t.Errorf("kind %s: promised %d, %v", kind, n, ok)
		}
	}
	for _, sw := range hours.Services() {
		if !slices.ContainsFunc(c.Items(Filter{}), func(s Service) bool { return slices.Contains(s.Switches, sw) }) {
			t.Errorf("no item behind the %s switch", sw)
		}
	}
}

// Every text of the shipped catalogue is there in both languages.
func TestShippedLocalesComplete(t *testing.T) {
	c := shippedCatalogue(t)
	check := func(where string, x Text) {
		if strings.TrimSpace(x.ZhCN) == "" || strings.TrimSpace(x.En) == "" {
			t.Errorf("%s: %+v", where, x)
		}
	}
	for _, s := range c.Items(Filter{}) {
		check(s.Code+".name", s.Name)
		if s.Summary != (Text{}) {
			check(s.Code+".summary", s.Summary)
		}
		for i, x := range s.Conditions {
			check(s.Code+".conditions["+string(rune('0'+i))+"]", x)
		}
		for _, m := range s.Materials {
			check(s.Code+".materials."+m.Code, m.Name)
		}
	}
}

// A withdrawal kind's materials and sources are its policy's
// evidence_sources, and its statutory time the policies' decision time.
func TestWithdrawalItemsComeFromThePolicies(t *testing.T) {
	ws := withdrawal.DefaultPolicies()
	ws.DecisionWorkingDays = 5
	for i, p := range ws.Kinds {
		if p.Kind == withdrawal.KindRent {
			ws.Kinds[i].EvidenceSources = []withdrawal.EvidenceSource{{Evidence: "marriage", Sources: []string{"civil_affairs.marriage"}}}
			ws.Kinds[i].Channels = []string{"miniapp"}
		}
	}
	c, err := New(Default(), ws)
	if err != nil {
		t.Fatal(err)
	}
	purchase, _ := c.Item("withdrawal.purchase")
	want := []Material{
		{Code: "property_registration", Name: Default().Materials["property_registration"],
			Sources: []string{"real_estate.deed", "real_estate.filed_contract"}, Upload: true},
		{Code: "marriage", Name: Default().Materials["marriage"], Sources: []string{"civil_affairs.marriage"}, Optional: true},
	}
	if diff := cmp.Diff(want, purchase.Materials); diff != "" {
		t.Errorf("purchase materials (-want +got):\n%s", diff)
	}
	if purchase.LegalWorkingDays != 5 || purchase.PromisedWorkingDays != 2 {
		t.Errorf("purchase time limits %d/%d, want 5/2", purchase.LegalWorkingDays, purchase.PromisedWorkingDays)
	}
	if diff := cmp.Diff([]string{"miniapp", "kiosk"}, purchase.Channels); diff == "" {
		t.Errorf("purchase offered at kiosks although it needs documents")
	}
	rent, _ := c.Item("withdrawal.rent")
	if len(rent.Materials) != 1 || rent.Materials[0].Code != "marriage" || !slices.Equal(rent.Channels, []string{"miniapp"}) {
		t.Errorf("rent: %+v %v", rent.Materials, rent.Channels)
	}
}

func TestFilters(t *testing.T) {
	c := shippedCatalogue(t)
	codes := func(f Filter) []string {
		var out []string
		for _, s := range c.Items(f) {
			out = append(out, s.Code)
		}
		return out
	}
	kiosk := codes(Filter{Channel: "kiosk"})
	if !slices.Contains(kiosk, "kiosk.print") || !slices.Contains(kiosk, "withdrawal.rent") || slices.Contains(kiosk, "withdrawal.purchase") {
		t.Errorf("kiosk: %v", kiosk)
	}
	employer := codes(Filter{Role: "employer"})
	if !slices.Contains(employer, "employer.staff_join") || !slices.Contains(employer, "loan.calculator") || slices.Contains(employer, "withdrawal.rent") {
		t.Errorf("employer: %v", employer)
	}
	if got := codes(Filter{Channel: "app", Role: "depositor"}); !slices.Equal(got, []string{"loan.calculator", "certificate.verify"}) {
		t.Errorf("depositor on the app: %v", got)
	}
}

// The published hours are the gate's rules: a switch off on a channel is
// off there, the channel's own hours win over "*", and a service behind
// two switches carries both windows.
func TestAvailabilityFollowsTheSwitches(t *testing.T) {
	cfg := Default()
	cfg.Switches = hours.Policy{
		hours.Withdrawal: {"kiosk": {Hours: "08:00-20:00"}, "*": {Hours: "06:00-23:30"}},
		hours.Account:    {"kiosk": {Hours: "07:00-21:00"}, "app": {Off: true}},
	}
	c, err := New(cfg, withdrawal.DefaultPolicies())
	if err != nil {
		t.Fatal(err)
	}
	rent, _ := c.Item("withdrawal.rent")
	want := []Availability{{Channel: "miniapp", Hours: []string{"06:00-23:30"}},
		{Channel: "kiosk", Hours: []string{"07:00-21:00", "08:00-20:00"}}}
	if diff := cmp.Diff(want, c.Availability(rent)); diff != "" {
		t.Errorf("rent (-want +got):\n%s", diff)
	}
	calc, _ := c.Item("loan.calculator")
	for _, a := range c.Availability(calc) {
		if a.Off || len(a.Hours) > 0 {
			t.Errorf("calculator behind no switch: %+v", a)
		}
	}
	if c.Version() == shippedCatalogue(t).Version() {
		t.Errorf("changed switches kept the version %s", c.Version())
	}
}

// A catalogue that makes no sense stops start-up with the setting named.
func TestValidateNamesTheSetting(t *testing.T) {
	item := func(code string) int {
		return slices.IndexFunc(Default().Items, func(it Item) bool { return it.Code == code })
	}
	three, seventy := 3, 70
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no version", func(c *Config) { c.Version = "" }, "catalogue.version"},
		{"unknown switch", func(c *Config) { c.Switches = hours.Policy{"withdrawals": {"*": {Off: true}}} }, `catalogue.switches: flow "withdrawals"`},
		{"switch hours", func(c *Config) { c.Switches = hours.Policy{"account": {"*": {Hours: "8-20"}}} }, "catalogue.switches"},
		{"missing english", func(c *Config) { c.Items[0].Name.En = "" }, "catalogue.items[0] (account.overview).name"},
		{"condition half", func(c *Config) { c.Items[0].Conditions = []Text{{ZhCN: "仅中文"}} }, "conditions[0]"},
		{"bad role", func(c *Config) { c.Items[0].Roles = []string{"depositer"} }, `roles: "depositer"`},
		{"bad channel", func(c *Config) { c.Items[0].Channels = []string{"mini_app"} }, `channels: "mini_app"`},
		{"bad item switch", func(c *Config) { c.Items[0].Switches = []hours.Service{"acount"} }, `switches: "acount"`},
		{"bad code", func(c *Config) { c.Items[0].Code = "Account Overview" }, "code:"},
		{"twice", func(c *Config) { c.Items[1].Code = c.Items[0].Code }, "listed twice"},
		{"unknown material", func(c *Config) { c.Items[0].Materials = []string{"passport"} }, `materials: "passport"`},
		{"promise over legal", func(c *Config) { c.Items[0].PromisedWorkingDays = &three }, "promised_working_days"},
		{"legal too long", func(c *Config) { c.Items[0].LegalWorkingDays = &seventy }, "legal_working_days"},
		{"negative fee", func(c *Config) { c.Items[0].FeeFen = -1 }, "fee_fen"},
		{"kind missing", func(c *Config) { c.Items = slices.Delete(c.Items, item("withdrawal.rent"), item("withdrawal.rent")+1) },
			`no item for the withdrawal kind "rent"`},
		{"unknown kind", func(c *Config) { c.Items[item("withdrawal.rent")].WithdrawalKind = "renting" }, `withdrawal_kind: "renting"`},
		{"kind channels written", func(c *Config) { c.Items[item("withdrawal.rent")].Channels = []string{"miniapp"} }, "not written here"},
		{"kind legal written", func(c *Config) { c.Items[item("withdrawal.rent")].LegalWorkingDays = &three }, "decision_working_days"},
		{"kind promise too long", func(c *Config) { c.Items[item("withdrawal.rent")].PromisedWorkingDays = &seventy }, "promised_working_days"},
		{"evidence unnamed", func(c *Config) { delete(c.Materials, "diagnosis") }, `"diagnosis"`},
		{"switch unpublished", func(c *Config) {
			for i := range c.Items {
				c.Items[i].Switches = slices.DeleteFunc(c.Items[i].Switches, func(s hours.Service) bool { return s == hours.Employer })
			}
		}, `"employer" switch`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			tc.edit(&cfg)
			_, err := New(cfg, withdrawal.DefaultPolicies())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to name %s", err, tc.want)
			}
		})
	}
}

// The services: setting written before the catalogue folds into its
// switches; the same switch set in both places is refused.
func TestLegacySwitches(t *testing.T) {
	cfg := Default()
	cfg.Switches = hours.Policy{hours.Account: {"kiosk": {Hours: "07:00-21:00"}}}
	got, err := cfg.WithLegacySwitches(hours.Policy{hours.Withdrawal: {"*": {Off: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Switches) != 2 || !got.Switches[hours.Withdrawal]["*"].Off || len(cfg.Switches) != 1 {
		t.Errorf("merged %v (from %v)", got.Switches, cfg.Switches)
	}
	if _, err := cfg.WithLegacySwitches(hours.Policy{hours.Account: {"*": {Off: true}}}); err == nil ||
		!strings.Contains(err.Error(), "services.account") || !strings.Contains(err.Error(), "catalogue.switches.account") {
		t.Errorf("conflict: %v", err)
	}
}

func TestParseRefusesUnknownFields(t *testing.T) {
	if _, err := Parse([]byte("version: x\nitemz: []\n")); err == nil || !strings.Contains(err.Error(), "itemz") {
		t.Errorf("err %v", err)
	}
}
