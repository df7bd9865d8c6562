package screen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/locales"
	"handheld/services"
	"handheld/services/account"
	"handheld/services/audit"
	"handheld/services/cases"
	"handheld/services/certificate"
	"handheld/services/hours"
	"handheld/services/identity"
	"handheld/services/suite"
	"handheld/services/withdrawal"
	"handheld/templates"
)

// Tokens the fake identity knows: two kiosks' device tokens and a
// citizen signed in at each.
const (
	devA = "device-token-A"
	devB = "device-token-B"
	citA = "citizen-token-A"
	citB = "citizen-token-B"
)

type fakeIdentity struct {
	mu      sync.Mutex
	logins  int
	logouts []string
	stale   bool
}

func (f *fakeIdentity) Authenticate(_ context.Context, bearer string) (services.Principal, error) {
	switch bearer {
	case devA:
		return services.Principal{Subject: "device:kiosk-a", Role: services.RoleKiosk, Channel: services.ChannelKiosk, Device: "kiosk-a", Session: "ses_dev_a"}, nil
	case devB:
		return services.Principal{Subject: "device:kiosk-b", Role: services.RoleKiosk, Channel: services.ChannelKiosk, Device: "kiosk-b", Session: "ses_dev_b"}, nil
	case citA:
		return services.Principal{Subject: "sub_a", Role: services.RoleDepositor, Channel: services.ChannelKiosk, Device: "kiosk-a", Session: "ses_cit_a"}, nil
	case citB:
		return services.Principal{Subject: "sub_b", Role: services.RoleDepositor, Channel: services.ChannelKiosk, Device: "kiosk-b", Session: "ses_cit_b"}, nil
	}
	return services.Principal{}, services.E(services.CodeTokenInvalid)
}

func (f *fakeIdentity) LoginKiosk(_ context.Context, device services.Principal, l identity.KioskLogin) (identity.Tokens, error) {
	f.mu.Lock()
	f.logins++
	f.mu.Unlock()
	if l.FaceToken != "face:demo-ok" || device.Device != "kiosk-a" {
		return identity.Tokens{}, services.E(services.CodeFaceMismatch)
	}
	return identity.Tokens{AccessToken: citA, ExpiresIn: 900}, nil
}

func (f *fakeIdentity) Logout(_ context.Context, p services.Principal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logouts = append(f.logouts, p.Session)
	return nil
}

// RequireAssurance asks session ses_cit_a for a fresh face check for
// money and certificates once stale is set.
func (f *fakeIdentity) RequireAssurance(p services.Principal, s identity.ServiceName) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stale && s != identity.ServiceRead {
		return services.E(services.CodeStepUpRequired)
	}
	return nil
}

func (f *fakeIdentity) StepUp(_ context.Context, p services.Principal, face string) (identity.Tokens, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if face != "face:demo-ok" || p.Session != "ses_cit_a" {
		return identity.Tokens{}, services.E(services.CodeFaceFailed)
	}
	f.stale = false
	return identity.Tokens{AccessToken: citA, ExpiresIn: 600}, nil
}

func (f *fakeIdentity) Device(id string) (identity.Device, bool) {
	return identity.Device{ID: id, Location: "hall", Enabled: true}, true
}

// fakeAccounts answers with a holder and dates that carry whatever the
// test puts in them (script-bearing text included).
type fakeAccounts struct{ name string }

func (f fakeAccounts) Home(context.Context, services.Principal) (account.HomeView, error) {
	return account.HomeView{Holder: &account.Holder{Name: f.name},
		Account:      &account.AccountView{BalanceFen: 1234567, StatusLabelKey: "status.account.01", LastDepositMonth: "2026-11"},
		Loan:         &account.LoanView{HasLoan: true, OutstandingFen: 70000000, NextDueOn: "2026-12-20", NextPaymentFen: 330000},
		Applications: []account.Application{{ID: "wd_1", Kind: "withdrawal", Type: "rent", CaseNumber: "TQ1", Status: "submitted"}}}, nil
}

func (f fakeAccounts) Account(context.Context, services.Principal) (account.AccountView, error) {
	return account.AccountView{Holder: account.Holder{Name: f.name, IDNumber: "3301**********4133"}, AccountNumber: "1234****5678",
		StatusLabelKey: "status.account.01", BalanceFen: 1234567}, nil
}

