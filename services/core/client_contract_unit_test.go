package core_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/coresim"
)

// unitOperator finds a seeded unit's operator by operator id.
func unitOperator(t testing.TB, h *harness, operatorID string) coresim.Persona {
	t.Helper()
	for _, p := range h.sim.UnitPersonas() {
		if p.OperatorID == operatorID {
			return p
		}
	}
	t.Fatalf("no seeded unit operator %s", operatorID)
	return coresim.Persona{}
}

// roster walks every page of a unit's staff matching q.
func roster(t *testing.T, h *harness, unit string, q core.RosterQuery) ([]core.StaffMember, int) {
	t.Helper()
	var out []core.StaffMember
	total := -1
	for range 1000 {
		page, err := h.client.Roster(context.Background(), unit, q)
		if err != nil {
			t.Fatalf("Roster(%+v): %v", q, err)
		}
		if total >= 0 && page.Total != total {
			t.Fatalf("total changed between pages: %d, then %d", total, page.Total)
		}
		total = page.Total
		out = append(out, page.Items...)
		if q.Cursor = page.NextCursor; q.Cursor == "" {
			break
		}
	}
	return out, total
}

// checkBill proves a bill adds up: every line by the rounding rule, every
// total the exact sum of its lines.
func checkBill(t *testing.T, b core.Bill, personalBP, unitBP int) {
	t.Helper()
	var base, personal, unit int64
	for _, l := range b.Lines {
		if l.PersonalFen != core.ShareOf(l.BaseFen, personalBP) || l.UnitFen != core.ShareOf(l.BaseFen, unitBP) {
			t.Fatalf("line %s: base %d gives %d + %d at %d/%d bp", l.PersonID, l.BaseFen, l.PersonalFen, l.UnitFen, personalBP, unitBP)
		}
		base, personal, unit = base+l.BaseFen, personal+l.PersonalFen, unit+l.UnitFen
	}
	if b.Headcount != len(b.Lines) || b.BaseTotalFen != base || b.PersonalTotalFen != personal || b.UnitTotalFen != unit || b.TotalFen != personal+unit {
		t.Fatalf("bill %s totals %d people, %d base, %d + %d = %d; lines say %d, %d, %d + %d",
			b.Month, b.Headcount, b.BaseTotalFen, b.PersonalTotalFen, b.UnitTotalFen, b.TotalFen, len(b.Lines), base, personal, unit)
	}
}

func TestShareOfRoundsHalfUp(t *testing.T) {
	for _, c := range []struct {
		base int64
		bp   int
		want int64
	}{
		{1_000_000, 1200, 120_000}, // 10,000 yuan at 12%: 1,200 yuan
		{249_050, 500, 12_453},     // 12,452.5 fen: half up
		{249_049, 500, 12_452},     // 12,452.45 fen: down
		{100, 1, 0},                // 0.01 fen
		{5_000, 1, 1},              // 0.5 fen: half up
	} {
		if got := core.ShareOf(c.base, c.bp); got != c.want {
			t.Errorf("ShareOf(%d, %d) = %d, want %d", c.base, c.bp, got, c.want)
		}
	}
	// 100,000 yuan late 30 days at 1.5%: 100,000 × 0.015 × 30 / 360 = 125 yuan.
	if got := core.SupplementInterest(10_000_000, 150, 30); got != 12_500 {
		t.Errorf("SupplementInterest = %d, want 12500", got)
	}
	if got := core.SupplementInterest(10_000_000, 150, 0); got != 0 {
		t.Errorf("SupplementInterest on time = %d, want 0", got)
	}
}

