package identity_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/identity"
)

// Guessing the current password on the change route counts towards the
// operator's sign-in lockout: it is no side door around it.
func TestPasswordChangeGuessingLocksOut(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	cc := &operatorCore{}
	svc := lockoutService(t, clk, cc)
	tok, err := svc.LoginEmployer(context.Background(), identity.EmployerLogin{UnitCode: opUnit, OperatorID: opID, Password: opPassword, Address: "198.51.100.4"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(context.Background(), tok.AccessToken)
	if err != nil || p.OperatorRole != services.OperatorAdmin || p.PasswordChange {
		t.Fatalf("principal %+v, %v", p, err)
	}
	const attacker = "203.0.113.9"
	change := func(current string) error {
		_, err := svc.ChangeOperatorPassword(context.Background(), p, identity.PasswordChange{CurrentPassword: current,
			NewPassword: "Brand-New-2026", Address: attacker})
		return err
	}
	wantCode(t, "first guess", change("guess1"), services.CodeBadCredentials, 0)
	clk.Advance(time.Second)
	wantCode(t, "second guess", change("guess2"), services.CodeBadCredentials, 0)
	clk.Advance(2 * time.Second)
	wantCode(t, "third guess locks", change("guess3"), services.CodeLocked, 15*time.Minute)
	calls := cc.calls
	wantCode(t, "locked, right password", change(opPassword), services.CodeLocked, 0)
	wantCode(t, "sign-in from the same address", login(svc, attacker, opPassword), services.CodeLocked, 0)
	if cc.calls != calls {
		t.Fatal("a locked attempt reached the core")
	}
}

// A change ends every session of the operator: the old access and refresh
// tokens are refused, the new ones work.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	svc := lockoutService(t, clk, &operatorCore{})
	ctx := context.Background()
	first, err := svc.LoginEmployer(ctx, identity.EmployerLogin{UnitCode: opUnit, OperatorID: opID, Password: opPassword, Address: "198.51.100.4"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := svc.LoginEmployer(ctx, identity.EmployerLogin{UnitCode: opUnit, OperatorID: opID, Password: opPassword, Address: "198.51.100.5"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, second.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	// The fake core keeps "right" as the password, so a "new" one is only
	// checked by the policy here.
	next, err := svc.ChangeOperatorPassword(ctx, p, identity.PasswordChange{CurrentPassword: opPassword, NewPassword: "Brand-New-2026", Address: "198.51.100.5"})
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"other session": first.AccessToken, "this session": second.AccessToken} {
		if _, err := svc.Authenticate(ctx, tok); services.ErrorCode(err) != services.CodeSessionRevoked {
			t.Errorf("%s's access token after the change: %v", name, err)
		}
	}
	if _, err := svc.Refresh(ctx, first.RefreshToken); services.ErrorCode(err) != services.CodeRefreshInvalid {
		t.Errorf("old refresh token after the change: %v", err)
	}
	if _, err := svc.Authenticate(ctx, next.AccessToken); err != nil {
		t.Errorf("the new session: %v", err)
	}
}

func TestPasswordPolicy(t *testing.T) {
	p := identity.DefaultPasswordPolicy()
	codes := func(fs []services.FieldError) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Code)
		}
		return out
	}
	tests := []struct {
		name, pw, current string
		want              []string
	}{
		{"good", "Xixi-2026-noodles", "old", nil},
		{"empty", "", "old", []string{services.FieldRequired}},
		{"short", "Ab1-x", "old", []string{services.FieldTooShort}},
		{"one class", "abcdefghijkl", "old", []string{services.FieldTooFewClasses}},
		{"two classes", "abcdefghij12", "old", []string{services.FieldTooFewClasses}},
		{"holds the operator id in any case", "My-SHOP01-pass", "old", []string{services.FieldContainsID}},
		{"the current one", "Xixi-2026-noodles", "Xixi-2026-noodles", []string{services.FieldReused}},
		{"every rule at once", "shop01", "shop01", []string{services.FieldTooShort, services.FieldTooFewClasses, services.FieldContainsID, services.FieldReused}},
		{"too long", string(make([]byte, 129)), "old", []string{services.FieldTooLong}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, codes(p.Check("new_password", tt.pw, "shop01", tt.current))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
