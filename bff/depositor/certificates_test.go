package depositor_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/depositor"
	"handheld/bff/middleware"
	"handheld/locales"
	"handheld/services"
	"handheld/services/certificate"
)

// fakeCertificates answers fixed views and remembers what it was asked.
type fakeCertificates struct {
	subject, typ, purpose, lang, toCentre string
	limit                                 int
}

func (f *fakeCertificates) IssueFor(_ context.Context, p services.Principal, q certificate.Request) (certificate.Issued, error) {
	f.subject, f.typ, f.purpose, f.lang, f.toCentre = p.Subject, q.Type, q.Purpose, q.Lang, q.ToCentre
	return certificate.Issued{ID: "ab12", Number: "330100-2026-000001", Type: q.Type, VerifyCode: "7KQ2-M9XD-4T8W-J3HR",
		VerifyURL: "https://hpf.example.cn/verify/7KQ2-M9XD-4T8W-J3HR", DownloadURL: "/api/v1/certificates/ab12/pdf?t=1.x",
		IssuedAt: asOf, ExpiresAt: asOf.Add(30 * 24 * time.Hour)}, nil
}

func (f *fakeCertificates) List(_ context.Context, p services.Principal, limit int, _ string) (certificate.Page, error) {
	f.subject, f.limit = p.Subject, limit
	return certificate.Page{Items: []certificate.View{f.view()}}, nil
}

func (f *fakeCertificates) Get(_ context.Context, p services.Principal, id string) (certificate.View, error) {
	if id != "ab12" {
		return certificate.View{}, services.E(services.CodeNotFound)
	}
	v := f.view()
	v.Verifications = []certificate.Verification{{At: asOf, Channel: certificate.ChannelWeb}}
	return v, nil
}

func (f *fakeCertificates) Revoke(_ context.Context, _ services.Principal, _ string) (certificate.View, error) {
	v := f.view()
	v.Status, v.RevokedAt, v.DownloadURL = certificate.StatusRevoked, asOf, ""
	return v, nil
}

func (f *fakeCertificates) view() certificate.View {
	return certificate.View{ID: "ab12", Number: "330100-2026-000001", Type: certificate.TypeDepositUse, Lang: "zh-CN",
		Status: certificate.StatusValid, IssuedAt: asOf, ExpiresAt: asOf.Add(time.Hour), VerifyCode: "7KQ2-M9XD-4T8W-J3HR",
		DownloadURL: "/x", PDFSHA256: strings.Repeat("0", 64), Usage: 1,
		Facts: certificate.FactsSummary{Status: "02", BalanceFen: 100}}
}

func certApp(t *testing.T) (*fiber.App, *fakeCertificates) {
	t.Helper()
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeCertificates{}
	app := fiber.New(fiber.Config{Immutable: true, ErrorHandler: func(c *fiber.Ctx, err error) error {
		return c.Status(services.ErrorCode(err).Status()).SendString(string(services.ErrorCode(err)))
	}})
	me := app.Group("/api/v1/me", middleware.Locale(cat), middleware.Auth(fakeAuth{}))
	var order []string
	mark := func(name string) fiber.Handler {
		return func(c *fiber.Ctx) error { order = append(order, name); return c.Next() }
	}
	depositor.Certificates{Service: f, Catalogs: cat}.Routes(me, mark("idem"), mark("limit"), mark("gate"))
	t.Cleanup(func() {
		if len(order) > 0 && strings.Join(order[:3], ",") != "gate,idem,limit" {
			t.Errorf("issue middleware order %v", order)
		}
	})
	return app, f
}

func send(t *testing.T, app *fiber.App, method, path, body string) (int, map[string]any, *httptest.ResponseRecorder) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer x")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	rec := httptest.NewRecorder()
	for k, v := range resp.Header {
		rec.Header()[k] = v
	}
	return resp.StatusCode, m, rec
}

func TestCertificateHandlers(t *testing.T) {
	app, f := certApp(t)
	status, m, rec := send(t, app, "POST", "/api/v1/me/certificates?lang=en", `{"type":"deposit_use","purpose":"loan"}`)
	if status != 201 || m["verify_code"] != "7KQ2-M9XD-4T8W-J3HR" || m["issued_at"] != "2025-03-01T01:00:00+08:00" ||
		rec.Header().Get("Location") != "/api/v1/me/certificates/ab12" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("issue %d %v %v", status, m, rec.Header())
	}
	if f.subject != "s_token_subject" || f.typ != "deposit_use" || f.purpose != "loan" || f.lang != "en" {
		t.Fatalf("service got %+v", f)
	}
	if status, _, _ := send(t, app, "POST", "/api/v1/me/certificates", `{"type":"deposit_use","subject":"s_other"}`); status != 400 {
		t.Fatalf("unknown field: %d", status)
	}
	// The lending centre of a loan_elsewhere certificate reaches the service.
	if status, _, _ := send(t, app, "POST", "/api/v1/me/certificates", `{"type":"loan_elsewhere","to_centre":"110100"}`); status != 201 ||
		f.typ != "loan_elsewhere" || f.toCentre != "110100" {
		t.Fatalf("loan_elsewhere: %d %+v", status, f)
	}

	status, m, _ = send(t, app, "GET", "/api/v1/me/certificates?limit=500", "")
	items, _ := m["items"].([]any)
	if status != 200 || len(items) != 1 || f.limit != certificate.MaxLimit+1 {
		t.Fatalf("list %d %v limit %d", status, m, f.limit)
	}
	if first := items[0].(map[string]any); first["verifications"] != nil || first["status_label"] != "有效" {
		t.Fatalf("list item %v", first)
	}
	status, m, _ = send(t, app, "GET", "/api/v1/me/certificates/ab12", "")
	facts, _ := m["facts"].(map[string]any)
	if vs, _ := m["verifications"].([]any); status != 200 || len(vs) != 1 || facts["status"] != "02" || facts["status_label"] != "封存" {
		t.Fatalf("get %d %v", status, m)
	}
	if status, _, _ := send(t, app, "GET", "/api/v1/me/certificates/zz99", ""); status != 404 {
		t.Fatalf("unknown id: %d", status)
	}
	status, m, _ = send(t, app, "POST", "/api/v1/me/certificates/ab12/revoke", "")
	if status != 200 || m["status"] != "revoked" || m["download_url"] != nil || m["revoked_at"] == nil {
		t.Fatalf("revoke %d %v", status, m)
	}
}