// TestUnitContract drives the employer's business through the client
// against the simulator over HTTP, every exchange checked against
// openapi.yaml. The clock starts on 16 June 2025: the open month is
// 2025-06, the firm is paid up to 2025-03 (April and May in arrears).
func TestUnitContract(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *coresim.Config) {
		c.CollectDelay, c.SettleDelay = time.Minute, 2*time.Minute
	})
	ctx := context.Background()
	firm := unitOperator(t, h, "yunqi01")
	op, err := h.client.AuthenticateOperator(ctx, core.OperatorLogin{UnitCode: firm.UnitCode, OperatorID: firm.OperatorID, Password: firm.Password})
	if err != nil || op.UnitCode != firm.UnitCode {
		t.Fatalf("the seeded operator cannot sign in: %+v, %v", op, err)
	}

	policy, err := h.client.Policy(ctx)
	if err != nil || policy != coresim.DefaultPolicy() {
		t.Fatalf("Policy = %+v, %v; want the default", policy, err)
	}

	acc, err := h.client.UnitAccount(ctx, firm.UnitCode)
	if err != nil {
		t.Fatal(err)
	}
	if acc.StaffCount != 50 || acc.SealedCount < 1 || acc.ActiveCount+acc.SealedCount != acc.StaffCount ||
		acc.PaidUpTo != "2025-03" || acc.ArrearsMonths != 2 || acc.OpenMonth != "2025-06" || acc.BankName == "" {
		t.Errorf("UnitAccount = %+v", acc)
	}

	t.Run("Roster", func(t *testing.T) {
		all, total := roster(t, h, firm.UnitCode, core.RosterQuery{Limit: 7})
		if len(all) != 50 || total != 50 {
			t.Fatalf("walked %d staff, total %d; want 50", len(all), total)
		}
		seen := map[string]bool{}
		for _, m := range all {
			if seen[m.PersonID] {
				t.Errorf("%s on two pages", m.PersonID)
			}
			seen[m.PersonID] = true
			if services.ValidateIDNumber(m.IDNumber, h.clock.Now()) != nil {
				t.Errorf("%s: an invalid ID number", m.PersonID)
			}
			if m.MonthlyPersonalFen != core.ShareOf(m.DepositBaseFen, m.PersonalRateBP) || m.MonthlyUnitFen != core.ShareOf(m.DepositBaseFen, m.UnitRateBP) {
				t.Errorf("%s: monthly amounts %d/%d for base %d", m.PersonID, m.MonthlyPersonalFen, m.MonthlyUnitFen, m.DepositBaseFen)
			}
		}
		sealed, n := roster(t, h, firm.UnitCode, core.RosterQuery{Status: core.StatusSealed})
		if n != acc.SealedCount || len(sealed) != n {
			t.Errorf("status=02: %d of %d, the unit says %d sealed", len(sealed), n, acc.SealedCount)
		}
		for _, m := range sealed {
			if m.Status != core.StatusSealed || m.SealedMonth == "" || m.SealReason == "" {
				t.Errorf("status=02 answered %+v", m)
			}
		}
		who := all[17]
		surname := string([]rune(who.Name)[:1])
		byName, _ := roster(t, h, firm.UnitCode, core.RosterQuery{Q: surname})
		found := false
		for _, m := range byName {
			found = found || m.PersonID == who.PersonID
			if !strings.HasPrefix(m.Name, surname) {
				t.Errorf("q=%s answered %s", surname, m.Name)
			}
		}
		if !found {
			t.Errorf("q=%s missed %s", surname, who.PersonID)
		}
		byID, _ := roster(t, h, firm.UnitCode, core.RosterQuery{Q: who.IDNumber[12:]})
		if len(byID) != 1 || byID[0].PersonID != who.PersonID {
			t.Errorf("q=<last 6 of the ID number> answered %d people", len(byID))
		}
		if _, err := h.client.Roster(ctx, firm.UnitCode, core.RosterQuery{Q: "12"}); code(t, err) != services.CodeCoreRejected {
			t.Errorf("q of 2 digits = %v, want core.rejected (a search that broad is refused)", err)
		}
		got, err := h.client.StaffMember(ctx, firm.UnitCode, who.PersonID)
		if err != nil || got != who {
			t.Errorf("StaffMember = %+v, %v; the roster said %+v", got, err, who)
		}
		other := h.sim.Personas()[0] // 张伟, staff of another unit
		if _, err := h.client.StaffMember(ctx, firm.UnitCode, personIDOf(t, h, other)); code(t, err) != services.CodeStaffNotFound {
			t.Errorf("another unit's staff = %v, want staff.not_found", err)
		}
		if _, err := h.client.StaffMember(ctx, firm.UnitCode, "P-nobody"); code(t, err) != services.CodeStaffNotFound {
			t.Errorf("unknown staff = %v, want staff.not_found", err)
		}
	})

	t.Run("StaffChanges", func(t *testing.T) { testUnitStaffChanges(t, h, firm.UnitCode) })
	t.Run("Adjustments", func(t *testing.T) { testUnitAdjustments(t, h, firm.UnitCode) })
	t.Run("DeclareAndCollect", func(t *testing.T) { testUnitDeclareAndCollect(t, h, firm.UnitCode) })
}

