package public_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/public"
	"handheld/locales"
	"handheld/services"
	"handheld/services/catalogue"
	"handheld/services/hours"
	"handheld/services/withdrawal"
)

// catalogueApp serves the shipped catalogue with the switches given; its
// error handler answers a services.Error with its status and code, as the
// app's does (the problem+json body is the e2e test's).
func catalogueApp(t *testing.T, switches hours.Policy) *fiber.App {
	t.Helper()
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg := catalogue.Default()
	cfg.Switches = switches
	c, err := catalogue.New(cfg, withdrawal.DefaultPolicies())
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		var e *services.Error
		if !errors.As(err, &e) {
			return c.SendStatus(500)
		}
		return c.Status(e.Code.Status()).SendString(string(e.Code))
	}})
	h := public.Services{Catalogue: c, Catalogs: cat}
	app.Get("/api/v1/services", h.List)
	app.Get("/api/v1/services/:code", h.Get)
	return app
}

type got struct {
	status int
	header map[string]string
	body   []byte
}

func fetch(t *testing.T, app *fiber.App, path string, header map[string]string) got {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	h := map[string]string{}
	for k := range resp.Header {
		h[k] = resp.Header.Get(k)
	}
	return got{resp.StatusCode, h, body}
}

func codesOf(t *testing.T, r got) []string {
	t.Helper()
	var b public.ServiceListBody
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("%d %s: %v", r.status, r.body, err)
	}
	var out []string
	for _, it := range b.Items {
		out = append(out, it.Code)
	}
	return out
}

func TestServicesFilters(t *testing.T) {
	app := catalogueApp(t, nil)
	all := codesOf(t, fetch(t, app, "/api/v1/services", nil))
	if len(all) < 20 || all[0] != "account.overview" {
		t.Fatalf("all: %v", all)
	}
	kiosk := codesOf(t, fetch(t, app, "/api/v1/services?channel=kiosk", nil))
	if !slices.Contains(kiosk, "kiosk.print") || slices.Contains(kiosk, "withdrawal.purchase") || slices.Contains(kiosk, "employer.roster") {
		t.Errorf("kiosk: %v", kiosk)
	}
	emp := codesOf(t, fetch(t, app, "/api/v1/services?role=employer&channel=app", nil))
	if !slices.Contains(emp, "employer.staff_join") || !slices.Contains(emp, "loan.calculator") || slices.Contains(emp, "account.overview") {
		t.Errorf("employer on the app: %v", emp)
	}
	if none := codesOf(t, fetch(t, app, "/api/v1/services?role=verifier&channel=miniapp", nil)); len(none) != 2 {
		t.Errorf("verifier on the mini-program: %v (the public ones only)", none)
	}
}

func TestServicesBadQuery(t *testing.T) {
	app := catalogueApp(t, nil)
	for _, q := range []string{"channel=tv", "role=admin", "channel=KIOSK", "role=depositor&channel=mini_app", "channel=%00"} {
		if r := fetch(t, app, "/api/v1/services?"+q, nil); r.status != 400 || string(r.body) != string(services.CodeInvalid) {
			t.Errorf("?%s: %d %s", q, r.status, r.body)
		}
	}
}

func TestServiceUnknownCode(t *testing.T) {
	app := catalogueApp(t, nil)
	for _, code := range []string{"withdrawal.renting", "WITHDRAWAL.RENT", "withdrawal", "%E7%A7%9F"} {
		if r := fetch(t, app, "/api/v1/services/"+code, nil); r.status != 404 || string(r.body) != string(services.CodeNotFound) {
			t.Errorf("%s: %d %s", code, r.status, r.body)
		}
	}
}

// An item in the request's language, with its policy's materials and the
// shared-data sources that replace them, its time limits and its hours.
func TestServiceItem(t *testing.T) {
	app := catalogueApp(t, hours.Policy{hours.Withdrawal: {"kiosk": {Off: true}}})
	r := fetch(t, app, "/api/v1/services/withdrawal.purchase", map[string]string{"Accept-Language": "en"})
	var b public.ServiceBody
	if err := json.Unmarshal(r.body, &b); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if b.Name != "Home purchase withdrawal" || b.Version == "" || r.header["Content-Language"] != "en" ||
		b.LegalWorkingDays != 3 || b.PromisedWorkingDays != 2 || b.FeeFen != 0 || b.WithdrawalKind != "purchase" {
		t.Errorf("purchase: %+v", b)
	}
	if len(b.Materials) != 2 || b.Materials[0].Code != "property_registration" || len(b.Materials[0].Sources) != 2 ||
		b.Materials[0].Sources[0].Fact != "real_estate.deed" || b.Materials[0].Sources[0].Name != "Real-estate registration" || !b.Materials[0].Upload {
		t.Errorf("materials: %+v", b.Materials)
	}
	rent := fetch(t, app, "/api/v1/services/withdrawal.rent", nil)
	var rb public.ServiceBody
	_ = json.Unmarshal(rent.body, &rb)
	if rb.Name != "租房提取" || len(rb.Hours) != 2 || !rb.Hours[0].Open || rb.Hours[1].Channel != "kiosk" || rb.Hours[1].Open {
		t.Errorf("rent: %s", rent.body)
	}
}

// A strong ETag per representation: If-None-Match with it (or "*", or a
// list naming it) is 304 without a body; another language, filter or
// catalogue is another tag.
func TestServicesETag(t *testing.T) {
	app := catalogueApp(t, nil)
	first := fetch(t, app, "/api/v1/services?channel=miniapp", nil)
	etag := first.header["Etag"]
	if first.status != 200 || len(etag) < 10 || etag[0] != '"' || first.header["Cache-Control"] != public.CatalogueCacheControl ||
		first.header["Vary"] != "Accept-Language" {
		t.Fatalf("%d %v", first.status, first.header)
	}
	for _, inm := range []string{etag, `"other", ` + etag, "W/" + etag, "*"} {
		r := fetch(t, app, "/api/v1/services?channel=miniapp", map[string]string{"If-None-Match": inm})
		if r.status != 304 || len(r.body) != 0 || r.header["Etag"] != etag {
			t.Errorf("If-None-Match %s: %d %q", inm, r.status, r.body)
		}
	}
	if r := fetch(t, app, "/api/v1/services?channel=miniapp", map[string]string{"If-None-Match": `"stale"`}); r.status != 200 {
		t.Errorf("stale tag: %d", r.status)
	}
	others := []got{
		fetch(t, app, "/api/v1/services?channel=miniapp", map[string]string{"Accept-Language": "en"}),
		fetch(t, app, "/api/v1/services?channel=kiosk", nil),
		fetch(t, catalogueApp(t, hours.Policy{hours.Account: {"*": {Hours: "07:00-22:00"}}}), "/api/v1/services?channel=miniapp", nil),
	}
	for i, o := range others {
		if o.header["Etag"] == etag || o.header["Etag"] == "" {
			t.Errorf("representation %d has the tag %q", i, o.header["Etag"])
		}
	}
	one := fetch(t, app, "/api/v1/services/kiosk.print", nil)
	if r := fetch(t, app, "/api/v1/services/kiosk.print", map[string]string{"If-None-Match": one.header["Etag"]}); r.status != 304 {
		t.Errorf("item: %d", r.status)
	}
}
