package transfer

import (
	"testing"

	"handheld/services"
	"handheld/services/platform"
)

func TestJudge(t *testing.T) {
	p := DefaultPolicy()
	sealed := &platform.Account{Centre: "110100", Status: platform.StatusSealed}
	normal := &platform.Account{Centre: "310100", Status: platform.StatusNormal}
	frozen := &platform.Account{Centre: "510100", Status: platform.StatusFrozen}
	ok := Facts{OwnCentre: "330100", FromCentre: "110100", Elsewhere: sealed, LocalStatus: "01"}
	with := func(change func(*Facts)) Facts {
		f := ok
		change(&f)
		return f
	}
	tests := []struct {
		name  string
		facts Facts
		want  services.Code
	}{
		{"a sealed account into a normal one", ok, ""},
		{"from the local centre to itself", with(func(f *Facts) { f.FromCentre = "330100" }), services.CodeTransferOwnCentre},
		{"from a centre the policy does not list", with(func(f *Facts) { f.FromCentre = "440100" }), services.CodeTransferUnknownCentre},
		{"another in flight", with(func(f *Facts) { f.InFlight = 1 }), services.CodeTransferInFlight},
		{"not the person's", with(func(f *Facts) { f.Elsewhere = nil }), services.CodeTransferAccountUnknown},
		{"normal elsewhere", with(func(f *Facts) { f.FromCentre, f.Elsewhere = "310100", normal }), services.CodeTransferNotTransferable},
		{"frozen elsewhere", with(func(f *Facts) { f.FromCentre, f.Elsewhere = "510100", frozen }), services.CodeTransferNotTransferable},
		{"local account sealed", with(func(f *Facts) { f.LocalStatus = "02" }), services.CodeTransferLocalAccount},
		{"no local account", with(func(f *Facts) { f.LocalStatus = "" }), services.CodeTransferLocalAccount},
		// The order a person fixes them in: the centre first.
		{"own centre and in flight", with(func(f *Facts) { f.FromCentre, f.InFlight = "330100", 1 }), services.CodeTransferOwnCentre},
	}
	for _, tt := range tests {
		err := p.Judge(tt.facts)
		got := services.Code("")
		if err != nil {
			got = services.ErrorCode(err)
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	// Policy is data: a centre that transfers normal accounts too.
	p.TransferableStatuses = append(p.TransferableStatuses, platform.StatusNormal)
	if err := p.Judge(with(func(f *Facts) { f.FromCentre, f.Elsewhere = "310100", normal })); err != nil {
		t.Errorf("normal allowed by policy: %v", err)
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	for name, change := range map[string]func(*Policy){
		"no centres":        func(p *Policy) { p.Centres = nil },
		"bad centre":        func(p *Policy) { p.Centres = []string{"11010"} },
		"unknown status":    func(p *Policy) { p.TransferableStatuses = []string{"closed"} },
		"no local statuses": func(p *Policy) { p.LocalStatuses = nil },
		"two in flight":     func(p *Policy) { p.MaxInFlight = 2 },
		"no poll interval":  func(p *Policy) { p.PollInterval = 0 },
		"due 0 days":        func(p *Policy) { p.DueWorkingDays = 0 },
	} {
		p := DefaultPolicy()
		change(&p)
		if p.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