// personIDOf signs a demo persona in by real name and returns the core's id.
func personIDOf(t *testing.T, h *harness, p coresim.Persona) string {
	t.Helper()
	person, err := h.client.VerifyRealName(context.Background(), p.Name, p.IDNumber)
	if err != nil {
		t.Fatalf("VerifyRealName(%s): %v", p.Name, err)
	}
	return person.PersonID
}

func testUnitStaffChanges(t *testing.T, h *harness, unit string) {
	ctx := context.Background()
	newcomer := coresim.GeneratedPersona(0, 777) // a person the core does not know
	join := core.StaffChange{RequestID: "join-1", Kind: core.ChangeJoin, Name: newcomer.Name, IDNumber: newcomer.IDNumber, BaseFen: 800_000, Month: "2025-06"}
	first, err := h.client.ChangeStaff(ctx, unit, join)
	if err != nil || first.Outcome != core.OutcomeOpened || first.PersonID == "" || first.AccountNumber == "" {
		t.Fatalf("join = %+v, %v", first, err)
	}
	again, err := h.client.ChangeStaff(ctx, unit, join)
	if err != nil || again != first {
		t.Errorf("the same join again = %+v, %v; want the first answer %+v", again, err, first)
	}
	other := join
	other.BaseFen++
	if _, err := h.client.ChangeStaff(ctx, unit, other); code(t, err) != services.CodeCoreRejected {
		t.Errorf("the request id with other content = %v, want core.rejected (conflict)", err)
	}
	m, err := h.client.StaffMember(ctx, unit, first.PersonID)
	if err != nil || m.Status != core.StatusNormal || m.DepositBaseFen != 800_000 || m.Name != newcomer.Name {
		t.Errorf("the newcomer = %+v, %v", m, err)
	}
	join.RequestID = "join-2"
	if _, err := h.client.ChangeStaff(ctx, unit, join); code(t, err) != services.CodeStaffAlreadyEmployed {
		t.Errorf("joining twice = %v, want staff.already_employed", err)
	}

	bad := []struct {
		name string
		ch   core.StaffChange
		want services.Code
	}{
		{"check digit", core.StaffChange{Kind: core.ChangeJoin, Name: "钱多多", IDNumber: newcomer.IDNumber[:17] + wrongCheck(newcomer.IDNumber), BaseFen: 800_000, Month: "2025-06"}, services.CodeInvalid},
		{"base below the minimum wage", core.StaffChange{Kind: core.ChangeJoin, Name: "钱多多", IDNumber: coresim.GeneratedIDNumber(1, 777), BaseFen: 100_000, Month: "2025-06"}, services.CodeBaseOutOfRange},
		{"base above the cap", core.StaffChange{Kind: core.ChangeJoin, Name: "钱多多", IDNumber: coresim.GeneratedIDNumber(1, 777), BaseFen: 10_000_000, Month: "2025-06"}, services.CodeBaseOutOfRange},
		{"name of another person", core.StaffChange{Kind: core.ChangeJoin, Name: "别人", IDNumber: newcomer.IDNumber, BaseFen: 800_000, Month: "2025-06"}, services.CodeStaffNameMismatch},
		{"still employed elsewhere", core.StaffChange{Kind: core.ChangeJoin, Name: "张伟", IDNumber: "330106198503124133", BaseFen: 800_000, Month: "2025-06"}, services.CodeStaffEmployedElsewhere},
		{"leave of an unknown person", core.StaffChange{Kind: core.ChangeLeave, PersonID: "P-nobody", Month: "2025-06", Reason: core.LeaveResigned}, services.CodeStaffNotFound},
		{"rejoin of a normal account", core.StaffChange{Kind: core.ChangeRejoin, PersonID: first.PersonID}, services.CodeStaffNotSealed},
	}
	for i, c := range bad {
		c.ch.RequestID = "bad-" + string(rune('a'+i))
		_, err := h.client.ChangeStaff(ctx, unit, c.ch)
		if got := code(t, err); got != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
		// A refusal is an answer too: the same request gets it again.
		if _, err2 := h.client.ChangeStaff(ctx, unit, c.ch); services.ErrorCode(err2) != c.want {
			t.Errorf("%s again: %v, want %s", c.name, err2, c.want)
		}
	}
	var fe *services.Error
	if _, err := h.client.ChangeStaff(ctx, unit, core.StaffChange{RequestID: "bad-a", Kind: bad[0].ch.Kind, Name: bad[0].ch.Name,
		IDNumber: bad[0].ch.IDNumber, BaseFen: bad[0].ch.BaseFen, Month: bad[0].ch.Month}); !errors.As(err, &fe) || len(fe.Fields) != 1 || fe.Fields[0].Field != "id_number" {
		t.Errorf("a bad check digit = %v, want a field error on id_number", err)
	}

	leave := core.StaffChange{RequestID: "leave-1", Kind: core.ChangeLeave, PersonID: first.PersonID, Month: "2025-06", Reason: core.LeaveResigned}
	if res, err := h.client.ChangeStaff(ctx, unit, leave); err != nil || res.Outcome != core.OutcomeSealed {
		t.Fatalf("leave = %+v, %v", res, err)
	}
	leave.RequestID = "leave-2"
	if _, err := h.client.ChangeStaff(ctx, unit, leave); code(t, err) != services.CodeStaffAlreadySealed {
		t.Errorf("sealing a sealed account = %v, want staff.already_sealed", err)
	}
	frozen, _ := roster(t, h, unit, core.RosterQuery{Status: core.StatusFrozen})
	if len(frozen) == 0 {
		t.Fatal("the firm has no frozen account to try")
	}
	if _, err := h.client.ChangeStaff(ctx, unit, core.StaffChange{RequestID: "leave-frozen", Kind: core.ChangeLeave, PersonID: frozen[0].PersonID,
		Month: "2025-06", Reason: core.LeaveOther}); code(t, err) != services.CodeStaffNotActive {
		t.Errorf("sealing a frozen account = %v, want staff.not_active", err)
	}
	if res, err := h.client.ChangeStaff(ctx, unit, core.StaffChange{RequestID: "rejoin-1", Kind: core.ChangeRejoin, PersonID: first.PersonID, BaseFen: 900_000}); err != nil || res.Outcome != core.OutcomeUnsealed {
		t.Errorf("rejoin = %+v, %v", res, err)
	}

	// 王芳 left 明湖 (sealed there): joining the firm moves her account.
	var wang coresim.Persona
	for _, p := range h.sim.Personas() {
		if p.Name == "王芳" {
			wang = p
		}
	}
	moved, err := h.client.ChangeStaff(ctx, unit, core.StaffChange{RequestID: "join-wang", Kind: core.ChangeJoin, Name: wang.Name, IDNumber: wang.IDNumber, BaseFen: 1_200_000, Month: "2025-06"})
	if err != nil || moved.Outcome != core.OutcomeTransferredIn || moved.FromUnitCode != wang.UnitCode {
		t.Fatalf("transfer in = %+v, %v", moved, err)
	}
	if a, err := h.client.Account(ctx, moved.PersonID); err != nil || a.UnitCode != unit || a.Status != core.StatusNormal || a.BalanceFen == 0 {
		t.Errorf("her account after the transfer = %+v, %v; want it here, normal, with its balance", a, err)
	}
}

