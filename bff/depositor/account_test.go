package depositor_test

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/go-cmp/cmp"

	"handheld/bff/depositor"
	"handheld/bff/middleware"
	"handheld/locales"
	"handheld/services"
	"handheld/services/account"
	"handheld/services/core"
)

var asOf = time.Date(2025, 2, 28, 17, 0, 0, 0, time.UTC) // 01:00 on 1 March in Shanghai

// fakeReads answers fixed views and remembers what it was asked.
type fakeReads struct {
	home    account.HomeView
	subject string
	limits  []int
}

func (f *fakeReads) Account(_ context.Context, p services.Principal) (account.AccountView, error) {
	f.subject = p.Subject
	return account.AccountView{}, services.E(services.CodeAccountNotFound)
}

func (f *fakeReads) Deposits(_ context.Context, p services.Principal, _, _ string, limit int, _ string) (account.DepositsView, error) {
	f.subject, f.limits = p.Subject, append(f.limits, limit)
	return account.DepositsView{From: "2024-04", To: "2025-03", Items: []account.Entry{}, Freshness: core.Freshness{AsOf: asOf}}, nil
}

func (f *fakeReads) Loan(_ context.Context, p services.Principal) (account.LoanView, error) {
	f.subject = p.Subject
	return account.LoanView{Freshness: core.Freshness{AsOf: asOf, Stale: true}}, nil
}

func (f *fakeReads) Schedule(_ context.Context, p services.Principal, limit int, _ string) (account.ScheduleView, error) {
	f.subject, f.limits = p.Subject, append(f.limits, limit)
	return account.ScheduleView{Freshness: core.Freshness{AsOf: asOf}}, nil
}

func (f *fakeReads) Home(_ context.Context, p services.Principal) (account.HomeView, error) {
	f.subject = p.Subject
	return f.home, nil
}

// fakeAuth signs everyone in as one depositor.
type fakeAuth struct{}

func (fakeAuth) Authenticate(context.Context, string) (services.Principal, error) {
	return services.Principal{Subject: "s_token_subject", Role: services.RoleDepositor, Channel: services.ChannelMiniApp}, nil
}

func newApp(t *testing.T, reads *fakeReads) *fiber.App {
	t.Helper()
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return c.Status(services.ErrorCode(err).Status()).SendString(string(services.ErrorCode(err)))
	}})
	app.Use(middleware.Locale(cat))
	me := app.Group("/api/v1/me", middleware.Auth(fakeAuth{}))
	depositor.Account{Service: reads, Catalogs: cat}.Routes(me)
	return app
}

func get(t *testing.T, app *fiber.App, path string) (int, string, map[string][]string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer x")
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func TestBodies(t *testing.T) {
	reads := &fakeReads{home: account.HomeView{
		Loan:         &account.LoanView{},
		Applications: []account.Application{},
		Degraded:     []string{account.PartAccount, account.PartPerson},
		Freshness:    core.Freshness{AsOf: asOf},
	}}
	app := newApp(t, reads)
	cases := []struct{ path, want string }{
		{"/api/v1/me/loan?subject=s_someone_else",
			`{"has_loan":false,"as_of":"2025-03-01T01:00:00+08:00","stale":true}`},
		{"/api/v1/me/home",
			`{"loan":{"has_loan":false},"applications":[],"degraded":["account","person"],"notice":"账户信息、个人信息暂时无法显示，请稍后刷新。","as_of":"2025-03-01T01:00:00+08:00","stale":false}`},
		{"/api/v1/me/home?lang=en",
			`{"loan":{"has_loan":false},"applications":[],"degraded":["account","person"],"notice":"account details, personal details cannot be shown right now; please refresh later.","as_of":"2025-03-01T01:00:00+08:00","stale":false}`},
		{"/api/v1/me/loan/schedule",
			`{"items":[],"as_of":"2025-03-01T01:00:00+08:00","stale":false}`},
	}
	for _, tc := range cases {
		status, body, header := get(t, app, tc.path)
		if status != 200 || header["Cache-Control"][0] != "no-store" {
			t.Errorf("%s: %d, Cache-Control %v", tc.path, status, header["Cache-Control"])
		}
		if diff := cmp.Diff(tc.want, body); diff != "" {
			t.Errorf("%s -want +got:\n%s", tc.path, diff)
		}
		if reads.subject != "s_token_subject" {
			t.Errorf("%s: read for %q, not the token's subject", tc.path, reads.subject)
		}
	}
	if status, body, _ := get(t, app, "/api/v1/me/account"); status != 404 || body != "account.not_found" {
		t.Errorf("no account: %d %s", status, body)
	}
}

// limit: absent is the default, out-of-range numbers reach the service
// (which refuses them with the other fields), words are refused here.
func TestLimitParameter(t *testing.T) {
	reads := &fakeReads{}
	app := newApp(t, reads)
	for _, q := range []string{"", "?limit=7", "?limit=0", "?limit=-3", "?limit=101", "?limit=99999999999999999"} {
		if status, body, _ := get(t, app, "/api/v1/me/deposits"+q); status != 200 {
			t.Fatalf("%s: %d %s", q, status, body)
		}
	}
	get(t, app, "/api/v1/me/loan/schedule")
	if diff := cmp.Diff([]int{20, 7, 0, 0, 101, 101, 20}, reads.limits); diff != "" {
		t.Errorf("limits -want +got:\n%s", diff)
	}
	if status, body, _ := get(t, app, "/api/v1/me/deposits?limit=ten"); status != 400 || body != "request.invalid" {
		t.Errorf("limit=ten: %d %s", status, body)
	}
}
