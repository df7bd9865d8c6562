package account

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/identity"
	"handheld/services/mask"
	"handheld/services/suite"
)

// now is the fake clock: 01:00 on 1 March 2025 in Shanghai, still February
// in UTC, so a month computed in the wrong zone shows.
var now = time.Date(2025, 2, 28, 17, 0, 0, 0, time.UTC)

// The production collaborators satisfy the interfaces this package
// declares; a change of signature on either side fails here, not at the
// wiring point.
var (
	_ reader  = (*core.Reader)(nil)
	_ people  = (*identity.Service)(nil)
	_ auditor = (*audit.Log)(nil)
)

// fakeReader is the core as the use cases see it: a few people, faults and
// delays per method, and the calls it got.
type fakeReader struct {
	mu       sync.Mutex
	persons  map[string]core.Person
	accounts map[string]core.Account
	loans    map[string]core.Loan
	deposits map[string][]core.Deposit // newest first
	schedule map[string][]core.Instalment
	fresh    core.Freshness
	fail     map[string]error         // by method
	delay    map[string]time.Duration // by method; honours ctx
	block    map[string]chan struct{} // by method; ignores ctx until closed
	queries  []core.DepositQuery
	cursors  []string // core cursors received by LoanSchedule and Deposits
	calls    []string
}

func (r *fakeReader) enter(ctx context.Context, method string) error {
	r.mu.Lock()
	r.calls = append(r.calls, method)
	err, d, block := r.fail[method], r.delay[method], r.block[method]
	r.mu.Unlock()
	if block != nil {
		<-block
	}
	if d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return services.Errorf(services.CodeCoreUnavailable, "fake %s: %v", method, ctx.Err())
		}
	}
	return err
}

func (r *fakeReader) Person(ctx context.Context, id string) (core.Person, core.Freshness, error) {
	if err := r.enter(ctx, "person"); err != nil {
		return core.Person{}, core.Freshness{}, err
	}
	p, ok := r.persons[id]
	if !ok {
		return p, core.Freshness{}, services.E(services.CodePersonNotFound)
	}
	return p, r.fresh, nil
}

func (r *fakeReader) Account(ctx context.Context, id string) (core.Account, core.Freshness, error) {
	if err := r.enter(ctx, "account"); err != nil {
		return core.Account{}, core.Freshness{}, err
	}
	a, ok := r.accounts[id]
	if !ok {
		return a, core.Freshness{}, services.E(services.CodeAccountNotFound)
	}
	return a, r.fresh, nil
}

// Deposits pages with core cursors "pos:<index>".
func (r *fakeReader) Deposits(ctx context.Context, id string, q core.DepositQuery) (core.DepositPage, core.Freshness, error) {
	if err := r.enter(ctx, "deposits"); err != nil {
		return core.DepositPage{}, core.Freshness{}, err
	}
	r.mu.Lock()
	r.queries = append(r.queries, q)
	r.cursors = append(r.cursors, q.Cursor)
	r.mu.Unlock()
	var in []core.Deposit
	for _, d := range r.deposits[id] {
		if d.Month >= q.From && d.Month <= q.To {
			in = append(in, d)
		}
	}
	items, next := pageOf(in, q.Limit, q.Cursor)
	return core.DepositPage{Items: items, NextCursor: next}, r.fresh, nil
}

func (r *fakeReader) Loan(ctx context.Context, id string) (core.Loan, core.Freshness, error) {
	if err := r.enter(ctx, "loan"); err != nil {
		return core.Loan{}, core.Freshness{}, err
	}
	return r.loans[id], r.fresh, nil
}

func (r *fakeReader) LoanSchedule(ctx context.Context, id string, limit int, cursor string) (core.SchedulePage, core.Freshness, error) {
	if err := r.enter(ctx, "loan_schedule"); err != nil {
		return core.SchedulePage{}, core.Freshness{}, err
	}
	r.mu.Lock()
	r.cursors = append(r.cursors, cursor)
	r.mu.Unlock()
	items, next := pageOf(r.schedule[id], limit, cursor)
	return core.SchedulePage{Items: items, NextCursor: next}, r.fresh, nil
}

func pageOf[T any](all []T, limit int, cursor string) ([]T, string) {
	from, _ := strconv.Atoi(strings.TrimPrefix(cursor, "pos:"))
	end := min(from+limit, len(all))
	if from >= end {
		return []T{}, ""
	}
	next := ""
	if end < len(all) {
		next = "pos:" + strconv.Itoa(end)
	}
	return all[from:end], next
}

// fakePeople maps subjects to person ids.
type fakePeople map[string]string

