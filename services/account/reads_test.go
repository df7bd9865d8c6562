package account

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
)

func TestAccountIsMaskedPerChannelAndAudited(t *testing.T) {
	w := newWorld(t)
	got, err := w.svc.Account(ctxWithID(t), depositor(zhangSubject, services.ChannelMiniApp))
	if err != nil {
		t.Fatal(err)
	}
	want := AccountView{
		Holder:        Holder{Name: "张*", IDNumber: "330***********4133"},
		AccountNumber: "3301****0101", Status: "01", StatusLabelKey: "status.account.01",
		BalanceFen: 12345600, DepositBaseFen: 2500000, MonthlyPersonalFen: 300000, MonthlyUnitFen: 300000,
		PersonalRateBP: 1200, UnitRateBP: 1200, EmployerName: "杭州明湖软件科技有限公司", OpenedOn: "2020-03-03",
		LastDepositMonth: "2025-02", CarryOverFen: 11000000, CurrentYearFen: 1200000,
		Freshness: core.Freshness{AsOf: now.Add(-time.Second)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("account -want +got:\n%s", diff)
	}

	// A kiosk shows the account number partially (DefaultPolicy), the
	// name still masked, and the device is the actor.
	got, err = w.svc.Account(ctxWithID(t), depositor(ouyangSubject, services.ChannelKiosk))
	if err != nil {
		t.Fatal(err)
	}
	if got.AccountNumber != "33010***0103" || got.Holder.Name != "欧阳**" || got.StatusLabelKey != "status.account.04" {
		t.Errorf("kiosk view: %+v", got)
	}
	wantRecords := []audit.Record{
		{At: now, Subject: zhangSubject, Actor: zhangSubject, Channel: "miniapp", Action: ActionAccount, Target: "self", RequestID: "req-0001", Result: "ok"},
		{At: now, Subject: ouyangSubject, Actor: "device:kiosk-demo-01", Channel: "kiosk", Action: ActionAccount, Target: "self", RequestID: "req-0001", Result: "ok"},
	}
	if diff := cmp.Diff(wantRecords, w.audit.all()); diff != "" {
		t.Errorf("audit -want +got:\n%s", diff)
	}
}

func TestNoAccountPassesThroughAndIsAudited(t *testing.T) {
	w := newWorld(t)
	_, err := w.svc.Account(ctxWithID(t), depositor(chenSubject, services.ChannelKiosk))
	wantCode(t, err, services.CodeAccountNotFound)
	recs := w.audit.all()
	if len(recs) != 1 || recs[0].Result != "error" || recs[0].Action != ActionAccount {
		t.Fatalf("audit: %+v", recs)
	}
}

func TestStaleReadsSayAsOf(t *testing.T) {
	w := newWorld(t)
	asOf := now.Add(-10 * time.Minute)
	w.reader.fresh = core.Freshness{AsOf: asOf, Stale: true}
	a, err := w.svc.Account(ctxWithID(t), depositor(zhangSubject, services.ChannelMiniApp))
	if err != nil || !a.Stale || !a.AsOf.Equal(asOf) {
		t.Fatalf("account stale=%v as_of=%v err=%v", a.Stale, a.AsOf, err)
	}
	l, err := w.svc.Loan(ctxWithID(t), depositor(zhangSubject, services.ChannelMiniApp))
	if err != nil || !l.Stale || !l.AsOf.Equal(asOf) {
		t.Fatalf("loan stale=%v as_of=%v err=%v", l.Stale, l.AsOf, err)
	}
	// A reader that gives no time gets the clock's.
	w.reader.fresh = core.Freshness{}
	l, _ = w.svc.Loan(ctxWithID(t), depositor(zhangSubject, services.ChannelMiniApp))
	if l.Stale || !l.AsOf.Equal(now) {
		t.Fatalf("fresh loan as_of %v", l.AsOf)
	}
}

// A read that cannot be audited is not answered.
func TestUnauditableReadsFail(t *testing.T) {
	w := newWorld(t)
	w.audit.err = errors.New("queue closed")
	p := depositor(zhangSubject, services.ChannelMiniApp)
	ctx := ctxWithID(t)
	reads := map[string]func() (any, error){
		"account":  func() (any, error) { return w.svc.Account(ctx, p) },
		"deposits": func() (any, error) { return w.svc.Deposits(ctx, p, "", "", 20, "") },
		"loan":     func() (any, error) { return w.svc.Loan(ctx, p) },
		"schedule": func() (any, error) { return w.svc.Schedule(ctx, p, 20, "") },
		"home":     func() (any, error) { return w.svc.Home(ctx, p) },
	}
	for name, read := range reads {
		v, err := read()
		wantCode(t, err, services.CodeInternal)
		if s := fmt.Sprintf("%+v", v); strings.Contains(s, "张") || strings.Contains(s, "12345600") || strings.Contains(s, "0101") {
			t.Errorf("%s: data came back with the error: %+v", name, v)
		}
	}
}

// Every read names its action; only depositors read, and nothing is read
// or recorded for anyone else.
func TestEveryReadIsAuditedOnlyForDepositors(t *testing.T) {
	w := newWorld(t)
	p := depositor(zhangSubject, services.ChannelMiniApp)
	ctx := ctxWithID(t)
	_, _ = w.svc.Account(ctx, p)
	_, _ = w.svc.Deposits(ctx, p, "", "", 20, "")
	_, _ = w.svc.Loan(ctx, p)
	_, _ = w.svc.Schedule(ctx, p, 20, "")
	_, _ = w.svc.Home(ctx, p)
	var actions []string
	for _, r := range w.audit.all() {
		actions = append(actions, r.Action)
		if r.Result != "ok" || r.Subject != zhangSubject || r.Target != "self" || r.RequestID != "req-0001" {
			t.Errorf("record %+v", r)
		}
	}
	want := []string{ActionAccount, ActionDeposits, ActionLoan, ActionLoanSchedule, ActionHome}
	if diff := cmp.Diff(want, actions); diff != "" {
		t.Errorf("actions -want +got:\n%s", diff)
	}

	before := len(w.reader.calls)
	for _, who := range []services.Principal{
		{Subject: "op_hash", Role: services.RoleEmployer, Channel: services.ChannelApp, Unit: "u1"},
		{Role: services.RoleKiosk, Channel: services.ChannelKiosk, Device: "kiosk-demo-01"},
		{Role: services.RoleDepositor, Channel: services.ChannelMiniApp}, // no subject
	} {
		_, err := w.svc.Account(ctx, who)
		wantCode(t, err, services.CodeForbidden)
		_, err = w.svc.Deposits(ctx, who, "bad", "", 0, "")
		wantCode(t, err, services.CodeForbidden)
		_, err = w.svc.Home(ctx, who)
		wantCode(t, err, services.CodeForbidden)
	}
	if len(w.reader.calls) != before || len(w.audit.all()) != len(want) {
		t.Fatal("a non-depositor reached the core or the trail")
	}
	// An unknown subject (a session whose subject is gone) reads nothing.
	_, err := w.svc.Loan(ctx, depositor("s_unknown000001", services.ChannelMiniApp))
	wantCode(t, err, services.CodeSessionRevoked)
}

func TestLoan(t *testing.T) {
	w := newWorld(t)
	ctx := ctxWithID(t)
	got, err := w.svc.Loan(ctx, depositor(ouyangSubject, services.ChannelMiniApp))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(LoanView{Freshness: w.reader.fresh}, got); diff != "" {
		t.Errorf("no loan -want +got:\n%s", diff)
	}
	got, err = w.svc.Loan(ctx, depositor(zhangSubject, services.ChannelMiniApp))
	if err != nil {
		t.Fatal(err)
	}
	want := LoanView{HasLoan: true, PrincipalFen: 80000000, OutstandingFen: 76000000, AnnualRateBP: 285, Months: 360,
		Method: "annuity", MethodLabelKey: "loan.method.annuity", StartedOn: "2023-01-20", NextDueOn: "2025-03-20",
		NextPaymentFen: 330800, Freshness: w.reader.fresh}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("loan -want +got:\n%s", diff)
	}
	w.reader.fail["loan"] = services.E(services.CodeCoreUnavailable)
	_, err = w.svc.Loan(ctx, depositor(zhangSubject, services.ChannelMiniApp))
	wantCode(t, err, services.CodeCoreUnavailable)
}

