package core_test

import (
	"context"
	"testing"

	"handheld/services/core"
	"handheld/services/coresim"
)

// TestReaderUnitReads: the employer app's reads through the Reader answer
// what the Client does, and a repeat within the freshness is served from
// the cache without a call to the core.
func TestReaderUnitReads(t *testing.T) {
	t.Parallel()
	rig := newReaderRig(t, rigOptions{})
	ctx := context.Background()
	firm := unitOperator(t, rig.harness, "yunqi01")
	q := core.RosterQuery{Status: core.StatusNormal, Limit: 5}
	direct, err := rig.client.Roster(ctx, firm.UnitCode, q)
	if err != nil {
		t.Fatal(err)
	}
	reads := []func() (any, error){
		func() (any, error) {
			p, _, err := rig.reader.Roster(ctx, firm.UnitCode, q)
			return p.Items[0].PersonID, err
		},
		func() (any, error) { a, _, err := rig.reader.UnitAccount(ctx, firm.UnitCode); return a.StaffCount, err },
		func() (any, error) {
			m, _, err := rig.reader.StaffMember(ctx, firm.UnitCode, direct.Items[1].PersonID)
			return m.PersonID, err
		},
		func() (any, error) {
			y, _, err := rig.reader.Remittances(ctx, firm.UnitCode, 2025)
			return len(y.Items), err
		},
		func() (any, error) { a, _, err := rig.reader.Arrears(ctx, firm.UnitCode); return len(a.Items), err },
		func() (any, error) {
			l, _, err := rig.reader.UnitLedger(ctx, firm.UnitCode, core.LedgerQuery{Limit: 2})
			return len(l.Items), err
		},
		func() (any, error) { p, _, err := rig.reader.Policy(ctx); return p.MaxRateBP, err },
		// Read under the certificate group's policy (never stale), served
		// by the simulator's employer group.
		func() (any, error) {
			f, _, err := rig.reader.UnitCertificateFacts(ctx, firm.UnitCode)
			return f.Unit.UnitCode + "/" + f.Unit.Name, err
		},
	}
	want := []any{direct.Items[0].PersonID, 50, direct.Items[1].PersonID, 6, 2, 2, coresim.DefaultPolicy().MaxRateBP,
		firm.UnitCode + "/杭州云栖数据科技有限公司"}
	for i, read := range reads {
		got, err := read()
		if err != nil || got != want[i] {
			t.Fatalf("read %d = %v, %v; want %v", i, got, err, want[i])
		}
		calls := rig.sim.Calls(coresim.GroupEmployer)
		if again, err := read(); err != nil || again != got || rig.sim.Calls(coresim.GroupEmployer) != calls {
			t.Errorf("read %d again = %v, %v with %d more calls; want the cached answer and none", i, again, err, rig.sim.Calls(coresim.GroupEmployer)-calls)
		}
	}
}
