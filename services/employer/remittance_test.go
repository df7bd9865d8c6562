package employer

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/mask"
)

// The production collaborators satisfy the interfaces this file declares.
var (
	_ remittanceReader = (*core.Reader)(nil)
	_ bills            = (*core.Client)(nil)
	_ masker           = mask.Policy(nil)
)

// fakeCore is the reader and the bills of one unit, recording what it was
// asked.
type fakeCore struct {
	mu       sync.Mutex
	unit     string
	opened   string
	bill     core.Bill
	billErr  error
	declared []core.Declaration
	kinds    []string
	asked    []string
	billed   int // Bill calls
}

func (f *fakeCore) note(code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, code)
}

func (f *fakeCore) UnitAccount(_ context.Context, code string) (core.UnitAccount, core.Freshness, error) {
	f.note(code)
	if code != f.unit {
		return core.UnitAccount{}, core.Freshness{}, services.E(services.CodeUnitNotFound)
	}
	return core.UnitAccount{UnitCode: code, OpenedMonth: f.opened}, core.Freshness{}, nil
}

func (f *fakeCore) Remittances(_ context.Context, code string, year int) (core.RemittanceYear, core.Freshness, error) {
	f.note(code)
	return core.RemittanceYear{Year: year}, core.Freshness{}, nil
}

func (f *fakeCore) Arrears(_ context.Context, code string) (core.Arrears, core.Freshness, error) {
	f.note(code)
	return core.Arrears{AsOf: "2026-11-24"}, core.Freshness{}, nil
}

func (f *fakeCore) Policy(context.Context) (core.Policy, core.Freshness, error) {
	return core.Policy{SupplementRateBP: 150}, core.Freshness{}, nil
}

func (f *fakeCore) Bill(_ context.Context, code, month string) (core.Bill, error) {
	f.note(code)
	f.mu.Lock()
	f.billed++
	f.mu.Unlock()
	b := f.bill
	b.Lines = append([]core.BillLine(nil), f.bill.Lines...)
	return b, f.billErr
}

func (f *fakeCore) Declare(_ context.Context, code string, d core.Declaration) (core.DeclarationResult, error) {
	return f.declare(code, core.BillRegular, d)
}

func (f *fakeCore) Supplement(_ context.Context, code string, d core.Declaration) (core.DeclarationResult, error) {
	return f.declare(code, core.BillSupplement, d)
}

func (f *fakeCore) declare(code, kind string, d core.Declaration) (core.DeclarationResult, error) {
	f.note(code)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.declared = append(f.declared, d)
	f.kinds = append(f.kinds, kind)
	return core.DeclarationResult{RequestID: d.RequestID, Month: d.Month, Kind: kind, Status: core.BillPending, Version: d.BillVersion}, nil
}

