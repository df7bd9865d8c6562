package coresim

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services/core"
)

func TestPayoutAccountsAreThePersonsOwn(t *testing.T) {
	h := newHarness(t)
	seen := map[string]string{}
	for _, p := range h.sim.Personas() {
		if p.Role == "employer" {
			continue
		}
		var got core.PayoutAccountList
		h.get(path(core.PathPayoutAccounts, h.personID(p.Name)), &got)
		want := p.PayoutAccounts
		if want == nil {
			want = []core.PayoutAccount{}
		}
		if diff := cmp.Diff(want, got.Items); diff != "" {
			t.Errorf("%s: payout accounts (-Personas +core):\n%s", p.Name, diff)
		}
		for _, a := range got.Items {
			if other, ok := seen[a.ID]; ok {
				t.Errorf("account id %s of %s is also %s's", a.ID, p.Name, other)
			}
			seen[a.ID] = p.Name
			switch a.Kind {
			case core.PayoutBankCard:
				if luhn(a.Number[:len(a.Number)-1]) != a.Number || a.Institution == "" {
					t.Errorf("%s: card %+v", p.Name, a)
				}
			case core.PayoutECNY:
				if len(a.Number) != 16 || a.Institution == "" {
					t.Errorf("%s: wallet %+v", p.Name, a)
				}
			default:
				t.Errorf("%s: kind %q", p.Name, a.Kind)
			}
		}
	}
	kinds := func(name string) (cards, wallets int) {
		for _, a := range h.persona(name).PayoutAccounts {
			if a.Kind == core.PayoutBankCard {
				cards++
			} else {
				wallets++
			}
		}
		return cards, wallets
	}
	if c, w := kinds("李娜"); c != 2 || w != 1 {
		t.Errorf("李娜 has %d cards and %d wallets, want 2 and 1", c, w)
	}
	if c, w := kinds("孙丽"); c != 0 || w != 0 {
		t.Errorf("孙丽 has %d cards and %d wallets, want none", c, w)
	}
	resp, b := h.request(http.MethodGet, path(core.PathPayoutAccounts, "P9999"), nil, signing{})
	wantError(t, resp, b, http.StatusNotFound, core.ErrNotFound)
}

func TestEvidenceCheckConfirmsOnlyTheRightPersonsRecords(t *testing.T) {
	h := newHarness(t)
	lina := h.personID("李娜")
	deed, zhangDeed := h.record("李娜", core.EvidencePropertyRegistration), h.record("张伟", core.EvidencePropertyRegistration)
	diagnosis := h.record("李娜", core.EvidenceDiagnosis)
	property := []string{core.EvidencePropertyRegistration}
	tests := []struct {
		name       string
		categories []string
		refs       []string
		unknown    []string
	}{
		{"her deed", property, []string{deed}, []string{}},
		{"her deed and contract", property, []string{deed, "contract:HZ-SP-2026-1107"}, []string{}},
		{"no refs", property, nil, []string{}},
		{"a made-up deed", property, []string{"deed:anything"}, []string{"deed:anything"}},
		{"another person's deed", property, []string{zhangDeed}, []string{zhangDeed}},
		{"her diagnosis as a deed", property, []string{diagnosis}, []string{diagnosis}},
		{"her diagnosis as a diagnosis", []string{core.EvidenceDiagnosis}, []string{diagnosis}, []string{}},
		{"one good, one not", property, []string{deed, "deed:x", zhangDeed}, []string{"deed:x", zhangDeed}},
		{"case differs", property, []string{strings.ToUpper(deed)}, []string{strings.ToUpper(deed)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := h.request(http.MethodPost, path(core.PathEvidenceCheck, lina), core.EvidenceCheck{Categories: tt.categories, Refs: tt.refs}, signing{})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			var got core.EvidenceResult
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.unknown, got.Unknown); diff != "" {
				t.Errorf("unknown (-want +got):\n%s", diff)
			}
		})
	}
	for name, body := range map[string]any{
		"no category":      core.EvidenceCheck{Refs: []string{deed}},
		"unknown category": core.EvidenceCheck{Categories: []string{"passport"}, Refs: []string{deed}},
		"empty ref":        core.EvidenceCheck{Categories: property, Refs: []string{""}},
		"too many refs":    core.EvidenceCheck{Categories: property, Refs: slices.Repeat([]string{deed}, maxEvidenceRefs+1)},
		"unknown field":    map[string]any{"categories": property, "refs": []string{}, "person_id": "P1"},
	} {
		t.Run(name, func(t *testing.T) {
			resp, b := h.request(http.MethodPost, path(core.PathEvidenceCheck, lina), body, signing{})
			wantError(t, resp, b, http.StatusBadRequest, core.ErrBadRequest)
		})
	}
	resp, b := h.request(http.MethodPost, path(core.PathEvidenceCheck, "P9999"), core.EvidenceCheck{Categories: property, Refs: []string{deed}}, signing{})
	wantError(t, resp, b, http.StatusNotFound, core.ErrNotFound)
}

