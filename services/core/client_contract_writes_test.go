package core_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/coresim"
)

func testContractOperatorUnitAndStaff(t *testing.T, h *harness) {
	ctx := context.Background()
	var op coresim.Persona
	for _, p := range h.sim.Personas() {
		if p.OperatorID != "" && p.Password != "" && p.UnitCode != "" {
			op = p
			break
		}
	}
	if op.OperatorID == "" {
		t.Fatal("the seed has no employer operator")
	}
	got, err := h.client.AuthenticateOperator(ctx, core.OperatorLogin{UnitCode: op.UnitCode, OperatorID: op.OperatorID, Password: op.Password})
	if err != nil || got.UnitCode != op.UnitCode || got.OperatorID != op.OperatorID || got.Name == "" {
		t.Fatalf("AuthenticateOperator = %+v, %v", got, err)
	}
	for _, bad := range []core.OperatorLogin{
		{UnitCode: op.UnitCode, OperatorID: op.OperatorID, Password: op.Password + "!"},
		{UnitCode: op.UnitCode, OperatorID: op.OperatorID + "x", Password: op.Password},
	} {
		_, err := h.client.AuthenticateOperator(ctx, bad)
		if code(t, err) != services.CodeCoreRejected || !errors.Is(err, core.ErrInvalidCredentials) {
			t.Errorf("bad login = %v, want core.rejected wrapping ErrInvalidCredentials", err)
		}
	}

	unit, err := h.client.Unit(ctx, op.UnitCode)
	if err != nil || unit.UnitCode != op.UnitCode || unit.Name == "" {
		t.Fatalf("Unit = %+v, %v", unit, err)
	}
	var staff []core.StaffMember
	cursor := ""
	for range 1000 {
		page, err := h.client.Staff(ctx, op.UnitCode, 2, cursor)
		if err != nil {
			t.Fatalf("Staff: %v", err)
		}
		if len(page.Items) > 2 {
			t.Fatalf("a staff page of %d with limit 2", len(page.Items))
		}
		staff = append(staff, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(staff) < 3 || len(staff) != unit.StaffCount {
		t.Errorf("walked %d staff, the unit says %d (want several, to exercise paging)", len(staff), unit.StaffCount)
	}
	seen := map[string]bool{}
	for _, m := range staff {
		if seen[m.PersonID] {
			t.Errorf("staff member %s on two pages", m.PersonID)
		}
		seen[m.PersonID] = true
	}

	if _, err := h.client.Unit(ctx, "000000000000000000"); code(t, err) != services.CodeUnitNotFound {
		t.Errorf("Unit(unknown) = %v, want unit.not_found", err)
	}
	if _, err := h.client.Staff(ctx, "000000000000000000", 0, ""); code(t, err) != services.CodeUnitNotFound {
		t.Errorf("Staff(unknown) = %v, want unit.not_found", err)
	}
}

func testContractWithdrawalIsIdempotent(t *testing.T, h *harness) {
	ctx := context.Background()
	p := pick(t, people(t, h), "person with an account", func(p person) bool { return p.HasAccount })
	w := core.Withdrawal{ApplicationID: "app-contract-1", PersonID: p.PersonID, Kind: "07", AmountFen: 150000, PayoutMethod: "bank_card", PayoutAccount: "6222020200112233445"}

	first, err := h.client.SubmitWithdrawal(ctx, w)
	if err != nil || first.ApplicationID != w.ApplicationID || first.Status != core.WithdrawalSubmitted {
		t.Fatalf("SubmitWithdrawal = %+v, %v; want submitted", first, err)
	}
	again, err := h.client.SubmitWithdrawal(ctx, w)
	if err != nil || again != first {
		t.Errorf("the same application again = %+v, %v; want %+v", again, err, first)
	}
	if n := h.sim.WithdrawalCount(w.ApplicationID); n != 1 {
		t.Errorf("the core holds %d applications under one id, want 1", n)
	}
	changed := w
	changed.AmountFen++
	if _, err := h.client.SubmitWithdrawal(ctx, changed); code(t, err) != services.CodeCoreRejected {
		t.Errorf("changed amount under the same id = %v, want core.rejected", err)
	}
	polled, err := h.client.Withdrawal(ctx, w.ApplicationID)
	if err != nil || polled != first {
		t.Errorf("Withdrawal = %+v, %v; want %+v", polled, err, first)
	}
	cancelled, err := h.client.CancelWithdrawal(ctx, w.ApplicationID)
	if err != nil || cancelled.Status != core.WithdrawalCancelled {
		t.Errorf("CancelWithdrawal = %+v, %v; want cancelled", cancelled, err)
	}
	if again, err := h.client.CancelWithdrawal(ctx, w.ApplicationID); err != nil || again.Status != core.WithdrawalCancelled {
		t.Errorf("CancelWithdrawal again = %+v, %v; want cancelled (idempotent)", again, err)
	}

	if _, err := h.client.Withdrawal(ctx, "app-never-sent"); code(t, err) != services.CodeNotFound {
		t.Errorf("Withdrawal(unknown) = %v, want not_found", err)
	}
	if _, err := h.client.CancelWithdrawal(ctx, "app-never-sent"); code(t, err) != services.CodeNotFound {
		t.Errorf("CancelWithdrawal(unknown) = %v, want not_found", err)
	}
	orphan := w
	orphan.ApplicationID, orphan.PersonID = "app-contract-2", "no-such-person"
	if _, err := h.client.SubmitWithdrawal(ctx, orphan); code(t, err) != services.CodePersonNotFound {
		t.Errorf("SubmitWithdrawal(unknown person) = %v, want person.not_found", err)
	}
}

func TestContractWithdrawalProgresses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *coresim.Config) { c.ReviewDelay = time.Minute })
	ctx := context.Background()
	p := pick(t, people(t, h), "person with a normal account", func(p person) bool {
		a, err := h.client.Account(ctx, p.PersonID)
		return err == nil && a.Status == core.StatusNormal && a.BalanceFen > 100000
	})
	w := core.Withdrawal{ApplicationID: "app-contract-3", PersonID: p.PersonID, Kind: "07", AmountFen: 100000, PayoutMethod: "bank_card", PayoutAccount: "6222020200112233445"}
	if _, err := h.client.SubmitWithdrawal(ctx, w); err != nil {
		t.Fatal(err)
	}
	h.clock.Set(h.clock.Now().Add(time.Hour))
	st, err := h.client.Withdrawal(ctx, w.ApplicationID)
	if err != nil || st.Status == core.WithdrawalSubmitted {
		t.Fatalf("an hour later the application is %+v, %v; want it decided", st, err)
	}
	if _, err := h.client.CancelWithdrawal(ctx, w.ApplicationID); code(t, err) != services.CodeCoreRejected {
		t.Errorf("cancelling a decided application = %v, want core.rejected", err)
	}
}