func TestSchedulePagesWithSealedCursors(t *testing.T) {
	w := newWorld(t)
	ctx := ctxWithID(t)
	p := depositor(zhangSubject, services.ChannelMiniApp)
	var periods []int
	cursor := ""
	for pages := 0; ; pages++ {
		v, err := w.svc.Schedule(ctx, p, 20, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range v.Items {
			periods = append(periods, in.Period)
			if in.StatusLabelKey != "loan.instalment.paid" {
				t.Fatalf("label %q", in.StatusLabelKey)
			}
		}
		if strings.Contains(v.NextCursor, "pos") {
			t.Fatalf("core cursor visible: %q", v.NextCursor)
		}
		if cursor = v.NextCursor; cursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("no end")
		}
	}
	if len(periods) != 45 || periods[0] != 1 || periods[44] != 45 {
		t.Fatalf("periods %v", periods)
	}
	if diff := cmp.Diff([]string{"", "pos:20", "pos:40"}, w.reader.cursors); diff != "" {
		t.Errorf("core cursors -want +got:\n%s", diff)
	}
	// No loan: an empty plan, not an error.
	v, err := w.svc.Schedule(ctx, depositor(ouyangSubject, services.ChannelMiniApp), 20, "")
	if err != nil || len(v.Items) != 0 || v.Items == nil || v.NextCursor != "" {
		t.Fatalf("no loan: %+v %v", v, err)
	}
}

