package withdrawal_test

import (
	"slices"
	"strings"
	"testing"

	"handheld/services/withdrawal"
)

func TestKindsOfferedOnKiosksByDefaultNeedNoEvidence(t *testing.T) {
	ps := withdrawal.DefaultPolicies()
	got := ps.KindsOn("kiosk")
	for _, k := range got {
		p, _ := ps.Policy(k)
		if len(p.Evidence) > 0 {
			t.Errorf("%s needs evidence yet is offered at kiosks", k)
		}
	}
	if !slices.Contains(got, withdrawal.KindRent) || slices.Contains(got, withdrawal.KindPurchase) {
		t.Fatalf("kiosk kinds %v", got)
	}
	if all := ps.KindsOn("miniapp"); len(all) != len(ps.Kinds) {
		t.Fatalf("mini-program kinds %v", all)
	}
	if len(ps.KindsOn("app")) != 0 {
		t.Fatal("the employer app is offered withdrawals")
	}
}

func TestChannelsAreConfigurableAndValidated(t *testing.T) {
	ps := withdrawal.DefaultPolicies()
	ps.Kinds[0].Channels = []string{"miniapp"} // rent: mini-program only
	if slices.Contains(ps.KindsOn("kiosk"), ps.Kinds[0].Kind) {
		t.Fatal("configured channels ignored")
	}
	ps.Kinds[1].Channels = []string{"kiosk"} // purchase at kiosks, on purpose
	if !ps.Kinds[1].OfferedOn("kiosk") || ps.Kinds[1].OfferedOn("miniapp") {
		t.Fatal("configured channels ignored")
	}
	if err := ps.Validate(); err != nil {
		t.Fatal(err)
	}
	ps.Kinds[2].Channels = []string{"kisok"}
	if err := ps.Validate(); err == nil || !strings.Contains(err.Error(), "channels") {
		t.Fatalf("a misspelt channel: %v", err)
	}
}