func (f fakePeople) PersonID(_ context.Context, subject string) (string, error) {
	if id, ok := f[subject]; ok {
		return id, nil
	}
	return "", services.E(services.CodeSessionRevoked)
}

// fakeAudit keeps what it is given, or refuses it.
type fakeAudit struct {
	mu      sync.Mutex
	records []audit.Record
	err     error
}

func (a *fakeAudit) Enqueue(_ context.Context, r audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	a.records = append(a.records, r)
	return nil
}

func (a *fakeAudit) all() []audit.Record {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]audit.Record(nil), a.records...)
}

// world is a service over two depositors, 张伟 (with a loan) and 欧阳晓峰
// (without), and a person without an account.
type world struct {
	svc    *Service
	reader *fakeReader
	audit  *fakeAudit
}

const (
	zhangSubject  = "s_zhangwei00001"
	ouyangSubject = "s_ouyang0000001"
	chenSubject   = "s_chenjing00001"
)

func newWorld(t *testing.T, adjust ...func(*Deps)) *world {
	t.Helper()
	r := &fakeReader{
		persons: map[string]core.Person{
			"P1": {PersonID: "P1", Name: "张伟", IDNumber: "330106198503124133", Phone: "13858107326", BankCard: "6222021202005128745", HasAccount: true},
			"P2": {PersonID: "P2", Name: "欧阳晓峰", IDNumber: "330108199311051571", HasAccount: true},
			"P3": {PersonID: "P3", Name: "陈静", IDNumber: "330108199501191428"},
		},
		accounts: map[string]core.Account{
			"P1": {AccountNumber: "330101000101", Status: "01", BalanceFen: 12345600, DepositBaseFen: 2500000, PersonalRateBP: 1200,
				UnitRateBP: 1200, MonthlyPersonal: 300000, MonthlyUnit: 300000, UnitName: "杭州明湖软件科技有限公司",
				OpenedOn: "2020-03-03", LastDepositMonth: "2025-02", CarryOverFen: 11000000, CurrentYearFen: 1200000},
			"P2": {AccountNumber: "330101000103", Status: "04", BalanceFen: 777700},
		},
		loans: map[string]core.Loan{
			"P1": {HasLoan: true, LoanNumber: "DK33012023010001", PrincipalFen: 80000000, OutstandingFen: 76000000, AnnualRateBP: 285,
				Months: 360, Method: "annuity", StartedOn: "2023-01-20", NextDueOn: "2025-03-20", NextPaymentFen: 330800},
		},
		deposits: map[string][]core.Deposit{},
		schedule: map[string][]core.Instalment{},
		fresh:    core.Freshness{AsOf: now.Add(-time.Second)},
		fail:     map[string]error{},
		delay:    map[string]time.Duration{},
		block:    map[string]chan struct{}{},
	}
	// 24 months of remittances for 张伟, newest first, ids naming the person.
	for m := 24; m >= 1; m-- {
		month := time.Date(2023, time.Month(m+2), 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
		r.deposits["P1"] = append(r.deposits["P1"], core.Deposit{ID: "P1." + strconv.Itoa(m), Month: month,
			PostedOn: month + "-05", Kind: core.KindRemittance, AmountFen: 600000, BalanceAfterFen: int64(m) * 600000})
	}
	for i := 1; i <= 45; i++ {
		r.schedule["P1"] = append(r.schedule["P1"], core.Instalment{Period: i, DueOn: "2025-01-20", PaymentFen: 330800, Status: "paid"})
	}
	a := &fakeAudit{}
	d := Deps{
		Reader: r, People: fakePeople{zhangSubject: "P1", ouyangSubject: "P2", chenSubject: "P3"}, Audit: a,
		Mask: mask.DefaultPolicy(), Secret: services.NewHashKey([]byte("0123456789abcdef0123456789abcdef"), suite.Env()), HomeDeadline: 200 * time.Millisecond,
		Now: func() time.Time { return now },
	}
	for _, f := range adjust {
		f(&d)
	}
	svc, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	return &world{svc: svc, reader: r, audit: a}
}

func depositor(subject, channel string) services.Principal {
	p := services.Principal{Subject: subject, Role: services.RoleDepositor, Channel: channel, Session: "sid1"}
	if channel == services.ChannelKiosk {
		p.Device = "kiosk-demo-01"
	}
	return p
}

// ctxWithID is a request context carrying a request id.
func ctxWithID(t *testing.T) context.Context {
	return services.WithRequestID(t.Context(), "req-0001")
}

// wantCode fails unless err carries code.
func wantCode(t *testing.T, err error, code services.Code) {
	t.Helper()
	if got := services.ErrorCode(err); err == nil || got != code {
		t.Fatalf("error %v (code %s), want %s", err, got, code)
	}
}
