package standing

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/withdrawal"
)

// t0 is 10:00 on 6 December 2026 in Shanghai.
var t0 = time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)

var (
	ana = services.Principal{Subject: "sub-ana", Role: services.RoleDepositor, Channel: services.ChannelMiniApp}
	bo  = services.Principal{Subject: "sub-bo", Role: services.RoleDepositor, Channel: services.ChannelMiniApp}
)

// fakeWithdrawals is the withdrawal pipeline as this package sees it: one
// application per Idempotency-Key (a repeat is replayed), each person's
// own payout accounts, and a refusal to answer with when set.
type fakeWithdrawals struct {
	mu      sync.Mutex
	byKey   map[string]withdrawal.Application
	calls   int
	refuse  error
	at      []time.Time
	terms   []withdrawal.StandingTerms
	payouts map[string][]string // subject -> payout account ids
}

func newFake() *fakeWithdrawals {
	return &fakeWithdrawals{byKey: map[string]withdrawal.Application{},
		payouts: map[string][]string{ana.Subject: {"pa-ana-card"}, bo.Subject: {"pa-bo-card"}}}
}

func (f *fakeWithdrawals) ApplyStanding(_ context.Context, p services.Principal, r withdrawal.Request, terms withdrawal.StandingTerms, at time.Time) (withdrawal.Application, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.refuse != nil {
		return withdrawal.Application{}, false, f.refuse
	}
	if a, ok := f.byKey[p.Subject+" "+r.IdempotencyKey]; ok {
		return a, true, nil
	}
	a := withdrawal.Application{ID: "wd_" + strconv.Itoa(len(f.byKey)+1), Kind: r.Kind, AmountFen: r.AmountFen, Status: withdrawal.StatusAccepted}
	f.byKey[p.Subject+" "+r.IdempotencyKey] = a
	f.at, f.terms = append(f.at, at), append(f.terms, terms)
	return a, false, nil
}

func (f *fakeWithdrawals) PayoutAccounts(_ context.Context, p services.Principal) ([]withdrawal.PayoutAccount, error) {
	var out []withdrawal.PayoutAccount
	for _, id := range f.payouts[p.Subject] {
		out = append(out, withdrawal.PayoutAccount{ID: id, Kind: withdrawal.PayoutBankCard})
	}
	return out, nil
}

func (f *fakeWithdrawals) applications() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.byKey)
}

type fakeAudit struct {
	mu      sync.Mutex
	records []audit.Record
}

func (a *fakeAudit) Enqueue(_ context.Context, r audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.At.IsZero() {
		r.At = t0 // the log's clock stamps it
	}
	if err := audit.Check(r); err != nil {
		return err
	}
	a.records = append(a.records, r)
	return nil
}

func (a *fakeAudit) count(action, result string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, r := range a.records {
		if r.Action == action && r.Result == result {
			n++
		}
	}
	return n
}

type rig struct {
	svc   *Service
	fake  *fakeWithdrawals
	audit *fakeAudit
	store *store.Store
	now   time.Time
}

func newRig(t *testing.T, s *store.Store) *rig {
	t.Helper()
	r := &rig{fake: newFake(), audit: &fakeAudit{}, store: s, now: t0}
	r.svc = r.another(t)
	return r
}