func newRemittances(t *testing.T, f *fakeCore, a *fakeAudit) *Remittances {
	t.Helper()
	s, err := NewRemittances(RemittanceDeps{Reader: f, Bills: f, Audit: a, Mask: mask.DefaultPolicy(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func appOperator(unit string) services.Principal {
	p := operatorOf(unit)
	p.Channel = services.ChannelApp
	return p
}

func TestBillIsMaskedTaggedAndAudited(t *testing.T) {
	f := &fakeCore{unit: unitA, opened: "2020-01", bill: core.Bill{UnitCode: unitA, Month: "2026-11", Version: "r7", Status: core.BillOpen,
		Lines: []core.BillLine{{PersonID: "P1", Name: "张三丰", IDNumber: "330106199001011234", BaseFen: 500000, PersonalFen: 60000, UnitFen: 60000}}}}
	a := &fakeAudit{}
	got, err := newRemittances(t, f, a).Bill(context.Background(), appOperator(unitA), "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	want := core.BillLine{PersonID: "P1", Name: "张**", IDNumber: "330***********1234", BaseFen: 500000, PersonalFen: 60000, UnitFen: 60000}
	if diff := cmp.Diff(want, got.Lines[0]); diff != "" {
		t.Errorf("line (-want +got):\n%s", diff)
	}
	if got.ETag != BillETag("2026-11", "r7") || got.ETag == BillETag("2026-10", "r7") || got.ETag == BillETag("2026-11", "r8") {
		t.Errorf("ETag %s does not tell month and version apart", got.ETag)
	}
	if len(a.records) != 1 || a.records[0].Action != ActionBill || a.records[0].Target != "remittance:2026-11" {
		t.Errorf("audit = %+v", a.records)
	}
	for _, code := range f.asked {
		if code != unitA {
			t.Errorf("the core was asked about %s", code)
		}
	}
}

func TestBillThatCannotBeAuditedIsNotShown(t *testing.T) {
	f := &fakeCore{unit: unitA, bill: core.Bill{UnitCode: unitA, Month: "2026-11", Version: "r1"}}
	_, err := newRemittances(t, f, &fakeAudit{err: errors.New("queue full")}).Bill(context.Background(), appOperator(unitA), "2026-11")
	if services.ErrorCode(err) != services.CodeInternal {
		t.Fatalf("err = %v, want internal", err)
	}
}

func TestBillOfAnotherUnitFromTheCoreIsWithheld(t *testing.T) {
	f := &fakeCore{unit: unitA, bill: core.Bill{UnitCode: unitB, Month: "2026-11", Version: "r1",
		Lines: []core.BillLine{{PersonID: "P9", Name: "李四"}}}}
	got, err := newRemittances(t, f, &fakeAudit{}).Bill(context.Background(), appOperator(unitA), "2026-11")
	if services.ErrorCode(err) != services.CodeInternal || len(got.Lines) != 0 {
		t.Fatalf("got %d lines, %v; want nothing and internal", len(got.Lines), err)
	}
}

func TestMonthIsCheckedBeforeTheCoreIsAsked(t *testing.T) {
	for _, tc := range []struct {
		month, code string
	}{
		{"2026-13", services.FieldFormat},
		{"2026-1", services.FieldFormat},
		{"26-11-01", services.FieldFormat},
		{"2026/11", services.FieldFormat},
		{"１９９０-01", services.FieldFormat},
		{"1989-12", services.FieldFormat},
		{"2026-12", services.FieldOutOfRange}, // next month (now is 2026-11-24 UTC)
		{"2019-12", services.FieldOutOfRange}, // before the unit opened
	} {
		f := &fakeCore{unit: unitA, opened: "2020-01"}
		_, err := newRemittances(t, f, &fakeAudit{}).Bill(context.Background(), appOperator(unitA), tc.month)
		var e *services.Error
		if !errors.As(err, &e) || e.Code != services.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "month" || e.Fields[0].Code != tc.code {
			t.Errorf("%q: err = %v, want month %s", tc.month, err, tc.code)
		}
		if f.billed != 0 {
			t.Errorf("%q: the core was asked for the bill", tc.month)
		}
	}
}

func TestCurrentMonthIsTheCentresNotUTCs(t *testing.T) {
	f := &fakeCore{unit: unitA, bill: core.Bill{UnitCode: unitA, Month: "2026-12", Version: "r1"}}
	s := newRemittances(t, f, &fakeAudit{})
	s.Now = func() time.Time { return time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC) } // 01:00 on 1 December in Shanghai
	if _, err := s.Bill(context.Background(), appOperator(unitA), "2026-12"); err != nil {
		t.Fatalf("December in Shanghai: %v", err)
	}
}

func TestIfMatch(t *testing.T) {
	tag := BillETag("2026-11", "r7")
	for _, tc := range []struct {
		name, ifMatch string
		want          string
		code          services.Code
	}{
		{"missing", "", "", services.CodeIfMatchRequired},
		{"any", "*", "", services.CodeIfMatchRequired},
		{"the tag", tag, "r7", ""},
		{"in a list", `"2026-10.cjc", ` + tag, "r7", ""},
		{"weak", "W/" + tag, "", services.CodeBillChanged},
		{"another month", BillETag("2026-10", "r7"), "", services.CodeBillChanged},
		{"unquoted", "2026-11.cjc", "", services.CodeBillChanged},
		{"not base64", `"2026-11.!!"`, "", services.CodeBillChanged},
		{"empty version", `"2026-11."`, "", services.CodeBillChanged},
	} {
		got, err := matchVersion(tc.ifMatch, "2026-11")
		if got != tc.want || services.ErrorCode(err) != tc.code && (tc.code != "" || err != nil) {
			t.Errorf("%s: %q, %v; want %q, %q", tc.name, got, err, tc.want, tc.code)
		}
	}
}

func TestDeclareNamesTheVersionReadAndAStableRequestID(t *testing.T) {
	f := &fakeCore{unit: unitA, opened: "2020-01"}
	a := &fakeAudit{}
	s := newRemittances(t, f, a)
	ctx := context.Background()
	p := appOperator(unitA)
	tag := BillETag("2026-11", "r7")
	d, err := s.Declare(ctx, p, "2026-11", tag, "key-1")
	if err != nil || d.ETag != tag || d.Status != core.BillPending {
		t.Fatalf("Declare = %+v, %v", d, err)
	}
	if _, err := s.Declare(ctx, p, "2026-11", tag, "key-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Declare(ctx, p, "2026-11", tag, "key-2"); err != nil {
		t.Fatal(err)
	}
	other := p
	other.Subject = "sub-other-operator"
	if _, err := s.Declare(ctx, other, "2026-11", tag, "key-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Supplement(ctx, p, "2026-10", BillETag("2026-10", "r7"), "key-1"); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(f.declared))
	for i, d := range f.declared {
		ids[i] = d.RequestID
		if d.BillVersion != "r7" {
			t.Errorf("declaration %d named version %q", i, d.BillVersion)
		}
	}
	if ids[0] != ids[1] || ids[0] == ids[2] || ids[0] == ids[3] || ids[0] == ids[4] {
		t.Errorf("request ids %v: a retry must repeat one, another key, operator or kind must not", ids)
	}
	if diff := cmp.Diff([]string{"regular", "regular", "regular", "regular", "supplement"}, f.kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	if n := len(a.records); n != 5 || a.records[0].Action != ActionDeclare || a.records[4].Action != ActionSupplement {
		t.Errorf("audit = %+v", a.records)
	}
}

func TestDeclareWithoutABillReadSendsNothing(t *testing.T) {
	f := &fakeCore{unit: unitA}
	s := newRemittances(t, f, &fakeAudit{})
	for _, ifMatch := range []string{"", "*", BillETag("2026-10", "r1")} {
		if _, err := s.Declare(context.Background(), appOperator(unitA), "2026-11", ifMatch, "k"); err == nil {
			t.Errorf("If-Match %q: declared", ifMatch)
		}
	}
	if len(f.declared) != 0 {
		t.Errorf("the core got %d declarations", len(f.declared))
	}
}

func TestRemittancesRefuseWhoIsNotAnOperator(t *testing.T) {
	f := &fakeCore{unit: unitA}
	s := newRemittances(t, f, &fakeAudit{})
	ctx := context.Background()
	dep := services.Principal{Subject: "sub-1", Role: services.RoleDepositor, Channel: services.ChannelApp, Unit: unitA}
	if _, err := s.Bill(ctx, dep, "2026-11"); services.ErrorCode(err) != services.CodeForbidden {
		t.Errorf("Bill: %v", err)
	}
	if _, err := s.Declare(ctx, dep, "2026-11", BillETag("2026-11", "r1"), "k"); services.ErrorCode(err) != services.CodeForbidden {
		t.Errorf("Declare: %v", err)
	}
	if _, err := s.Year(ctx, dep, 2026); services.ErrorCode(err) != services.CodeForbidden {
		t.Errorf("Year: %v", err)
	}
	if _, err := s.Arrears(ctx, dep); services.ErrorCode(err) != services.CodeForbidden {
		t.Errorf("Arrears: %v", err)
	}
	if len(f.asked) != 0 {
		t.Errorf("the core was asked about %v", f.asked)
	}
}

func TestYearBounds(t *testing.T) {
	f := &fakeCore{unit: unitA, opened: "2020-03"}
	s := newRemittances(t, f, &fakeAudit{})
	ctx := context.Background()
	for year, ok := range map[int]bool{0: true, 2020: true, 2026: true, 2019: false, 2027: false} {
		y, err := s.Year(ctx, appOperator(unitA), year)
		if ok != (err == nil) {
			t.Errorf("year %d: %v", year, err)
		}
		if year == 0 && y.Year != 2026 {
			t.Errorf("default year %d, want 2026", y.Year)
		}
	}
}
