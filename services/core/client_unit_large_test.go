package core_test

import (
	"context"
	"net/http"
	"testing"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/coresim"
)

// largeHarness is a simulator with the 500- and 5,000-person employers.
func largeHarness(tb testing.TB) *harness {
	tb.Helper()
	return newHarness(tb, func(c *coresim.Config) { c.LargeUnits = true })
}

// TestFiveThousandPersonBill reads the largest seeded employer's bill over
// HTTP, proves it adds up to the fen,
// declares it and proves the frozen lines the database summed in SQL are
// the very lines read.
func TestFiveThousandPersonBill(t *testing.T) {
	t.Parallel()
	h := largeHarness(t)
	ctx := context.Background()
	big := unitOperator(t, h, "wanqu01")
	// The unit contract test validates bills against openapi.yaml; a
	// 5,000-line one would spend most of this test in the validator.
	h.client = h.newClient(t, func(c *core.ClientConfig) { c.HTTPClient = &http.Client{} })
	acc, err := h.client.UnitAccount(ctx, big.UnitCode)
	if err != nil || acc.StaffCount != 5000 {
		t.Fatalf("UnitAccount = %+v, %v", acc, err)
	}
	bill, err := h.client.Bill(ctx, big.UnitCode, acc.OpenMonth)
	if err != nil {
		t.Fatal(err)
	}
	if bill.Headcount != acc.ActiveCount || bill.Headcount < 4500 || bill.TotalFen != acc.MonthlyFen {
		t.Fatalf("bill of %d people, %d fen; the account says %d active, %d fen", bill.Headcount, bill.TotalFen, acc.ActiveCount, acc.MonthlyFen)
	}
	checkBill(t, bill, acc.PersonalRateBP, acc.UnitRateBP)
	seen := make(map[string]bool, len(bill.Lines))
	for _, l := range bill.Lines {
		if seen[l.IDNumber] || services.ValidateIDNumber(l.IDNumber, h.clock.Now()) != nil {
			t.Fatalf("line %s: ID number repeated or invalid", l.PersonID)
		}
		seen[l.IDNumber] = true
	}
	if _, err := h.client.Declare(ctx, big.UnitCode, core.Declaration{RequestID: "big-1", Month: bill.Month, BillVersion: bill.Version}); err != nil {
		t.Fatal(err)
	}
	declared, err := h.client.Bill(ctx, big.UnitCode, bill.Month)
	if err != nil || declared.Status != core.BillPending || declared.TotalFen != bill.TotalFen || declared.PersonalTotalFen != bill.PersonalTotalFen || len(declared.Lines) != len(bill.Lines) {
		t.Fatalf("the declared bill = %s, %d fen for %d; read %d fen for %d (%v)", declared.Status, declared.TotalFen, len(declared.Lines), bill.TotalFen, len(bill.Lines), err)
	}
	checkBill(t, declared, acc.PersonalRateBP, acc.UnitRateBP)

	mid := unitOperator(t, h, "zhijiang01")
	if page, err := h.client.Roster(ctx, mid.UnitCode, core.RosterQuery{Limit: 1}); err != nil || page.Total != 500 {
		t.Errorf("the 500-person employer's roster total = %d, %v", page.Total, err)
	}
}

// BenchmarkFiveThousandPersonBill is the figure for issue 15: the whole
// bill of the 5,000-person employer computed and returned over HTTP.
func BenchmarkFiveThousandPersonBill(b *testing.B) {
	h := largeHarness(b)
	ctx := context.Background()
	big := unitOperator(b, h, "wanqu01")
	month := h.clock.Now().Format("2006-01")
	client := h.newClient(b, func(c *core.ClientConfig) { c.HTTPClient = &http.Client{} }) // no per-exchange validation in the figure
	b.ResetTimer()
	for b.Loop() {
		bill, err := client.Bill(ctx, big.UnitCode, month)
		if err != nil || bill.Headcount < 4500 {
			b.Fatalf("Bill: %d lines, %v", bill.Headcount, err)
		}
	}
}
