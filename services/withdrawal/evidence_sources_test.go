package withdrawal_test

import (
	"strings"
	"testing"

	"handheld/services/withdrawal"
)

// A configuration without evidence_sources keeps working: each kind gets
// the defaults, and the purchase's deed comes from the real-estate registry.
func TestEvidenceSourcesDefaultAndValidate(t *testing.T) {
	ps := withdrawal.DefaultPolicies()
	if err := ps.Validate(); err != nil {
		t.Fatal(err)
	}
	purchase, _ := ps.Policy(withdrawal.KindPurchase)
	ev := purchase.SharedEvidence()
	if len(ev) == 0 || ev[0].Evidence != "property_registration" || ev[0].Sources[0] != "real_estate.deed" || !ev[0].Upload {
		t.Fatalf("purchase evidence %+v", ev)
	}
	rent, _ := ps.Policy(withdrawal.KindRent)
	if len(rent.SharedEvidence()) != 0 {
		t.Fatalf("rent needs no evidence: %+v", rent.SharedEvidence())
	}
	for _, c := range []struct {
		es   []withdrawal.EvidenceSource
		want string
	}{
		{[]withdrawal.EvidenceSource{{Evidence: "Deed!", Sources: []string{"real_estate.deed"}}}, "evidence"},
		{[]withdrawal.EvidenceSource{{Evidence: "deed"}}, "nothing could satisfy it"},
		{[]withdrawal.EvidenceSource{{Evidence: "deed", Sources: []string{"real_estate"}}}, "source.fact"},
		{[]withdrawal.EvidenceSource{{Evidence: "deed", Sources: []string{"real_estate.Deed"}}}, "source.fact"},
	} {
		bad := withdrawal.DefaultPolicies()
		bad.Kinds[1].EvidenceSources = c.es
		if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v", c.es, err)
		}
	}
	// Configured sources replace the defaults.
	ok := withdrawal.DefaultPolicies()
	ok.Kinds[1].EvidenceSources = []withdrawal.EvidenceSource{{Evidence: "property_registration", Sources: []string{"real_estate.filed_contract"}}}
	if err := ok.Validate(); err != nil || ok.Kinds[1].SharedEvidence()[0].Sources[0] != "real_estate.filed_contract" {
		t.Fatalf("configured: %v", err)
	}
}