// another is a second Service on the same store and fakes: another
// replica, or the same one after a restart.
func (r *rig) another(t *testing.T) *Service {
	t.Helper()
	svc, err := New(Deps{Store: r.store, Withdrawals: r.fake, Audit: r.audit, Kinds: withdrawal.DefaultPolicies(),
		Policies: DefaultPolicies(), Now: func() time.Time { return r.now }})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func (r *rig) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := r.store.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (r *rig) messages(t *testing.T) int {
	return r.count(t, `SELECT count(*) FROM outbox WHERE topic = 'notify.wechat'`)
}

func rentFor(amount int64, payout string) SignUp {
	return SignUp{Kind: withdrawal.KindRent, AmountFen: amount, PayoutAccountID: payout, Locale: "zh-CN"}
}

func wantCode(t *testing.T, what string, err error, code services.Code) {
	t.Helper()
	if got := services.ErrorCode(err); err == nil || got != code {
		t.Errorf("%s: %v (%s), want %s", what, err, got, code)
	}
}

// Attacks first: other people's ids, a kind or amount the policy does not
// allow, a second of one kind (also two at once), a change to a stopped
// one. Each is a 4xx code and writes nothing.
func TestSignUpAndChangeAttacks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		_, err := r.svc.SignUp(ctx, ana, rentFor(100_000, "pa-bo-card"))
		wantCode(t, "bo's payout account", err, services.CodeWithdrawalPayoutAccountUnknown)
		_, err = r.svc.SignUp(ctx, ana, rentFor(100_000, "pa-ana-card'; drop table x"))
		wantCode(t, "malformed payout account", err, services.CodeWithdrawalPayoutAccountUnknown)
		_, err = r.svc.SignUp(ctx, ana, SignUp{Kind: withdrawal.KindPurchase, AmountFen: 100_000, PayoutAccountID: "pa-ana-card"})
		wantCode(t, "purchase", err, services.CodeStandingKindNotAllowed)
		_, err = r.svc.SignUp(ctx, ana, SignUp{Kind: "lottery", AmountFen: 100_000, PayoutAccountID: "pa-ana-card"})
		wantCode(t, "unknown kind", err, services.CodeInvalid)
		_, err = r.svc.SignUp(ctx, ana, rentFor(200_001, "pa-ana-card"))
		wantCode(t, "over the monthly cap", err, services.CodeWithdrawalAmountOverLimit)
		_, err = r.svc.SignUp(ctx, ana, rentFor(0, "pa-ana-card"))
		wantCode(t, "zero", err, services.CodeInvalid)
		_, err = r.svc.SignUp(ctx, ana, rentFor(50, "pa-ana-card"))
		wantCode(t, "below the platform's minimum", err, services.CodeInvalid)
		_, err = r.svc.SignUp(ctx, services.Principal{Subject: "unit-1", Role: services.RoleEmployer, Channel: services.ChannelApp}, rentFor(100_000, "pa-ana-card"))
		if err == nil {
			t.Error("an employer signed up")
		}
		if n := r.count(t, `SELECT count(*) FROM standing_withdrawals`); n != 0 {
			t.Fatalf("%d rows after refusals", n)
		}

		// Twice at once: one standing withdrawal, the other exists.
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { _, errs[i] = r.svc.SignUp(ctx, ana, rentFor(150_000, "pa-ana-card")) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case services.ErrorCode(err) != services.CodeStandingExists:
				t.Errorf("concurrent sign-up: %v", err)
			}
		}
		if ok != 1 || r.count(t, `SELECT count(*) FROM standing_withdrawals`) != 1 {
			t.Fatalf("%d sign-ups succeeded at once", ok)
		}
		list, _, err := r.svc.List(ctx, ana, 20, "")
		if err != nil || len(list) != 1 {
			t.Fatalf("List = %v, %v", list, err)
		}
		mine := list[0]

		// Bo cannot see or change Ana's.
		for name, do := range map[string]func(context.Context, services.Principal, string) (Standing, error){
			"get": r.svc.Get, "pause": r.svc.Pause, "resume": r.svc.Resume, "stop": r.svc.Stop, "confirm": r.svc.Confirm,
		} {
			_, err := do(ctx, bo, mine.ID)
			wantCode(t, "bo "+name, err, services.CodeStandingNotFound)
			_, err = do(ctx, ana, "sw_../../etc")
			wantCode(t, "malformed "+name, err, services.CodeStandingNotFound)
		}
		if got, _ := r.svc.Get(ctx, ana, mine.ID); got.Status != StatusActive {
			t.Fatalf("after bo's attempts: %s", got.Status)
		}
		if l, _, _ := r.svc.List(ctx, bo, 20, ""); len(l) != 0 {
			t.Fatalf("bo lists %d", len(l))
		}
		_, _, err = r.svc.List(ctx, ana, 20, "not-a-cursor")
		wantCode(t, "bad cursor", err, services.CodeInvalid)

		// A stopped one takes no pause, resume or confirm; a new sign-up
		// for the kind is allowed then.
		if st, err := r.svc.Stop(ctx, ana, mine.ID); err != nil || st.Status != StatusStopped {
			t.Fatalf("Stop = %+v, %v", st, err)
		}
		if _, err := r.svc.Stop(ctx, ana, mine.ID); err != nil {
			t.Errorf("stop twice: %v", err)
		}
		for name, do := range map[string]func(context.Context, services.Principal, string) (Standing, error){
			"pause": r.svc.Pause, "resume": r.svc.Resume, "confirm": r.svc.Confirm,
		} {
			_, err := do(ctx, ana, mine.ID)
			wantCode(t, name+" of a stopped one", err, services.CodeStandingStopped)
		}
		if got, _ := r.svc.Get(ctx, ana, mine.ID); got.Status != StatusStopped {
			t.Fatalf("stopped one changed: %s", got.Status)
		}
		if _, err := r.svc.SignUp(ctx, ana, rentFor(150_000, "pa-ana-card")); err != nil {
			t.Fatalf("sign up after stop: %v", err)
		}
		if n := r.audit.count(ActionSignUp, "ok"); n != 2 {
			t.Errorf("%d sign-ups audited ok", n)
		}
		if n := r.audit.count(ActionPause, "error"); n < 2 {
			t.Errorf("refused pauses audited %d times", n)
		}
	})
}

