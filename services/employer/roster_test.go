package employer

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/mask"
	"handheld/services/suite"
)

var _ rosterReader = (*core.Reader)(nil)
var _ trail = (*audit.Log)(nil)

// fakeRoster holds each unit's staff and records the queries it was asked.
type fakeRoster struct {
	mu      sync.Mutex
	staff   map[string][]core.StaffMember // by unit code
	next    string                        // NextCursor of every page
	queries []core.RosterQuery
	units   []string
}

func (f *fakeRoster) Roster(_ context.Context, unit string, q core.RosterQuery) (core.StaffPage, core.Freshness, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, q)
	f.units = append(f.units, unit)
	items := f.staff[unit]
	return core.StaffPage{Items: items, Total: len(items), NextCursor: f.next}, core.Freshness{}, nil
}

func (f *fakeRoster) StaffMember(_ context.Context, unit, id string) (core.StaffMember, core.Freshness, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.units = append(f.units, unit)
	for _, m := range f.staff[unit] {
		if m.PersonID == id {
			return m, core.Freshness{}, nil
		}
	}
	return core.StaffMember{}, core.Freshness{}, services.E(services.CodeStaffNotFound)
}

// fakeTrail is fakeAudit with Append.
type fakeTrail struct {
	fakeAudit
	appended  []audit.Record
	appendErr error
}

func (a *fakeTrail) Append(_ context.Context, r audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.appendErr != nil {
		return a.appendErr
	}
	if err := audit.Check(r); err != nil {
		return err
	}
	a.appended = append(a.appended, r)
	return nil
}

var (
	zhang = core.StaffMember{PersonID: "P3000000001", Name: "张三丰", IDNumber: "330106199001011234", AccountNumber: "330100000001",
		Status: core.StatusNormal, DepositBaseFen: 300_000, PersonalRateBP: 500, UnitRateBP: 500, MonthlyPersonalFen: 15_000, MonthlyUnitFen: 15_000}
	other = core.StaffMember{PersonID: "P3000000099", Name: "李四", IDNumber: "33010819850505123X", AccountNumber: "330100000099", Status: core.StatusNormal}
)

