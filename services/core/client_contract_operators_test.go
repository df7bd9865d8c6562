package core_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/core"
)

// The operator calls, through the real client and signatures against the
// simulator: roles at sign-in, adding with a temporary password, the last
// administrator kept, disabled operators refused like wrong passwords,
// resets and changes.
func TestOperatorContract(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	admin := unitOperator(t, h, "shop01")
	clerk := unitOperator(t, h, "shop02")
	other := unitOperator(t, h, "yunqi01")
	login := func(unit, id, pw string) (core.Operator, error) {
		return h.client.AuthenticateOperator(ctx, core.OperatorLogin{UnitCode: unit, OperatorID: id, Password: pw})
	}
	wantCode := func(t *testing.T, err error, code services.Code) {
		t.Helper()
		if services.ErrorCode(err) != code {
			t.Fatalf("err = %v, want %s", err, code)
		}
	}

	op, err := login(admin.UnitCode, admin.OperatorID, admin.Password)
	if err != nil || op.Role != core.OperatorAdmin || op.MustChangePassword {
		t.Fatalf("seeded administrator: %+v, %v", op, err)
	}
	if op, err := login(clerk.UnitCode, clerk.OperatorID, clerk.Password); err != nil || op.Role != core.OperatorClerk || clerk.UnitCode != admin.UnitCode {
		t.Fatalf("seeded clerk: %+v, %v", op, err)
	}
	list, err := h.client.Operators(ctx, admin.UnitCode)
	if err != nil {
		t.Fatal(err)
	}
	want := []core.OperatorRecord{
		{OperatorID: "shop01", Name: admin.Name, Role: core.OperatorAdmin, Status: core.OperatorActive},
		{OperatorID: "shop02", Name: clerk.Name, Role: core.OperatorClerk, Status: core.OperatorActive},
	}
	if diff := cmp.Diff(want, list.Items); diff != "" {
		t.Fatalf("Operators (-want +got):\n%s", diff)
	}

	added, err := h.client.AddOperator(ctx, admin.UnitCode, core.NewOperator{OperatorID: "shop03", Name: "新店员", Role: core.OperatorClerk, TemporaryPassword: "Temp-1234-abcd"})
	if err != nil || !added.MustChangePassword || added.Status != core.OperatorActive {
		t.Fatalf("AddOperator = %+v, %v", added, err)
	}
	_, err = h.client.AddOperator(ctx, admin.UnitCode, core.NewOperator{OperatorID: "shop03", Name: "再来", Role: core.OperatorClerk, TemporaryPassword: "x"})
	wantCode(t, err, services.CodeOperatorExists)
	if op, err := login(admin.UnitCode, "shop03", "Temp-1234-abcd"); err != nil || !op.MustChangePassword {
		t.Fatalf("new operator with the temporary password: %+v, %v", op, err)
	}

	// Changing: the current password proves who it is.
	_, err = h.client.ChangeOperatorPassword(ctx, core.PasswordChange{UnitCode: admin.UnitCode, OperatorID: "shop03", CurrentPassword: "wrong", NewPassword: "Chosen-5678-efgh"})
	if !errors.Is(err, core.ErrInvalidCredentials) {
		t.Fatalf("change with a wrong current password: %v", err)
	}
	if op, err := h.client.ChangeOperatorPassword(ctx, core.PasswordChange{UnitCode: admin.UnitCode, OperatorID: "shop03",
		CurrentPassword: "Temp-1234-abcd", NewPassword: "Chosen-5678-efgh"}); err != nil || op.MustChangePassword {
		t.Fatalf("ChangeOperatorPassword = %+v, %v", op, err)
	}
	if _, err := login(admin.UnitCode, "shop03", "Temp-1234-abcd"); !errors.Is(err, core.ErrInvalidCredentials) {
		t.Fatalf("old password still signs in: %v", err)
	}

	// Disabled: refused like a wrong password, at sign-in and at a change.
	if rec, err := h.client.SetOperatorStatus(ctx, admin.UnitCode, "shop03", core.OperatorDisabled); err != nil || rec.Status != core.OperatorDisabled {
		t.Fatalf("disable: %+v, %v", rec, err)
	}
	if _, err := login(admin.UnitCode, "shop03", "Chosen-5678-efgh"); !errors.Is(err, core.ErrInvalidCredentials) {
		t.Fatalf("disabled operator signs in: %v", err)
	}
	_, err = h.client.ChangeOperatorPassword(ctx, core.PasswordChange{UnitCode: admin.UnitCode, OperatorID: "shop03", CurrentPassword: "Chosen-5678-efgh", NewPassword: "Another-9999-zz"})
	if !errors.Is(err, core.ErrInvalidCredentials) {
		t.Fatalf("disabled operator changes a password: %v", err)
	}
	if _, err := h.client.SetOperatorStatus(ctx, admin.UnitCode, "shop03", core.OperatorDisabled); err != nil {
		t.Fatalf("disabling again is not idempotent: %v", err)
	}
	if rec, err := h.client.SetOperatorStatus(ctx, admin.UnitCode, "shop03", core.OperatorActive); err != nil || rec.Status != core.OperatorActive {
		t.Fatalf("enable: %+v, %v", rec, err)
	}

	// The last administrator stays, also when two are disabled at once.
	_, err = h.client.SetOperatorStatus(ctx, admin.UnitCode, "shop01", core.OperatorDisabled)
	wantCode(t, err, services.CodeOperatorLastAdmin)
	if _, err := h.client.AddOperator(ctx, admin.UnitCode, core.NewOperator{OperatorID: "boss2", Name: "二老板", Role: core.OperatorAdmin, TemporaryPassword: "Temp-1234-abcd"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range []string{"shop01", "boss2"} {
		wg.Go(func() { _, errs[i] = h.client.SetOperatorStatus(ctx, admin.UnitCode, id, core.OperatorDisabled) })
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("disabling both administrators at once: %v, %v; want exactly one refused", errs[0], errs[1])
	}

	// Resets: a temporary password again; another unit's operator is not found.
	rec, err := h.client.ResetOperatorPassword(ctx, admin.UnitCode, "shop03", "Reset-4321-wxyz")
	if err != nil || !rec.MustChangePassword {
		t.Fatalf("reset: %+v, %v", rec, err)
	}
	if op, err := login(admin.UnitCode, "shop03", "Reset-4321-wxyz"); err != nil || !op.MustChangePassword {
		t.Fatalf("after a reset: %+v, %v", op, err)
	}
	_, err = h.client.ResetOperatorPassword(ctx, admin.UnitCode, other.OperatorID, "Reset-4321-wxyz")
	wantCode(t, err, services.CodeOperatorNotFound)
	_, err = h.client.SetOperatorStatus(ctx, admin.UnitCode, other.OperatorID, core.OperatorDisabled)
	wantCode(t, err, services.CodeOperatorNotFound)
	if op, err := login(other.UnitCode, other.OperatorID, other.Password); err != nil {
		t.Fatalf("the other unit's operator was touched: %+v, %v", op, err)
	}
}