// One application per standing withdrawal and month: a second run in the
// month, a restarted replica and two replicas at once make none more.
func TestMonthlyOneApplicationPerMonth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		st, err := r.svc.SignUp(ctx, ana, rentFor(150_000, "pa-ana-card"))
		if err != nil {
			t.Fatal(err)
		}
		if note, err := r.svc.Run(ctx, t0.Add(time.Minute)); err != nil || note != "applied=1 failed=0 paused=0 retry=0" {
			t.Fatalf("first run: %q, %v", note, err)
		}
		if note, _ := r.svc.Run(ctx, t0.Add(time.Hour)); note != "applied=0 failed=0 paused=0 retry=0" {
			t.Fatalf("second run in the month: %q", note)
		}
		// A restart: a new Service on the same store.
		if note, _ := r.another(t).Run(ctx, t0.Add(2*time.Hour)); note != "applied=0 failed=0 paused=0 retry=0" {
			t.Fatalf("after a restart: %q", note)
		}
		// January, by two replicas at once, several times.
		jan := time.Date(2027, 1, 1, 0, 30, 0, 0, services.CentreTime)
		var wg sync.WaitGroup
		for range 3 {
			a, b := r.another(t), r.another(t)
			wg.Go(func() { _, _ = a.Run(ctx, jan) })
			wg.Go(func() { _, _ = b.Run(ctx, jan) })
		}
		wg.Wait()
		if n := r.fake.applications(); n != 2 {
			t.Fatalf("%d applications after two months", n)
		}
		if n := r.count(t, `SELECT count(*) FROM standing_withdrawal_months WHERE standing_id = $1`, st.ID); n != 2 {
			t.Fatalf("%d months recorded", n)
		}
		if n := r.audit.count(ActionApply, "ok"); n != 2 {
			t.Errorf("%d monthly applications audited", n)
		}
		got, err := r.svc.Get(ctx, ana, st.ID)
		if err != nil || len(got.Months) != 2 || got.Months[0].Month != "2027-01" || got.Months[1].Month != "2026-12" ||
			got.Months[0].Outcome != OutcomeApplied || got.Months[0].ApplicationID == "" {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		// The month's application is judged monthly, within the policy's cap.
		if tm := r.fake.terms[0]; tm.IntervalMonths != 1 || tm.CapPerMonthFen != 200_000 {
			t.Errorf("terms %+v", tm)
		}
		if !r.fake.at[1].Equal(jan) {
			t.Errorf("judged at %v, want %v", r.fake.at[1], jan)
		}
		if r.messages(t) != 0 {
			t.Error("a message for months that were applied for (the pipeline sends those)")
		}
	})
}

