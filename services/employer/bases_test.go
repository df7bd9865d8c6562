package employer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/core"
)

var (
	_ policyReader = (*core.Reader)(nil)
	_ adjuster     = (*core.Client)(nil)
)

var testPolicy = core.Policy{MinRateBP: 500, MaxRateBP: 1200, RatesEqual: true, MinBaseFen: 249_000, MaxBaseFen: 3_756_900}

type fakePolicy struct {
	pol  core.Policy
	unit core.Unit
}

func (f *fakePolicy) Policy(context.Context) (core.Policy, core.Freshness, error) {
	return f.pol, core.Freshness{}, nil
}

func (f *fakePolicy) Unit(_ context.Context, code string) (core.Unit, core.Freshness, error) {
	u := f.unit
	u.UnitCode = code
	return u, core.Freshness{}, nil
}

// fakeAdjuster applies adjustments like the core: rates kept when zero.
type fakeAdjuster struct {
	mu    sync.Mutex
	calls []core.Adjustment
	units []string
	rates [2]int // unit, personal
	err   error
}

func (f *fakeAdjuster) Adjust(_ context.Context, unit string, a core.Adjustment) (core.AdjustmentResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, a)
	f.units = append(f.units, unit)
	if f.err != nil {
		return core.AdjustmentResult{}, f.err
	}
	if a.UnitRateBP != 0 {
		f.rates[0] = a.UnitRateBP
	}
	if a.PersonalRateBP != 0 {
		f.rates[1] = a.PersonalRateBP
	}
	return core.AdjustmentResult{RequestID: a.RequestID, UnitRateBP: f.rates[0], PersonalRateBP: f.rates[1],
		BasesChanged: len(a.Bases), AppliedAt: now}, nil
}

