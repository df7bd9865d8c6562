package public_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/public"
	"handheld/locales"
	"handheld/services"
	"handheld/services/certificate"
)

// fakeChecks answers verify codes from a table: "V…" valid, "E…" expired,
// "R…" revoked, anything else well-formed not found. It records channels.
type fakeChecks struct{ channels []string }

func (f *fakeChecks) PDF(_ context.Context, id, t, variant string) ([]byte, error) {
	if t != "good" {
		return nil, services.E(services.CodeCertificateLinkInvalid)
	}
	return []byte("%PDF-1.7 " + id + " " + variant), nil
}

func (f *fakeChecks) Verify(_ context.Context, code, channel string) (certificate.VerifyView, error) {
	f.channels = append(f.channels, channel)
	canonical, err := certificate.NormalizeCode(code)
	if err != nil {
		return certificate.VerifyView{}, err
	}
	issued := time.Date(2026, 3, 14, 17, 0, 0, 0, time.UTC)
	v := certificate.VerifyView{Number: "330100-2026-000001", Type: certificate.TypeDepositUse, Holder: "欧阳**",
		IssuedAt: issued, ExpiresAt: issued.Add(certificate.DefaultValidity), Centre: "示范中心", PDFSHA256: strings.Repeat("ab", 32)}
	switch canonical[0] {
	case 'V':
		v.Valid, v.Status = true, certificate.StatusValid
	case 'E':
		v.Status = certificate.StatusExpired
	case 'R':
		v.Status = certificate.StatusRevoked
	default:
		return certificate.VerifyView{Status: certificate.StatusNotFound, Centre: "示范中心"}, nil
	}
	return v, nil
}

func newApp(t *testing.T) (*fiber.App, *fakeChecks) {
	t.Helper()
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeChecks{}
	h, err := public.NewCertificates(f, cat, "示范中心")
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{Immutable: true, ErrorHandler: func(c *fiber.Ctx, err error) error {
		code := services.ErrorCode(err)
		c.Set(fiber.HeaderContentType, "application/problem+json")
		return c.Status(code.Status()).SendString(`{"code":"` + string(code) + `"}`)
	}})
	app.Use(middleware.Locale(cat))
	pass := func(c *fiber.Ctx) error { return c.Next() }
	h.Routes(app, pass, pass)
	return app, f
}

func get(t *testing.T, app *fiber.App, path, accept string) (int, fiber.Map, string, map[string]string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if accept != "" {
		req.Header.Set("Accept-Language", accept)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	h := map[string]string{}
	for k := range resp.Header {
		h[k] = resp.Header.Get(k)
	}
	var m fiber.Map
	_ = json.Unmarshal(body, &m)
	return resp.StatusCode, m, string(body), h
}

func TestVerifyPage(t *testing.T) {
	app, f := newApp(t)
	cases := []struct {
		path, accept string
		status       int
		lang, class  string
		word         string
		shows        bool // the details list
	}{
		{"/verify/V000-0000-0000-0000", "", 200, "zh-CN", "status status-valid", "有效", true},
		{"/verify/v000%200000%200000%20000o?lang=en", "zh-CN", 200, "en", "status status-valid", "Valid", true},
		{"/verify/E000-0000-0000-0000", "en-GB,en;q=0.9", 200, "en", "status status-expired", "Expired", true},
		{"/verify/R000-0000-0000-0000", "", 200, "zh-CN", "status status-revoked", "已撤销", true},
		{"/verify/0000-0000-0000-0000", "", 404, "zh-CN", "status status-not_found", "未找到", false},
		{"/verify/not-a-code", "en", 400, "en", "status status-bad_code", "Invalid code", false},
	}
	for _, tc := range cases {
		status, _, body, h := get(t, app, tc.path, tc.accept)
		if status != tc.status || !strings.HasPrefix(h["Content-Type"], "text/html") {
			t.Errorf("%s: %d %s", tc.path, status, h["Content-Type"])
		}
		for _, want := range []string{`<html lang="` + tc.lang + `">`, `<p class="` + tc.class + `">` + tc.word + `</p>`, "示范中心"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: page lacks %s", tc.path, want)
			}
		}
		if got := strings.Contains(body, "欧阳**"); got != tc.shows {
			t.Errorf("%s: masked holder shown %v, want %v", tc.path, got, tc.shows)
		}
		for _, banned := range []string{"<script", "http://", "https://", "<link", "<img", "src="} {
			if strings.Contains(body, banned) {
				t.Errorf("%s: page holds %q", tc.path, banned)
			}
		}
		if !strings.Contains(h["Content-Security-Policy"], "default-src 'none'") || h["Referrer-Policy"] != "no-referrer" || h["Cache-Control"] != "no-store" {
			t.Errorf("%s: headers %v", tc.path, h)
		}
	}
	if f.channels[0] != certificate.ChannelWeb {
		t.Errorf("page verifications count as %q", f.channels[0])
	}
	if !strings.Contains(mustBody(t, app, "/verify/V000-0000-0000-0000"), "2026-03-15 01:00") {
		t.Error("times are shown in Beijing time")
	}
}

func mustBody(t *testing.T, app *fiber.App, path string) string {
	_, _, body, _ := get(t, app, path, "")
	return body
}

func TestVerifyJSONAndPDF(t *testing.T) {
	app, f := newApp(t)
	status, m, _, _ := get(t, app, "/api/v1/verify/V000-0000-0000-0000?lang=en", "")
	if status != 200 || m["valid"] != true || m["status_label"] != "Valid" || m["holder"] != "欧阳**" || m["issued_at"] != "2026-03-15T01:00:00+08:00" {
		t.Fatalf("valid: %d %v", status, m)
	}
	status, m, _, _ = get(t, app, "/api/v1/verify/0000-0000-0000-0000", "")
	if status != 200 || m["valid"] != false || m["status"] != "not_found" || m["holder"] != nil || m["centre"] != "示范中心" {
		t.Fatalf("not found: %d %v", status, m)
	}
	if status, m, _, _ = get(t, app, "/api/v1/verify/x", ""); status != 400 || m["code"] != string(services.CodeCertificateBadCode) {
		t.Fatalf("malformed: %d %v", status, m)
	}
	if f.channels[0] != certificate.ChannelAPI {
		t.Errorf("API verifications count as %q", f.channels[0])
	}
	status, _, body, h := get(t, app, "/api/v1/certificates/abc/pdf?t=good&variant=print", "")
	if status != 200 || h["Content-Type"] != "application/pdf" || body != "%PDF-1.7 abc print" ||
		h["Content-Disposition"] != `attachment; filename="hpf-certificate-abc-print.pdf"` || h["Cache-Control"] != "no-store" {
		t.Fatalf("pdf: %d %v %q", status, h, body)
	}
	if status, _, _, _ = get(t, app, "/api/v1/certificates/abc/pdf?t=bad", ""); status != 403 {
		t.Fatalf("bad link: %d", status)
	}
}
