package coresim

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"handheld/services/core"
)

// TestWithdrawalCasesHold submits every case of WithdrawalCases (the README
// table) on a fresh simulator with the short delays the end-to-end tests
// use: eligible personas are approved after the review delay and paid after
// the payout delay (a closing one closes the account), the others are
// rejected with the documented reason.
func TestWithdrawalCasesHold(t *testing.T) {
	const review, payout = time.Second, 2 * time.Second
	offered := map[string]bool{"01": true, "03": true, "05": true, "06": true, "07": true, "09": true, "99": true}
	for _, c := range WithdrawalCases() {
		if !offered[c.Kind] || len(c.Eligible) == 0 || len(c.Ineligible) == 0 {
			t.Errorf("kind %s: %d eligible, %d ineligible; want a kind the BFF offers with both", c.Kind, len(c.Eligible), len(c.Ineligible))
		}
		delete(offered, c.Kind)
		type run struct {
			name, reason string
		}
		runs := []run{}
		for _, n := range c.Eligible {
			runs = append(runs, run{name: n})
		}
		for _, r := range c.Ineligible {
			if r.Reason == "" || r.Why == "" {
				t.Errorf("kind %s, %s: refusal without reason or why", c.Kind, r.Name)
			}
			runs = append(runs, run{r.Name, r.Reason})
		}
		for _, r := range runs {
			t.Run(c.Kind+" "+r.name, func(t *testing.T) {
				t.Parallel() // a simulator and a clock each
				h := newHarness(t, withDelays(review, payout))
				id := h.personID(r.name)
				acc, hasAccount := h.account(id)
				w := h.withPayout(core.Withdrawal{ApplicationID: "app-case", PersonID: id, Kind: c.Kind, AmountFen: 100000, CloseAccount: c.CloseAccount})
				if c.CloseAccount && hasAccount {
					w.AmountFen = acc.BalanceFen
				}
				if c.Evidence != "" {
					w.EvidenceRefs = []string{h.record(r.name, kindEvidence(c.Kind)[0])}
				}
				t0 := h.clock.Now()
				if code, _, b := h.submit(w); code != http.StatusCreated {
					t.Fatalf("submit: %d %s", code, b)
				}
				h.clock.Set(t0.Add(review - time.Nanosecond))
				if st := h.status("app-case"); st.Status != core.WithdrawalSubmitted {
					t.Fatalf("before the review delay: %+v", st)
				}
				h.clock.Set(t0.Add(review))
				st := h.status("app-case")
				if r.reason != "" {
					if st.Status != core.WithdrawalRejected || st.Reason != r.reason {
						t.Errorf("got %s %q, want rejected %q", st.Status, st.Reason, r.reason)
					}
					return
				}
				if st.Status != core.WithdrawalApproved {
					t.Fatalf("got %s %q, want approved", st.Status, st.Reason)
				}
				h.clock.Set(t0.Add(review + payout))
				if st := h.status("app-case"); st.Status != core.WithdrawalPaid {
					t.Fatalf("after the payout delay: %+v, want paid", st)
				}
				after, _ := h.account(id)
				wantStatus, wantBalance := acc.Status, acc.BalanceFen-w.AmountFen
				if c.CloseAccount {
					wantStatus, wantBalance = core.StatusClosedWithdrawal, 0
				}
				if after.Status != wantStatus || after.BalanceFen != wantBalance {
					t.Errorf("account after payout: %s %d, want %s %d", after.Status, after.BalanceFen, wantStatus, wantBalance)
				}
			})
		}
	}
	if len(offered) > 0 {
		t.Errorf("kinds without cases: %v", offered)
	}
}

// withdrawalCaseRow is a case as a row of the README table.
func withdrawalCaseRow(c WithdrawalCase, ids map[string]string) string {
	var application []string
	if c.Evidence != "" {
		application = append(application, "`evidence_refs`: "+c.Evidence)
	}
	if c.CloseAccount {
		application = append(application, "`close_account`, amount = the whole balance")
	}
	if len(application) == 0 {
		application = append(application, "amount up to the balance")
	}
	var eligible, ineligible string
	for i, n := range c.Eligible {
		if i > 0 {
			eligible += "; "
		}
		eligible += n + " " + ids[n]
	}
	for i, r := range c.Ineligible {
		if i > 0 {
			ineligible += "; "
		}
		ineligible += fmt.Sprintf("%s %s: `%s` — %s", r.Name, ids[r.Name], r.Reason, r.Why)
	}
	return fmt.Sprintf("| %s %s | %s | %s | %s |", c.Kind, c.Name, strings.Join(application, "; "), eligible, ineligible)
}

// TestREADMEListsTheWithdrawalCases keeps the documented cases true: every
// case's row must appear in README.md exactly.
func TestREADMEListsTheWithdrawalCases(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	ids := map[string]string{}
	for _, p := range h.sim.Personas() {
		ids[p.Name] = p.IDNumber
	}
	for _, c := range WithdrawalCases() {
		for _, n := range append(slices.Clone(c.Eligible), refusalNames(c.Ineligible)...) {
			if ids[n] == "" {
				t.Errorf("kind %s: %s is not a depositor persona", c.Kind, n)
			}
		}
		if row := withdrawalCaseRow(c, ids); !strings.Contains(string(readme), row+"\n") {
			t.Errorf("README.md lacks the row\n%s", row)
		}
	}
}

func refusalNames(rs []Refusal) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}