// TestReviewRefusesAPayoutToAnAccountNotHeld: the core pays only to the
// applicant's own account, whatever the applicant's side let through, and
// the ledger entry names the application it paid.
func TestReviewRefusesAPayoutToAnAccountNotHeld(t *testing.T) {
	h := newHarness(t)
	lina := h.personID("李娜")
	own := h.persona("李娜").PayoutAccounts
	theirs := h.persona("张伟").PayoutAccounts[0]
	wallet := own[len(own)-1]
	cases := []struct {
		name       string
		id, number string
		kind       string
		reason     string
	}{
		{"another person's card", theirs.ID, theirs.Number, theirs.Kind, ReasonPayoutAccountUnknown},
		{"her id, another person's number", own[0].ID, theirs.Number, own[0].Kind, ReasonPayoutAccountUnknown},
		{"another person's id, her number", theirs.ID, own[0].Number, own[0].Kind, ReasonPayoutAccountUnknown},
		{"her card as a wallet", own[0].ID, own[0].Number, core.PayoutECNY, ReasonPayoutAccountUnknown},
		{"an unknown id", "pa_0000000000000000", own[0].Number, own[0].Kind, ReasonPayoutAccountUnknown},
		{"no id", "", own[0].Number, own[0].Kind, ReasonPayoutAccountUnknown},
		{"her wallet", wallet.ID, wallet.Number, wallet.Kind, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			w := core.Withdrawal{ApplicationID: "app-payout", PersonID: lina, Kind: "07", AmountFen: 100000,
				PayoutMethod: c.kind, PayoutAccount: c.number, PayoutAccountID: c.id}
			t0 := h.clock.Now()
			if code, _, b := h.submit(w); code != http.StatusCreated {
				t.Fatalf("submit: %d %s", code, b)
			}
			h.clock.Set(t0.Add(30 * time.Second))
			st := h.status("app-payout")
			if c.reason != "" {
				if st.Status != core.WithdrawalRejected || st.Reason != c.reason {
					t.Errorf("got %s %q, want rejected %q", st.Status, st.Reason, c.reason)
				}
				return
			}
			h.clock.Set(t0.Add(30*time.Second + 2*time.Minute))
			if st := h.status("app-payout"); st.Status != core.WithdrawalPaid {
				t.Fatalf("got %+v, want paid", st)
			}
			var page core.DepositPage
			h.get(path(core.PathDeposits, lina)+"?limit=1", &page)
			if len(page.Items) != 1 || page.Items[0].ApplicationID != "app-payout" || page.Items[0].AmountFen != -100000 {
				t.Errorf("newest entry %+v, want the withdrawal naming app-payout", page.Items)
			}
		})
	}
}

// holdingsRow is a persona's holdings as a row of the README table.
func holdingsRow(p Persona) string {
	var accounts, records []string
	for _, a := range p.PayoutAccounts {
		accounts = append(accounts, "`"+a.ID+"` "+a.Kind+" "+a.Number+" "+a.Institution)
	}
	for _, r := range p.Records {
		records = append(records, "`"+r.Ref+"` "+r.Category)
	}
	cell := func(items []string) string {
		if len(items) == 0 {
			return "none"
		}
		return strings.Join(items, "; ")
	}
	return "| " + p.Name + " | " + cell(accounts) + " | " + cell(records) + " |"
}

// TestREADMEListsTheHoldings keeps the documented payout accounts and
// records true.
func TestREADMEListsTheHoldings(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	for _, p := range h.sim.Personas() {
		if p.Role == "employer" {
			continue
		}
		if row := holdingsRow(p); !strings.Contains(string(readme), row+"\n") {
			t.Errorf("README.md lacks the row\n%s", row)
		}
	}
}