func TestPauseResumeStop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		st, err := r.svc.SignUp(ctx, ana, rentFor(150_000, "pa-ana-card"))
		if err != nil {
			t.Fatal(err)
		}
		if p, err := r.svc.Pause(ctx, ana, st.ID); err != nil || p.Status != StatusPaused || p.PauseReason != PausedByPerson {
			t.Fatalf("Pause = %+v, %v", p, err)
		}
		if p, err := r.svc.Pause(ctx, ana, st.ID); err != nil || p.Status != StatusPaused {
			t.Fatalf("Pause twice = %+v, %v", p, err)
		}
		r.svc.Run(ctx, t0)
		if r.fake.calls != 0 {
			t.Fatal("a paused one applied")
		}
		if p, err := r.svc.Resume(ctx, ana, st.ID); err != nil || p.Status != StatusActive || p.PauseReason != "" {
			t.Fatalf("Resume = %+v, %v", p, err)
		}
		r.svc.Run(ctx, t0)
		if r.fake.applications() != 1 {
			t.Fatal("a resumed one did not apply")
		}
		if _, err := r.svc.Stop(ctx, ana, st.ID); err != nil {
			t.Fatal(err)
		}
		r.svc.Run(ctx, t0.AddDate(0, 1, 0))
		if r.fake.applications() != 1 {
			t.Fatal("a stopped one applied")
		}
		for _, a := range []string{ActionPause, ActionResume, ActionStop} {
			if r.audit.count(a, "ok") == 0 {
				t.Errorf("%s not audited", a)
			}
		}
	})
}

// A month the pipeline refuses is recorded and reported once, and not
// tried again; one that failed for a passing reason is tried by the next
// run.
func TestFailedMonthReportedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		st, err := r.svc.SignUp(ctx, ana, rentFor(150_000, "pa-ana-card"))
		if err != nil {
			t.Fatal(err)
		}
		r.fake.refuse = services.Errorf(services.CodeCoreUnavailable, "core away")
		if note, _ := r.svc.Run(ctx, t0); note != "applied=0 failed=0 paused=0 retry=1" {
			t.Fatalf("core away: %q", note)
		}
		r.fake.refuse = &services.Error{Code: services.CodeWithdrawalNotEligible, Params: map[string]any{
			"reasons": withdrawal.Texts([]withdrawal.Reason{{Code: withdrawal.ReasonCapReached, Params: map[string]any{"period": "year"}}})}}
		if note, _ := r.svc.Run(ctx, t0.Add(time.Hour)); note != "applied=0 failed=1 paused=0 retry=0" {
			t.Fatalf("refused: %q", note)
		}
		calls := r.fake.calls
		for range 3 {
			r.svc.Run(ctx, t0.Add(2*time.Hour))
		}
		if r.fake.calls != calls {
			t.Fatal("a failed month was tried again")
		}
		if n := r.messages(t); n != 1 {
			t.Fatalf("%d messages for one failed month", n)
		}
		got, _ := r.svc.Get(ctx, ana, st.ID)
		if len(got.Months) != 1 || got.Months[0].Outcome != OutcomeFailed || got.Months[0].Reason != withdrawal.ReasonCapReached {
			t.Fatalf("months %+v", got.Months)
		}
		if r.audit.count(ActionApply, "denied") != 1 {
			t.Error("the failed month is not audited")
		}
		// The next month is tried afresh.
		r.fake.refuse = services.E(services.CodeWithdrawalPayoutAccountUnknown)
		r.svc.Run(ctx, t0.AddDate(0, 1, 0))
		got, _ = r.svc.Get(ctx, ana, st.ID)
		if len(got.Months) != 2 || got.Months[0].Reason != FailPayoutAccount || r.messages(t) != 2 {
			t.Fatalf("next month %+v, %d messages", got.Months, r.messages(t))
		}
	})
}