func (f fakeAccounts) Deposits(_ context.Context, _ services.Principal, from, to string, _ int, _ string) (account.DepositsView, error) {
	return account.DepositsView{From: from, To: to, Items: []account.Entry{{ID: "e1", PostedOn: "2026-11-05", KindLabelKey: "deposit.kind.remittance",
		AmountFen: 500000, BalanceAfterFen: 1234567}}, NextCursor: "c2"}, nil
}

func (f fakeAccounts) Loan(context.Context, services.Principal) (account.LoanView, error) {
	return account.LoanView{HasLoan: true, PrincipalFen: 80000000, OutstandingFen: 70000000, Months: 360, MethodLabelKey: "loan.method.annuity",
		NextDueOn: "2026-12-20", NextPaymentFen: 330000}, nil
}

func (f fakeAccounts) Schedule(context.Context, services.Principal, int, string) (account.ScheduleView, error) {
	return account.ScheduleView{Items: []account.Instalment{{Period: 1, DueOn: "2024-10-20", PaymentFen: 330000, StatusLabelKey: "loan.instalment.paid"}}}, nil
}

type fakeCertificates struct {
	mu     sync.Mutex
	issued []string
}

func (f *fakeCertificates) Issue(_ context.Context, p services.Principal, typ, purpose, lang string) (certificate.Issued, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issued = append(f.issued, p.Subject+"|"+purpose)
	return certificate.Issued{ID: "cert_1", Number: "GJJ-1", Type: typ}, nil
}

func (f *fakeCertificates) List(context.Context, services.Principal, int, string) (certificate.Page, error) {
	return certificate.Page{Items: []certificate.View{{ID: "cert_1", Number: "GJJ-1", Status: "valid", VerifyCode: "7KQ2-M9XD-4T8W-J3HR",
		IssuedAt: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}}}, nil
}

type fakeWithdrawals struct {
	mu      sync.Mutex
	applied []withdrawal.Request
}

func (f *fakeWithdrawals) Eligibility(_ context.Context, _ services.Principal, kind string) (withdrawal.Eligibility, error) {
	if kind == "retirement" {
		return withdrawal.Eligibility{Kind: kind, Reasons: []withdrawal.Reason{{Code: withdrawal.ReasonNotRetired, Params: map[string]any{"age": 60}}}}, nil
	}
	return withdrawal.Eligibility{Kind: kind, Eligible: true, MaxAmountFen: 600000}, nil
}

func (f *fakeWithdrawals) Apply(_ context.Context, _ services.Principal, r withdrawal.Request) (withdrawal.Application, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = append(f.applied, r)
	return withdrawal.Application{ID: "wd_2", Kind: r.Kind, Status: "accepted"}, false, nil
}

func (f *fakeWithdrawals) PayoutAccounts(context.Context, services.Principal) ([]withdrawal.PayoutAccount, error) {
	return []withdrawal.PayoutAccount{{ID: "pa_1", Kind: withdrawal.PayoutBankCard, NumberMasked: "6222 **** 2874", Institution: "工商银行"}}, nil
}

type fakeCases struct {
	mu    sync.Mutex
	rated map[string]int
}

func (f *fakeCases) List(_ context.Context, p services.Principal, _ int, _ string) ([]cases.Case, string, error) {
	if p.Subject != "sub_a" {
		return nil, "", nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return []cases.Case{
		{ID: "cert_1", Kind: cases.KindCertificate, Type: "deposit_use", CaseNumber: "GJJ-1", Status: "valid", Finished: true, Rating: f.rated["cert_1"]},
		{ID: "wd_1", Kind: cases.KindWithdrawal, Type: "rent", CaseNumber: "TQ1", Status: "submitted", DueOn: "2026-12-09"},
	}, "", nil
}

func (f *fakeCases) Rate(_ context.Context, p services.Principal, id string, level int, _ string) (cases.Case, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p.Subject != "sub_a" || id != "cert_1" {
		return cases.Case{}, services.E(services.CodeNotFound)
	}
	if f.rated == nil {
		f.rated = map[string]int{}
	}
	f.rated[id] = level
	return cases.Case{ID: id, Rating: level}, nil
}

type openGate struct{}

func (openGate) Check(hours.Service, string) error { return nil }

type fakeAudit struct {
	mu      sync.Mutex
	records []audit.Record
}

func (f *fakeAudit) Enqueue(_ context.Context, r audit.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = append(f.records, r)
	return nil
}

// rig is a screen on a Fiber app with its fakes.
type rig struct {
	t     *testing.T
	app   *fiber.App
	id    *fakeIdentity
	certs *fakeCertificates
	wds   *fakeWithdrawals
	cases *fakeCases
	audit *fakeAudit
	print *fakePrints
	cat   *locales.Catalogs
	s     *Screen
}

func newRig(t *testing.T, holder string) *rig {
	t.Helper()
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, id: &fakeIdentity{}, certs: &fakeCertificates{}, wds: &fakeWithdrawals{}, cases: &fakeCases{}, audit: &fakeAudit{}, print: &fakePrints{}, cat: cat}
	r.s, err = New(Deps{Identity: r.id, Accounts: fakeAccounts{name: holder}, Certificates: r.certs, Withdrawals: r.wds, Cases: r.cases,
		Hours: openGate{}, Audit: r.audit, Phone: fakePhone{}, Prints: r.print, Catalogs: cat, Templates: templates.FS, Path: "/kiosk/", Idle: 3 * time.Minute,
		KioskKinds: []string{"rent", "retirement"}, Secret: services.NewHashKey([]byte("0123456789abcdef0123456789abcdef"), suite.Env())})
	if err != nil {
		t.Fatal(err)
	}
	r.app = fiber.New(fiber.Config{Immutable: true, StrictRouting: true, CaseSensitive: true})
	pass := func(c *fiber.Ctx) error { return c.Next() }
	r.s.Routes(r.app, Limits{Device: pass, SignIn: pass, Read: pass, Certificate: pass, Withdrawal: pass, Rating: pass,
		PhoneStart: pass, PhonePoll: pass, Print: pass, StepUp: pass})
	return r
}

