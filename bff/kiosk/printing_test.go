package kiosk

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"handheld/locales"
	"handheld/services"
	"handheld/services/hours"
	"handheld/services/printing"
)

type fakePrints struct {
	PrintUses
	created []printing.Request
}

func (f *fakePrints) Create(_ context.Context, _ services.Principal, r printing.Request) (printing.Job, error) {
	f.created = append(f.created, r)
	return printing.Job{ID: "0123456789abcdef0123456789abcdef", Document: r.Document, Status: printing.StatusReady}, nil
}

// closedCertificates is a gate with the certificate service switched off.
type closedCertificates struct{}

func (closedCertificates) Check(s hours.Service, _ string) error {
	if s == hours.Certificate {
		return services.E(services.CodeServiceClosed)
	}
	return nil
}

// TestCertificatePrintsFollowTheCertificateSwitch: with certificates
// switched off, a certificate's print copy is refused before anything is
// rendered; statements still print.
func TestCertificatePrintsFollowTheCertificateSwitch(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	f := &fakePrints{}
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return c.Status(599).SendString(string(services.ErrorCode(err)))
	}})
	app.Post("/p", Printing{Service: f, Catalogs: cat, Hours: closedCertificates{}}.Create)
	for body, want := range map[string]int{
		`{"document":"certificate","certificate_id":"abc"}`: 599,
		`{"document":"loan_statement"}`:                     201,
	} {
		req := httptest.NewRequest("POST", "/p", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d", body, resp.StatusCode, want)
		}
	}
	if len(f.created) != 1 || f.created[0].Document != printing.DocLoanStatement || f.created[0].Locale == "" {
		t.Fatalf("created %+v", f.created)
	}
}
