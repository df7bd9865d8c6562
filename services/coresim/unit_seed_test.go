package coresim

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
)

// unitDigest hashes everything the seeded units are made of but the
// operators' salted password hashes.
func unitDigest(t *testing.T, s *Sim) string {
	return digestOf(t, s,
		"SELECT * FROM units ORDER BY unit_code",
		"SELECT unit_code, operator_id, name FROM operators ORDER BY unit_code, operator_id",
		"SELECT * FROM persons ORDER BY person_id",
		"SELECT * FROM accounts ORDER BY person_id",
		"SELECT * FROM deposits ORDER BY person_id, seq",
		"SELECT * FROM unit_remittances ORDER BY unit_code, month",
		"SELECT * FROM unit_bill_lines ORDER BY unit_code, month, person_id",
		"SELECT * FROM unit_ledger ORDER BY unit_code, seq")
}

func TestSeededUnitsAreDeterministic(t *testing.T) {
	a, b := newHarness(t), newHarness(t)
	if da, db := unitDigest(t, a.sim), unitDigest(t, b.sim); da != db {
		t.Fatalf("two seeds at the same clock differ: %s vs %s", da, db)
	}
	if got := a.sim.count("SELECT count(*) FROM unit_remittances WHERE unit_code = ?", seededUnits()[0].code()); got != unitHistoryMonths {
		t.Errorf("the shop has %d months on record, want %d", got, unitHistoryMonths)
	}
	// The unit's books and its staff's agree: every paid month's total is
	// what the staff's ledgers received that month.
	if got := a.sim.count(`SELECT count(*) FROM unit_remittances r WHERE r.personal_total_fen + r.unit_total_fen !=
		(SELECT sum(d.amount_fen) FROM deposits d JOIN accounts ac ON ac.person_id = d.person_id
			WHERE ac.unit_code = r.unit_code AND d.month = r.month AND d.kind = 'remittance')`); got != 0 {
		t.Errorf("%d months where the unit's total is not what its staff received", got)
	}
}

// TestSeededStaffIdentities covers the large units too, without a
// database: valid, unique ID numbers that no demo person and no generated
// person (whatever the seed) can have, since their county codes differ.
func TestSeededStaffIdentities(t *testing.T) {
	p := DefaultPolicy()
	seen := map[string]bool{}
	for _, d := range demoPeople() {
		seen[withIDCheck(d.id17)] = true
	}
	k := 0
	for _, u := range seededUnits() {
		if err := services.ValidateUnitCode(u.code()); err != nil {
			t.Errorf("%s: %v", u.name, err)
		}
		for j := range u.size {
			g := unitStaffPerson(k, j, u, p)
			if err := services.ValidateIDNumber(g.idNumber, testNow); err != nil || seen[g.idNumber] {
				t.Fatalf("staff %d: ID number %v (repeated: %v)", k, err, seen[g.idNumber])
			}
			if strings.Contains(regions, g.idNumber[:6]+" ") {
				t.Fatalf("staff %d: county %s is the load generator's", k, g.idNumber[:6])
			}
			if g.baseFen < p.MinBaseFen || g.baseFen > p.MaxBaseFen {
				t.Fatalf("staff %d: base %d outside the policy", k, g.baseFen)
			}
			seen[g.idNumber] = true
			k++
		}
	}
	if k != 5553 {
		t.Errorf("%d seeded staff, want 3 + 50 + 500 + 5,000", k)
	}
}