// reply is an answer with its body read.
type reply struct {
	*http.Response
	body string
}

// do sends a request as the kiosk's browser through its agent would:
// device is the device token, citizen the cookie, form a POST body.
func (r *rig) do(method, target, device, citizen string, form url.Values, header map[string]string) reply {
	r.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if device != "" {
		req.Header.Set("Authorization", "Bearer "+device)
	}
	if citizen != "" {
		req.AddCookie(&http.Cookie{Name: CookieName, Value: citizen})
	}
	if method == http.MethodPost {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := r.app.Test(req, -1)
	if err != nil {
		r.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return reply{Response: resp, body: string(b)}
}

// formToken is the token a page of the session carries, read from a page.
func (r *rig) formToken(device, citizen string) string {
	r.t.Helper()
	page := "/kiosk/"
	if citizen != "" {
		page = "/kiosk/home"
	}
	got := r.do("GET", page, device, citizen, nil, nil)
	_, rest, ok := strings.Cut(got.body, `name="form_token" value="`)
	if !ok {
		r.t.Fatalf("no form token on %s: %s", page, got.body)
	}
	tok, _, _ := strings.Cut(rest, `"`)
	return tok
}

// fakePhone knows one code per kiosk; "confirmedcode…" is confirmed.
type fakePhone struct{}

func (fakePhone) StartPhoneSignIn(_ context.Context, device services.Principal) (PhoneCode, error) {
	return PhoneCode{Code: "code-" + device.Device + "-0123456789abcdef", URL: "https://hpf.example/kiosk-login?code=x", ExpiresIn: time.Minute}, nil
}

func (fakePhone) PollPhoneSignIn(_ context.Context, device services.Principal, code string) (PhoneState, error) {
	switch code {
	case "code-" + device.Device + "-0123456789abcdef":
		return PhoneState{ExpiresIn: 42 * time.Second}, nil
	case "confirmed-" + device.Device + "-0123456789abcdef":
		return PhoneState{Confirmed: true, AccessToken: citA, TokenTTL: 900}, nil
	}
	return PhoneState{}, services.E(services.CodeNotFound)
}

func (fakePhone) PhoneURL(code string) string { return "https://hpf.example/kiosk-login?code=" + code }

type fakePrints struct {
	mu   sync.Mutex
	reqs []PrintRequest
}

func (f *fakePrints) CreatePrint(_ context.Context, p services.Principal, r PrintRequest) (PrintJob, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, r)
	return PrintJob{ID: "pj_1", Document: r.Document, Status: "ready"}, nil
}

func (f *fakePrints) GetPrint(_ context.Context, p services.Principal, id string) (PrintJob, error) {
	switch {
	case p.Subject == "sub_a" && id == "pj_1":
		return PrintJob{ID: id, Document: "deposit_statement", Status: "ready"}, nil
	case p.Subject == "sub_a" && id == "pj_2":
		return PrintJob{ID: id, Document: "certificate", Status: "printed", Pages: 2}, nil
	}
	return PrintJob{}, services.E(services.CodeNotFound)
}