func TestScheduleValidation(t *testing.T) {
	w := newWorld(t)
	p := depositor(zhangSubject, services.ChannelMiniApp)
	first, _ := w.svc.Schedule(ctxWithID(t), p, 20, "")
	deposits, _ := w.svc.Deposits(ctxWithID(t), p, "2023-03", "2025-02", 5, "")
	cases := []struct {
		name   string
		who    services.Principal
		limit  int
		cursor string
		want   []services.FieldError
	}{
		{"limit 0", p, 0, "", []services.FieldError{{Field: "limit", Code: "out_of_range"}}},
		{"limit 101", p, 101, "", []services.FieldError{{Field: "limit", Code: "out_of_range"}}},
		{"forged cursor", p, 20, "cG9zOjIw", []services.FieldError{{Field: "cursor", Code: "format"}}},
		{"another subject's cursor", depositor(ouyangSubject, services.ChannelMiniApp), 20, first.NextCursor, []services.FieldError{{Field: "cursor", Code: "format"}}},
		{"a deposits cursor", p, 20, deposits.NextCursor, []services.FieldError{{Field: "cursor", Code: "format"}}},
		{"both", p, -1, "!!", []services.FieldError{{Field: "limit", Code: "out_of_range"}, {Field: "cursor", Code: "format"}}},
	}
	calls := len(w.reader.calls)
	for _, tc := range cases {
		_, err := w.svc.Schedule(ctxWithID(t), tc.who, tc.limit, tc.cursor)
		wantCode(t, err, services.CodeInvalid)
		if diff := cmp.Diff(tc.want, services.AsError(err).Fields, cmpopts.IgnoreFields(services.FieldError{}, "Params")); diff != "" {
			t.Errorf("%s: fields -want +got:\n%s", tc.name, diff)
		}
	}
	if len(w.reader.calls) != calls {
		t.Fatal("an invalid request reached the core")
	}
}