func TestUnitOperatorsSignIn(t *testing.T) {
	h := newHarness(t)
	if err := h.sim.Generate(t.Context(), 60, 5); err != nil {
		t.Fatal(err)
	}
	ops := append(h.sim.UnitPersonas(), GeneratedUnitPersona(1, 5))
	if len(ops) != 4 {
		t.Fatalf("%d operators, want the shop's two, the firm's and a generated unit's", len(ops))
	}
	for _, p := range ops {
		resp, b := h.request(http.MethodPost, core.PathOperatorAuth, core.OperatorLogin{UnitCode: p.UnitCode, OperatorID: p.OperatorID, Password: p.Password}, signing{})
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d %s", p.Notes, resp.StatusCode, b)
		}
	}
	// A generated unit's business works from its roster alone: the open
	// month's bill, every earlier month paid, no arrears.
	gen := GeneratedUnitPersona(1, 5).UnitCode
	var bill core.Bill
	h.get(strings.Replace(path(core.PathBill, gen), "{month}", "2026-11", 1), &bill)
	if bill.Status != core.BillOpen || bill.Headcount == 0 || bill.Headcount > GeneratedStaffPerUnit {
		t.Errorf("a generated unit's bill: %s, %d people", bill.Status, bill.Headcount)
	}
	var acc core.UnitAccount
	h.get(path(core.PathUnitAccount, gen), &acc)
	if acc.ArrearsMonths != 0 || acc.PaidUpTo != "2026-10" || acc.BankName == "" || acc.MonthlyFen != bill.TotalFen {
		t.Errorf("a generated unit's account: %+v", acc)
	}
}

func TestPolicyIsChecked(t *testing.T) {
	for _, bad := range []core.Policy{
		{MinRateBP: 1200, MaxRateBP: 500, MinBaseFen: 1, MaxBaseFen: 2},
		{MinRateBP: 500, MaxRateBP: 1200, MinBaseFen: 3, MaxBaseFen: 2},
		{MinRateBP: 500, MaxRateBP: 1200, MinBaseFen: 1, MaxBaseFen: 2, AdjustmentFrom: "07-01"},
		{MinRateBP: 500, MaxRateBP: 1200, MinBaseFen: 1, MaxBaseFen: 2, AdjustmentFrom: "7/1", AdjustmentTo: "9/30"},
	} {
		if checkPolicy(bad) == nil {
			t.Errorf("policy %+v accepted", bad)
		}
	}
	window := core.Policy{AdjustmentFrom: "12-01", AdjustmentTo: "01-31"}
	for d, want := range map[string]bool{"2026-12-15": true, "2026-01-31": true, "2026-02-01": false, "2026-11-30": false} {
		now, _ := dateIn(d)
		if got := inAdjustmentWindow(window, now); got != want {
			t.Errorf("%s in a window over the new year: %v, want %v", d, got, want)
		}
	}
}

func dateIn(d string) (time.Time, error) {
	return time.ParseInLocation(time.DateOnly, d, shanghai())
}

// TestAdjustmentWindowIsPolicy: outside the window the core refuses, and
// the refusal is kept for the request id.
func TestAdjustmentWindowIsPolicy(t *testing.T) {
	p := DefaultPolicy()
	p.AdjustmentFrom, p.AdjustmentTo = "07-01", "09-30" // testNow is in November
	h := newHarness(t, func(c *Config) { c.Policy = p })
	unit := seededUnits()[0].code()
	body := core.Adjustment{RequestID: "adj-window", UnitRateBP: 600, PersonalRateBP: 600}
	for range 2 {
		resp, b := h.request(http.MethodPut, strings.Replace(path(core.PathAdjustment, unit), "{request_id}", body.RequestID, 1), body, signing{})
		wantError(t, resp, b, http.StatusConflict, core.ErrOutsideWindow)
	}
	var got core.Policy
	h.get(core.PathPolicy, &got)
	if got != p {
		t.Errorf("GET policy = %+v, want %+v", got, p)
	}
}

// TestUnitPersonasAreDocumented keeps docs/core-contract.md's table of
// seeded units in step with the seed, large units included.
func TestUnitPersonasAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/core-contract.md")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sim{largeUnits: true}
	for _, p := range s.UnitPersonas() {
		name, _, _ := strings.Cut(p.Notes, ":")
		row := "| " + name + " | " + p.UnitCode + " | " + p.OperatorID + " | " + p.Password + " |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/core-contract.md has no row starting %q", row)
		}
	}
}