// The policy's yearly confirmation: past due the job pauses it with a
// message; resuming is refused until the person confirms.
func TestReconfirmYearly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		st, err := r.svc.SignUp(ctx, ana, rentFor(150_000, "pa-ana-card"))
		if err != nil {
			t.Fatal(err)
		}
		if by := st.ReconfirmBy; !by.Equal(t0.AddDate(0, 12, 0)) {
			t.Errorf("reconfirm by %v", by)
		}
		year := t0.AddDate(0, 12, 0).Add(time.Hour)
		if note, _ := r.svc.Run(ctx, year); note != "applied=0 failed=0 paused=1 retry=0" {
			t.Fatalf("a year on: %q", note)
		}
		r.svc.Run(ctx, year.Add(time.Hour))
		if r.messages(t) != 1 || r.fake.calls != 0 {
			t.Fatalf("%d messages, %d applications", r.messages(t), r.fake.calls)
		}
		got, _ := r.svc.Get(ctx, ana, st.ID)
		if got.Status != StatusPaused || got.PauseReason != PausedReconfirm {
			t.Fatalf("after a year: %+v", got)
		}
		_, err = r.svc.Resume(ctx, ana, st.ID)
		wantCode(t, "resume before confirming", err, services.CodeStandingReconfirm)
		r.now = year.Add(2 * time.Hour)
		if c, err := r.svc.Confirm(ctx, ana, st.ID); err != nil || c.Status != StatusActive || !c.ConfirmedAt.Equal(r.now) {
			t.Fatalf("Confirm = %+v, %v", c, err)
		}
		if note, _ := r.svc.Run(ctx, year.Add(3*time.Hour)); note != "applied=1 failed=0 paused=0 retry=0" {
			t.Fatalf("after confirming: %q", note)
		}
	})
}

// Before the policy's day of the month nothing is applied for.
func TestDayOfMonth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		pol := DefaultPolicies()
		p := pol[withdrawal.KindRent]
		p.DayOfMonth = 10
		pol[withdrawal.KindRent] = p
		r.svc.Policies = pol
		ctx := context.Background()
		if _, err := r.svc.SignUp(ctx, ana, rentFor(150_000, "pa-ana-card")); err != nil {
			t.Fatal(err)
		}
		r.svc.Run(ctx, t0) // the 6th
		if r.fake.calls != 0 {
			t.Fatal("applied before the day")
		}
		r.svc.Run(ctx, t0.AddDate(0, 0, 4)) // the 10th
		if r.fake.applications() != 1 {
			t.Fatal("not applied on the day")
		}
	})
}

func TestPoliciesValidate(t *testing.T) {
	kinds := withdrawal.DefaultPolicies()
	for name, ps := range map[string]Policies{
		"unknown kind":    {"lottery": {CapPerMonthFen: 100_000, DayOfMonth: 1}},
		"closes account":  {withdrawal.KindRetirement: {CapPerMonthFen: 100_000, DayOfMonth: 1}},
		"needs evidence":  {withdrawal.KindPurchase: {CapPerMonthFen: 100_000, DayOfMonth: 1}},
		"cap zero":        {withdrawal.KindRent: {DayOfMonth: 1}},
		"day 29":          {withdrawal.KindRent: {CapPerMonthFen: 100_000, DayOfMonth: 29}},
		"negative months": {withdrawal.KindRent: {CapPerMonthFen: 100_000, DayOfMonth: 1, ReconfirmEveryMonths: -1}},
	} {
		if err := ps.Validate(kinds); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := DefaultPolicies().Validate(kinds); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// A stop and a resume at once: whichever comes second is judged on what
// the first left, so a stopped one never comes back.
func TestStopAndResumeAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		for range 5 {
			st, err := r.svc.SignUp(ctx, ana, rentFor(150_000, "pa-ana-card"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.svc.Pause(ctx, ana, st.ID); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var stopErr, resumeErr error
			wg.Go(func() { _, stopErr = r.svc.Stop(ctx, ana, st.ID) })
			wg.Go(func() { _, resumeErr = r.svc.Resume(ctx, ana, st.ID) })
			wg.Wait()
			if stopErr != nil {
				t.Fatalf("stop: %v", stopErr)
			}
			if resumeErr != nil && services.ErrorCode(resumeErr) != services.CodeStandingStopped {
				t.Fatalf("resume: %v", resumeErr)
			}
			if got, _ := r.svc.Get(ctx, ana, st.ID); got.Status != StatusStopped {
				t.Fatalf("after a stop and a resume at once: %s", got.Status)
			}
		}
	})
}