// wrongCheck is a check character other than id's.
func wrongCheck(id string) string {
	if id[17] == '1' {
		return "2"
	}
	return "1"
}

func testUnitAdjustments(t *testing.T, h *harness, unit string) {
	ctx := context.Background()
	staff, _ := roster(t, h, unit, core.RosterQuery{Status: core.StatusNormal, Limit: 3})
	a, b := staff[0], staff[1]
	for _, c := range []struct {
		name string
		adj  core.Adjustment
		want services.Code
	}{
		{"rate above 12%", core.Adjustment{UnitRateBP: 1300, PersonalRateBP: 1300}, services.CodeRateOutOfRange},
		{"rate below 5%", core.Adjustment{UnitRateBP: 400, PersonalRateBP: 400}, services.CodeRateOutOfRange},
		{"unequal rates", core.Adjustment{UnitRateBP: 1200, PersonalRateBP: 800}, services.CodeRateOutOfRange},
		{"base out of range", core.Adjustment{Bases: []core.BaseChange{{a.PersonID, 1_000_000}, {b.PersonID, 1}}}, services.CodeBaseOutOfRange},
		{"another unit's person", core.Adjustment{Bases: []core.BaseChange{{a.PersonID, 1_000_000}, {"P-nobody", 1_000_000}}}, services.CodeStaffNotFound},
	} {
		c.adj.RequestID = "adj-" + strings.ReplaceAll(c.name, " ", "-")
		if _, err := h.client.Adjust(ctx, unit, c.adj); code(t, err) != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	if got, _ := h.client.StaffMember(ctx, unit, a.PersonID); got.DepositBaseFen != a.DepositBaseFen {
		t.Errorf("a refused adjustment changed a base: %d, was %d", got.DepositBaseFen, a.DepositBaseFen)
	}
	res, err := h.client.Adjust(ctx, unit, core.Adjustment{RequestID: "adj-ok", UnitRateBP: 1100, PersonalRateBP: 1100,
		Bases: []core.BaseChange{{a.PersonID, 1_234_567}, {b.PersonID, 987_654}}})
	if err != nil || res.BasesChanged != 2 || res.UnitRateBP != 1100 {
		t.Fatalf("Adjust = %+v, %v", res, err)
	}
	got, _ := h.client.StaffMember(ctx, unit, a.PersonID)
	if got.DepositBaseFen != 1_234_567 || got.PersonalRateBP != 1100 || got.MonthlyPersonalFen != 135_802 {
		t.Errorf("after the adjustment %+v; want base 12,345.67 yuan at 11%%: 1,358.02 yuan", got)
	}
}

func testUnitDeclareAndCollect(t *testing.T, h *harness, unit string) {
	ctx := context.Background()
	acc, _ := h.client.UnitAccount(ctx, unit)
	bill, err := h.client.Bill(ctx, unit, "2025-06")
	if err != nil || bill.Status != core.BillOpen || bill.Kind != core.BillRegular || bill.Headcount != acc.ActiveCount || bill.TotalFen != acc.MonthlyFen {
		t.Fatalf("Bill = %+v (account %+v), %v", bill, acc, err)
	}
	checkBill(t, bill, acc.PersonalRateBP, acc.UnitRateBP)
	if _, err := h.client.Bill(ctx, unit, "2025-07"); code(t, err) != services.CodeMonthNotOpen {
		t.Errorf("next month's bill = %v, want remittance.not_open", err)
	}

	// The bill changes under the clerk's feet: the old version is refused.
	staff, _ := roster(t, h, unit, core.RosterQuery{Status: core.StatusNormal, Limit: 1})
	if _, err := h.client.Adjust(ctx, unit, core.Adjustment{RequestID: "adj-under-feet", Bases: []core.BaseChange{{staff[0].PersonID, 700_000}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.Declare(ctx, unit, core.Declaration{RequestID: "decl-stale", Month: "2025-06", BillVersion: bill.Version}); code(t, err) != services.CodeBillChanged {
		t.Errorf("declaring a changed bill = %v, want remittance.bill_changed", err)
	}
	bill, _ = h.client.Bill(ctx, unit, "2025-06")
	decl := core.Declaration{RequestID: "decl-1", Month: "2025-06", BillVersion: bill.Version}
	res, err := h.client.Declare(ctx, unit, decl)
	if err != nil || res.Status != core.BillPending || res.TotalFen != bill.TotalFen || res.Headcount != bill.Headcount {
		t.Fatalf("Declare = %+v, %v; bill %d for %d", res, err, bill.TotalFen, bill.Headcount)
	}
	if again, err := h.client.Declare(ctx, unit, decl); err != nil || again != res {
		t.Errorf("the same declaration again = %+v, %v; want %+v", again, err, res)
	}
	decl.RequestID = "decl-2"
	if _, err := h.client.Declare(ctx, unit, decl); code(t, err) != services.CodeBillDeclared {
		t.Errorf("declaring twice = %v, want remittance.already_declared", err)
	}
	if _, err := h.client.Declare(ctx, unit, core.Declaration{RequestID: "decl-april", Month: "2025-04", BillVersion: bill.Version}); code(t, err) != services.CodeMonthOverdue {
		t.Errorf("declaring an arrears month = %v, want remittance.overdue", err)
	}
	if _, err := h.client.Supplement(ctx, unit, core.Declaration{RequestID: "supp-june", Month: "2025-06", BillVersion: bill.Version}); code(t, err) != services.CodeMonthNotOverdue {
		t.Errorf("supplementing the open month = %v, want remittance.not_overdue", err)
	}
	frozen, err := h.client.Bill(ctx, unit, "2025-06")
	if err != nil || frozen.Status != core.BillPending || frozen.TotalFen != bill.TotalFen || frozen.DeclaredAt == nil {
		t.Errorf("the declared bill = %+v, %v", frozen, err)
	}
	if diff := cmp.Diff(bill.Lines, frozen.Lines); diff != "" {
		t.Errorf("the declared lines differ from the bill read (-read +declared):\n%s", diff)
	}

	// Arrears: April and May, with interest by the policy's rule.
	arr, err := h.client.Arrears(ctx, unit)
	if err != nil || len(arr.Items) != 2 || arr.Items[0].Month != "2025-04" || arr.Items[1].Month != "2025-05" {
		t.Fatalf("Arrears = %+v, %v", arr, err)
	}
	april := arr.Items[0]
	if april.DaysLate != 47 || april.InterestFen != core.SupplementInterest(april.AmountFen, 150, 47) || april.InterestFen == 0 {
		t.Errorf("April's arrears %+v: want 47 days late (30 April to 16 June) and its interest", april)
	}
	sb, _ := h.client.Bill(ctx, unit, "2025-04")
	if sb.Kind != core.BillSupplement || sb.Status != core.BillOverdue || sb.InterestFen != april.InterestFen {
		t.Errorf("April's bill = %s %s interest %d; want an overdue supplement with %d", sb.Kind, sb.Status, sb.InterestFen, april.InterestFen)
	}
	supp, err := h.client.Supplement(ctx, unit, core.Declaration{RequestID: "supp-april", Month: "2025-04", BillVersion: sb.Version})
	if err != nil || supp.Kind != core.BillSupplement || supp.InterestFen != april.InterestFen {
		t.Fatalf("Supplement = %+v, %v", supp, err)
	}

	// The bank collects April and June; May fails while the bank is down
	// and is collected when declared again.
	start := h.clock.Now()
	h.clock.Set(start.Add(90 * time.Second))
	if b, _ := h.client.Bill(ctx, unit, "2025-06"); b.Status != core.BillCollecting {
		t.Errorf("after the collect delay the bill is %s, want collecting", b.Status)
	}
	person, _ := h.client.Account(ctx, frozen.Lines[0].PersonID)
	h.clock.Set(start.Add(210 * time.Second))
	june, _ := h.client.Bill(ctx, unit, "2025-06")
	if june.Status != core.BillPaid || june.PaidAt == nil {
		t.Errorf("June after the settle delay: %s, want paid", june.Status)
	}
	// The person is on June's bill and on April's supplement: both credited.
	aprilBill, _ := h.client.Bill(ctx, unit, "2025-04")
	var credit int64
	for _, b := range []core.Bill{frozen, aprilBill} {
		for _, l := range b.Lines {
			if l.PersonID == frozen.Lines[0].PersonID {
				credit += l.PersonalFen + l.UnitFen
			}
		}
	}
	after, _ := h.client.Account(ctx, frozen.Lines[0].PersonID)
	if after.BalanceFen != person.BalanceFen+credit || aprilBill.Status != core.BillPaid {
		t.Errorf("a person's balance went %d → %d, want +%d (April %s)", person.BalanceFen, after.BalanceFen, credit, aprilBill.Status)
	}
	h.setFaults(t, "collection=down")
	if _, err := h.client.Supplement(ctx, unit, core.Declaration{RequestID: "supp-may", Month: "2025-05", BillVersion: sb.Version}); err != nil {
		t.Fatal(err)
	}
	h.clock.Set(start.Add(7 * time.Minute))
	may, _ := h.client.Bill(ctx, unit, "2025-05")
	if may.Status != core.BillFailed || may.FailureReason != coresim.FailureBankUnavailable {
		t.Errorf("May with the bank down: %s %q, want failed bank_unavailable", may.Status, may.FailureReason)
	}
	h.setFaults(t, "")
	acc, _ = h.client.UnitAccount(ctx, unit)
	if acc.PaidUpTo != "2025-04" || acc.ArrearsMonths != 1 || acc.LastPaidMonth != "2025-06" {
		t.Errorf("after April and June paid: paid up to %s, %d months in arrears, last paid %s; want 2025-04, 1 (May), 2025-06",
			acc.PaidUpTo, acc.ArrearsMonths, acc.LastPaidMonth)
	}
	ledger, err := h.client.UnitLedger(ctx, unit, core.LedgerQuery{Limit: 3})
	if err != nil || len(ledger.Items) != 3 || ledger.NextCursor == "" {
		t.Fatalf("UnitLedger = %+v, %v", ledger, err)
	}
	kinds := map[string]int64{}
	for _, e := range ledger.Items {
		kinds[e.Kind+" "+e.Month] = e.AmountFen
	}
	if kinds["remittance 2025-06"] != june.TotalFen || kinds["interest 2025-04"] != april.InterestFen || kinds["supplement 2025-04"] != supp.TotalFen {
		t.Errorf("the newest ledger entries %v; want June's remittance, April's supplement and its interest", kinds)
	}
	more, err := h.client.UnitLedger(ctx, unit, core.LedgerQuery{Limit: 100, Cursor: ledger.NextCursor})
	if err != nil || len(more.Items) != 10 { // the 10 months of the seeded year remitted before the arrears
		t.Errorf("the rest of the ledger: %d entries, %v; want 10", len(more.Items), err)
	}

	year, err := h.client.Remittances(ctx, unit, 2025)
	if err != nil || len(year.Items) != 6 {
		t.Fatalf("Remittances(2025) = %+v, %v", year, err)
	}
	want := []string{core.BillPaid, core.BillPaid, core.BillPaid, core.BillPaid, core.BillFailed, core.BillPaid}
	for i, m := range year.Items {
		if m.Status != want[i] {
			t.Errorf("%s is %s, want %s", m.Month, m.Status, want[i])
		}
	}
	facts, err := h.client.UnitCertificateFacts(ctx, unit)
	if err != nil || facts.Unit != acc || len(facts.Months) != 12 || facts.Months[0].Month != "2025-05" || facts.Months[0].Status != core.BillFailed {
		t.Errorf("UnitCertificateFacts = %+v, %v", facts, err)
	}

	may, _ = h.client.Bill(ctx, unit, "2025-05")
	if _, err := h.client.Supplement(ctx, unit, core.Declaration{RequestID: "supp-may-again", Month: "2025-05", BillVersion: may.Version}); err != nil {
		t.Fatalf("supplementing a failed month again: %v", err)
	}
	h.clock.Set(start.Add(11 * time.Minute))
	acc, _ = h.client.UnitAccount(ctx, unit)
	if acc.PaidUpTo != "2025-06" || acc.ArrearsMonths != 0 {
		t.Errorf("after May paid: paid up to %s, %d months in arrears; want 2025-06, none", acc.PaidUpTo, acc.ArrearsMonths)
	}
}