func newBases(t *testing.T, pol core.Policy, adj *fakeAdjuster, a *fakeAudit, at time.Time) *Bases {
	t.Helper()
	b, err := NewBases(BasesDeps{Reader: &fakePolicy{pol: pol, unit: core.Unit{UnitRateBP: 1000, PersonalRateBP: 1000}},
		Core: adj, Audit: a, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAdjustAnswersExactAmounts(t *testing.T) {
	adj, a := &fakeAdjuster{rates: [2]int{1000, 1000}}, &fakeAudit{}
	b := newBases(t, testPolicy, adj, a, now)
	got, err := b.Adjust(context.Background(), operatorOf(unitA), AdjustRequest{
		UnitRateBP: 500, PersonalRateBP: 500, IdempotencyKey: "k1",
		Bases: []BaseChange{{"P3000000001", 300_000}, {"P3000000002", 300_010}, {"P3000000003", 250_001}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// 5 % of 300 010 fen is 15 000.5: half up, 15 001. 5 % of 250 001 is
	// 12 500.05: 12 500.
	want := Adjusted{UnitRateBP: 500, PersonalRateBP: 500, BasesChanged: 3, AppliedAt: now, Items: []NewAmount{
		{"P3000000001", 300_000, 15_000, 15_000}, {"P3000000002", 300_010, 15_001, 15_001}, {"P3000000003", 250_001, 12_500, 12_500}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
	if len(adj.calls) != 1 || adj.units[0] != unitA || adj.calls[0].Bases[1] != (core.BaseChange{PersonID: "P3000000002", BaseFen: 300_010}) {
		t.Errorf("core asked %v %+v", adj.units, adj.calls)
	}
	if len(a.records) != 1 || a.records[0].Action != ActionBases || a.records[0].Target != "unit:self bases:3" || a.records[0].Result != "ok" {
		t.Errorf("audit %+v", a.records)
	}
}

// TestAdjustNamesEveryBadLine: each wrong person is a field error of its
// own, with a stable code, and nothing reaches the core.
func TestAdjustNamesEveryBadLine(t *testing.T) {
	type fe struct{ Field, Code string }
	tests := []struct {
		name string
		req  AdjustRequest
		want []fe
	}{
		{"nothing to change", AdjustRequest{}, []fe{{"bases", "required"}}},
		{"bases out of the policy's bounds", AdjustRequest{Bases: []BaseChange{
			{"P1", 300_000}, {"P2", 248_999}, {"P3", 3_756_901}, {"P4", 249_000}, {"P5", 3_756_900}}},
			[]fe{{"bases.1.base_fen", "out_of_range"}, {"bases.2.base_fen", "out_of_range"}}},
		{"malformed, duplicate, zero and negative", AdjustRequest{Bases: []BaseChange{
			{"P1", 300_000}, {"../P2", 300_000}, {"P1", 300_000}, {"P4", 0}, {"P5", -1}, {"P6", MaxBaseFen + 1}}},
			[]fe{{"bases.1.staff_id", "format"}, {"bases.2.staff_id", "duplicate"}, {"bases.3.base_fen", "out_of_range"},
				{"bases.4.base_fen", "out_of_range"}, {"bases.5.base_fen", "out_of_range"}}},
		{"shape and policy at once", AdjustRequest{Bases: []BaseChange{{"P1", 100}, {"P1", 300_000}}},
			[]fe{{"bases.1.staff_id", "duplicate"}, {"bases.0.base_fen", "out_of_range"}}},
		{"rate above 12 %", AdjustRequest{UnitRateBP: 1300, PersonalRateBP: 1300}, []fe{{"unit_rate_bp", "out_of_range"}, {"personal_rate_bp", "out_of_range"}}},
		{"rate below 5 %", AdjustRequest{UnitRateBP: 499, PersonalRateBP: 499}, []fe{{"unit_rate_bp", "out_of_range"}, {"personal_rate_bp", "out_of_range"}}},
		{"negative rate", AdjustRequest{UnitRateBP: -500}, []fe{{"unit_rate_bp", "out_of_range"}}},
		{"unequal rates", AdjustRequest{UnitRateBP: 800, PersonalRateBP: 1000}, []fe{{"personal_rate_bp", "not_equal"}}},
		{"one rate, unequal to the unit's other", AdjustRequest{UnitRateBP: 800}, []fe{{"unit_rate_bp", "not_equal"}}},
		{"too many bases", AdjustRequest{Bases: manyBases(core.MaxBaseChanges + 1)}, []fe{{"bases", "out_of_range"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			adj := &fakeAdjuster{}
			tt.req.IdempotencyKey = "k"
			_, err := newBases(t, testPolicy, adj, &fakeAudit{}, now).Adjust(context.Background(), operatorOf(unitA), tt.req)
			var se *services.Error
			if !errors.As(err, &se) || se.Code != services.CodeInvalid {
				t.Fatalf("err = %v, want %s", err, services.CodeInvalid)
			}
			var got []fe
			for _, f := range se.Fields {
				got = append(got, fe{f.Field, f.Code})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fields -want +got:\n%s", diff)
			}
			if len(adj.calls) != 0 {
				t.Errorf("the core was asked: %+v", adj.calls)
			}
		})
	}
}

func manyBases(n int) []BaseChange {
	out := make([]BaseChange, n)
	for i := range out {
		out[i] = BaseChange{fmt.Sprintf("P%d", i), 300_000}
	}
	return out
}

func TestAdjustUnequalRatesWhereThePolicyAllows(t *testing.T) {
	pol := testPolicy
	pol.RatesEqual = false
	adj := &fakeAdjuster{rates: [2]int{1000, 1000}}
	got, err := newBases(t, pol, adj, &fakeAudit{}, now).Adjust(context.Background(), operatorOf(unitA),
		AdjustRequest{UnitRateBP: 1200, PersonalRateBP: 800, Bases: []BaseChange{{"P1", 300_005}}, IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	// 12 % of 300 005 = 36 000.6 → 36 001; 8 % = 24 000.4 → 24 000.
	if got.Items[0] != (NewAmount{"P1", 300_005, 24_000, 36_001}) {
		t.Errorf("amounts %+v", got.Items[0])
	}
}

func TestAdjustOutsideTheWindow(t *testing.T) {
	pol := testPolicy
	pol.AdjustmentFrom, pol.AdjustmentTo = "07-01", "09-30"
	adj := &fakeAdjuster{}
	// 2026-06-30 23:30 UTC is 07-01 07:30 in Shanghai: inside.
	inside := time.Date(2026, 6, 30, 23, 30, 0, 0, time.UTC)
	if _, err := newBases(t, pol, adj, &fakeAudit{}, inside).Adjust(context.Background(), operatorOf(unitA),
		AdjustRequest{Bases: []BaseChange{{"P1", 300_000}}, IdempotencyKey: "k"}); err != nil {
		t.Fatalf("inside the window: %v", err)
	}
	a := &fakeAudit{}
	_, err := newBases(t, pol, adj, a, now).Adjust(context.Background(), operatorOf(unitA),
		AdjustRequest{Bases: []BaseChange{{"P1", 300_000}}, IdempotencyKey: "k"})
	if services.ErrorCode(err) != services.CodeOutsideWindow {
		t.Fatalf("err = %v, want %s", err, services.CodeOutsideWindow)
	}
	if len(adj.calls) != 1 || len(a.records) != 1 || a.records[0].Result != "error" {
		t.Errorf("calls %d, audit %+v", len(adj.calls), a.records)
	}
}

func TestInWindow(t *testing.T) {
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 4, 0, 0, 0, time.UTC) } // noon in Shanghai
	tests := []struct {
		from, to string
		at       time.Time
		want     bool
	}{
		{"", "", day(3, 3), true},
		{"07-01", "07-31", day(7, 1), true},
		{"07-01", "07-31", day(7, 31), true},
		{"07-01", "07-31", day(8, 1), false},
		{"07-01", "07-31", day(6, 30), false},
		{"12-01", "01-31", day(12, 15), true},
		{"12-01", "01-31", day(1, 31), true},
		{"12-01", "01-31", day(2, 1), false},
		{"07-01", "07-31", time.Date(2026, 7, 31, 16, 30, 0, 0, time.UTC), false}, // 08-01 00:30 in Shanghai
	}
	for _, tt := range tests {
		pol := core.Policy{AdjustmentFrom: tt.from, AdjustmentTo: tt.to}
		if got := inWindow(pol, tt.at); got != tt.want {
			t.Errorf("%s..%s at %s: %v, want %v", tt.from, tt.to, tt.at, got, tt.want)
		}
	}
}

// TestAdjustRetryReachesTheSameCoreRequest: the core request id follows
// from the operator, the unit and the key, nothing the client can aim at
// another operator's request.
func TestAdjustRetryReachesTheSameCoreRequest(t *testing.T) {
	adj := &fakeAdjuster{rates: [2]int{1000, 1000}}
	b := newBases(t, testPolicy, adj, &fakeAudit{}, now)
	req := AdjustRequest{Bases: []BaseChange{{"P1", 300_000}}, IdempotencyKey: "same"}
	opB := services.Principal{Subject: "op_b", Role: services.RoleEmployer, Channel: services.ChannelApp, Unit: unitA}
	for _, p := range []services.Principal{operatorOf(unitA), operatorOf(unitA), opB, operatorOf(unitB)} {
		if _, err := b.Adjust(context.Background(), p, req); err != nil {
			t.Fatal(err)
		}
	}
	ids := []string{adj.calls[0].RequestID, adj.calls[1].RequestID, adj.calls[2].RequestID, adj.calls[3].RequestID}
	if ids[0] != ids[1] || ids[0] == ids[2] || ids[0] == ids[3] || ids[2] == ids[3] || len(ids[0]) != 36 {
		t.Errorf("request ids %v", ids)
	}
}

func TestAdjustRefusals(t *testing.T) {
	adj := &fakeAdjuster{err: services.E(services.CodeStaffNotFound)}
	a := &fakeAudit{}
	b := newBases(t, testPolicy, adj, a, now)
	req := AdjustRequest{Bases: []BaseChange{{"P9", 300_000}}, IdempotencyKey: "k"}
	if _, err := b.Adjust(context.Background(), operatorOf(unitA), req); services.ErrorCode(err) != services.CodeStaffNotFound {
		t.Errorf("another unit's person: err = %v", err)
	}
	if len(a.records) != 1 || a.records[0].Result != "error" {
		t.Errorf("audit %+v", a.records)
	}
	dep := services.Principal{Subject: "s_1", Role: services.RoleDepositor, Channel: services.ChannelMiniApp, Unit: unitA}
	if _, err := b.Adjust(context.Background(), dep, req); services.ErrorCode(err) != services.CodeForbidden {
		t.Errorf("depositor: err = %v", err)
	}
	if len(adj.calls) != 1 {
		t.Errorf("core calls %d", len(adj.calls))
	}
	ok := newBases(t, testPolicy, &fakeAdjuster{}, &fakeAudit{err: errors.New("down")}, now)
	if _, err := ok.Adjust(context.Background(), operatorOf(unitA), req); services.ErrorCode(err) != services.CodeInternal {
		t.Errorf("audit down: err = %v", err)
	}
}