func newRoster(t *testing.T, f *fakeRoster, a *fakeTrail) *Roster {
	t.Helper()
	r, err := NewRoster(RosterDeps{Reader: f, Audit: a, Mask: mask.DefaultPolicy(), Secret: services.NewHashKey([]byte(strings.Repeat("k", 32)), suite.Env()), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func twoUnits() *fakeRoster {
	return &fakeRoster{staff: map[string][]core.StaffMember{unitA: {zhang}, unitB: {other}}}
}

func TestRosterIsMaskedScopedAndAudited(t *testing.T) {
	f, a := twoUnits(), &fakeTrail{}
	r := newRoster(t, f, a)
	page, err := r.List(context.Background(), operatorOf(unitA), RosterQuery{})
	if err != nil {
		t.Fatal(err)
	}
	want := []StaffView{{StaffID: "P3000000001", Name: "张**", IDNumber: "330***********1234", AccountNumber: "3301****0001",
		Status: "01", BaseFen: 300_000, PersonalRateBP: 500, UnitRateBP: 500, MonthlyPersonalFen: 15_000, MonthlyUnitFen: 15_000}}
	if diff := cmp.Diff(want, page.Items); diff != "" {
		t.Errorf("items -want +got:\n%s", diff)
	}
	if diff := cmp.Diff([]string{unitA}, f.units); diff != "" {
		t.Errorf("units asked -want +got:\n%s", diff)
	}
	if f.queries[0].Limit != DefaultRosterLimit {
		t.Errorf("limit sent %d, want the default %d", f.queries[0].Limit, DefaultRosterLimit)
	}
	if len(a.records) != 1 || a.records[0].Action != ActionRoster || a.records[0].Target != "unit:self" || a.records[0].Result != "ok" {
		t.Errorf("audit: %+v", a.records)
	}
}

func TestRosterQueryShape(t *testing.T) {
	tests := []struct {
		name  string
		q     RosterQuery
		field string // "" when valid
		sentQ string
	}{
		{"name prefix", RosterQuery{Q: "张"}, "", "张"},
		{"compound name with a dot", RosterQuery{Q: "买买提·艾"}, "", "买买提·艾"},
		{"ID tail", RosterQuery{Q: "1234"}, "", "1234"},
		{"ID tail with x", RosterQuery{Q: "23x"}, "q", ""},
		{"ID tail ending in x", RosterQuery{Q: "0123x"}, "", "0123X"},
		{"whole ID number", RosterQuery{Q: "330106199001011234"}, "", "330106199001011234"},
		{"too short a tail", RosterQuery{Q: "123"}, "q", ""},
		{"too long a tail", RosterQuery{Q: "3301061990010112345"}, "q", ""},
		{"digits inside a name", RosterQuery{Q: "张3"}, "q", ""},
		{"wildcard", RosterQuery{Q: "张%"}, "q", ""},
		{"like pattern", RosterQuery{Q: "_"}, "q", ""},
		{"quote", RosterQuery{Q: "a' OR 1=1"}, "q", ""},
		{"name too long", RosterQuery{Q: strings.Repeat("张", 21)}, "q", ""},
		{"status", RosterQuery{Status: core.StatusSealed}, "", ""},
		{"unknown status", RosterQuery{Status: "sealed"}, "status", ""},
		{"limit too big", RosterQuery{Limit: MaxRosterLimit + 1}, "limit", ""},
		{"negative limit", RosterQuery{Limit: -1}, "limit", ""},
		{"forged cursor", RosterQuery{Cursor: "dTpQMzAwMDAwMDAwMQ"}, "cursor", ""},
		{"oversized cursor", RosterQuery{Cursor: strings.Repeat("A", 513)}, "cursor", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := twoUnits()
			_, err := newRoster(t, f, &fakeTrail{}).List(context.Background(), operatorOf(unitA), tt.q)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if f.queries[0].Q != tt.sentQ {
					t.Errorf("q sent %q, want %q", f.queries[0].Q, tt.sentQ)
				}
				return
			}
			var se *services.Error
			if !errors.As(err, &se) || se.Code != services.CodeInvalid || len(se.Fields) != 1 || se.Fields[0].Field != tt.field {
				t.Fatalf("err = %#v, want a field error on %s", err, tt.field)
			}
			if len(f.queries) != 0 {
				t.Errorf("the core was asked %+v", f.queries)
			}
		})
	}
}

// TestRosterCursorIsBoundToItsQuery: a cursor opens only for the operator
// and query it was issued for, and what reaches the core is the core's own.
func TestRosterCursorIsBoundToItsQuery(t *testing.T) {
	f := twoUnits()
	f.next = "dTpQMzAwMDAwMDAwMQ"
	r := newRoster(t, f, &fakeTrail{})
	ctx := context.Background()
	page, err := r.List(ctx, operatorOf(unitA), RosterQuery{Q: "张"})
	if err != nil {
		t.Fatal(err)
	}
	if page.NextCursor == "" || strings.Contains(page.NextCursor, f.next) {
		t.Fatalf("next cursor %q: want a sealed one", page.NextCursor)
	}
	if _, err := r.List(ctx, operatorOf(unitA), RosterQuery{Q: "张", Cursor: page.NextCursor}); err != nil {
		t.Fatal(err)
	}
	if got := f.queries[1].Cursor; got != f.next {
		t.Errorf("cursor sent %q, want the core's %q", got, f.next)
	}
	for name, try := range map[string]struct {
		p services.Principal
		q RosterQuery
	}{
		"another query":    {operatorOf(unitA), RosterQuery{Q: "李", Cursor: page.NextCursor}},
		"another status":   {operatorOf(unitA), RosterQuery{Q: "张", Status: core.StatusSealed, Cursor: page.NextCursor}},
		"another unit":     {operatorOf(unitB), RosterQuery{Q: "张", Cursor: page.NextCursor}},
		"another operator": {services.Principal{Subject: "op_b", Role: services.RoleEmployer, Channel: services.ChannelApp, Unit: unitA}, RosterQuery{Q: "张", Cursor: page.NextCursor}},
		"altered":          {operatorOf(unitA), RosterQuery{Q: "张", Cursor: page.NextCursor[:len(page.NextCursor)-2] + "AA"}},
	} {
		_, err := r.List(ctx, try.p, try.q)
		var se *services.Error
		if !errors.As(err, &se) || len(se.Fields) != 1 || se.Fields[0].Field != "cursor" {
			t.Errorf("%s: err = %v, want a field error on cursor", name, err)
		}
	}
}

func TestStaffMemberOfAnotherUnitIsNotFound(t *testing.T) {
	f, a := twoUnits(), &fakeTrail{}
	r := newRoster(t, f, a)
	ctx := context.Background()
	got, err := r.Member(ctx, operatorOf(unitA), zhang.PersonID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "张**" || got.IDNumber != "330***********1234" {
		t.Errorf("not masked: %+v", got.StaffView)
	}
	_, err = r.Member(ctx, operatorOf(unitA), other.PersonID) // B's person
	if services.ErrorCode(err) != services.CodeStaffNotFound {
		t.Errorf("another unit's person: err = %v, want %s", err, services.CodeStaffNotFound)
	}
	for _, id := range []string{"", "../P1", "P1?x=1", strings.Repeat("P", 65), "P3 1"} {
		if _, err := r.Member(ctx, operatorOf(unitA), id); services.ErrorCode(err) != services.CodeStaffNotFound {
			t.Errorf("staff id %q: err = %v, want %s", id, err, services.CodeStaffNotFound)
		}
	}
	if diff := cmp.Diff([]string{unitA, unitA}, f.units); diff != "" {
		t.Errorf("units asked (malformed ids never reach the core) -want +got:\n%s", diff)
	}
	if len(a.records) != 2 || a.records[0].Target != r.staffTarget("P3000000001") || a.records[1].Result != "error" {
		t.Errorf("audit: %+v", a.records)
	}
}

func TestRevealIsAuditedWithItsReasonBeforeTheAnswer(t *testing.T) {
	f, a := twoUnits(), &fakeTrail{}
	r := newRoster(t, f, a)
	ctx := services.WithRequestID(context.Background(), "req-9")
	got, err := r.Reveal(ctx, operatorOf(unitA), zhang.PersonID, RevealPayroll)
	if err != nil {
		t.Fatal(err)
	}
	if got != (Revealed{StaffID: zhang.PersonID, IDNumber: zhang.IDNumber}) {
		t.Errorf("revealed %+v", got)
	}
	want := []audit.Record{{At: now, Subject: "op_a", Actor: "op_a", Channel: "app", Action: ActionReveal,
		Target: r.staffTarget(zhang.PersonID) + " reason:payroll", RequestID: "req-9", Result: "ok"}}
	if diff := cmp.Diff(want, a.appended); diff != "" {
		t.Errorf("committed audit -want +got:\n%s", diff)
	}
}

func TestRevealRefusals(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		p       services.Principal
		staffID string
		reason  string
		trail   *fakeTrail
		code    services.Code
	}{
		{"no reason", operatorOf(unitA), zhang.PersonID, "", &fakeTrail{}, services.CodeInvalid},
		{"free text reason", operatorOf(unitA), zhang.PersonID, "just curious", &fakeTrail{}, services.CodeInvalid},
		{"another unit's person", operatorOf(unitA), other.PersonID, RevealPayroll, &fakeTrail{}, services.CodeStaffNotFound},
		{"malformed id", operatorOf(unitA), "P3/../x", RevealPayroll, &fakeTrail{}, services.CodeStaffNotFound},
		{"depositor", services.Principal{Subject: "s_1", Role: services.RoleDepositor, Channel: services.ChannelMiniApp, Unit: unitA}, zhang.PersonID, RevealPayroll, &fakeTrail{}, services.CodeForbidden},
		{"audit down", operatorOf(unitA), zhang.PersonID, RevealPayroll, &fakeTrail{appendErr: errors.New("down")}, services.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newRoster(t, twoUnits(), tt.trail).Reveal(ctx, tt.p, tt.staffID, tt.reason)
			if services.ErrorCode(err) != tt.code {
				t.Errorf("err = %v, want %s", err, tt.code)
			}
			if got.IDNumber != "" {
				t.Errorf("an ID number was answered: %+v", got)
			}
		})
	}
}

// The trail names a person by a keyed tag of their person id: never the id
// itself (a core may write it as a long run of digits, which the trail
// refuses as personal data), the same tag for the same person, another for
// another person.
func TestStaffTargetIsAPseudonym(t *testing.T) {
	r := newRoster(t, twoUnits(), &fakeTrail{})
	digits := "330106199511040021"
	got := r.staffTarget(digits)
	if strings.Contains(got, digits) || !strings.HasPrefix(got, "staff:") || len(got) != len("staff:")+32 {
		t.Errorf("staffTarget(%q) = %q", digits, got)
	}
	if got != r.staffTarget(digits) || got == r.staffTarget("330106199511040022") {
		t.Error("the tag is not one per person")
	}
}
