package public_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/public"
	"handheld/services"
	"handheld/services/certificate"
	"handheld/services/core"
	"handheld/services/platform"
)

const platformKey = "the-platforms-own-key-0123456789abcdef"

// fakePlatformChecks counts the verifications that reached the service.
type fakePlatformChecks struct{ calls []string }

func (f *fakePlatformChecks) VerifyThroughPlatform(_ context.Context, code, centre string) (certificate.VerifyView, error) {
	f.calls = append(f.calls, code+" "+centre)
	if code != "7KQ2-M9XD-4T8W-J3HR" {
		return certificate.VerifyView{}, services.E(services.CodeNotFound)
	}
	at := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	return certificate.VerifyView{Valid: true, Status: certificate.StatusValid, Number: "330100-2026-000001",
		Type: certificate.TypeLoanElsewhere, Holder: "吴*", IssuedAt: at, ExpiresAt: at.Add(certificate.DefaultValidity),
		Centre: "示范中心", ToCentre: "110100", ToCentreName: "北京住房公积金管理中心"}, nil
}

// TestPlatformVerificationSignature: only a call signed with the platform's
// key, inside the window and with a fresh nonce, reaches the service; the
// rest are 401 platform.bad_signature before the body is read.
func TestPlatformVerificationSignature(t *testing.T) {
	f := &fakePlatformChecks{}
	now := time.Now()
	h := public.PlatformVerifications{Service: f, Keys: map[string][]byte{"platform": []byte(platformKey)},
		Nonces: core.NewNonceStore(0), Now: func() time.Time { return now }}
	app := fiber.New(fiber.Config{Immutable: true, ErrorHandler: func(c *fiber.Ctx, err error) error {
		return c.Status(services.ErrorCode(err).Status()).SendString(string(services.ErrorCode(err)))
	}})
	h.Routes(app, func(c *fiber.Ctx) error { return c.Next() })
	send := func(body, key string, at time.Time, nonce string) (int, string) {
		t.Helper()
		req := httptest.NewRequest("POST", platform.PathCentreCertificateVerifications, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(platform.HeaderKeyID, "platform")
		req.Header.Set(platform.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
		req.Header.Set(platform.HeaderNonce, nonce)
		req.Header.Set(platform.HeaderSignature, core.Sign([]byte(key), "POST", platform.PathCentreCertificateVerifications, at.Unix(), nonce, []byte(body)))
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	good := `{"verify_code":"7KQ2-M9XD-4T8W-J3HR","verifying_centre":"110100"}`
	for name, tc := range map[string]struct {
		body, key string
		at        time.Time
	}{
		"another key": {good, "not-the-platforms-key-0123456789abcdef", now},
		"stale":       {good, platformKey, now.Add(-6 * time.Minute)},
		"future":      {good, platformKey, now.Add(6 * time.Minute)},
		"malformed":   {`{"verify_code":`, "someone-else-0123456789abcdef0123456789", now},
	} {
		if status, body := send(tc.body, tc.key, tc.at, "nonce-"+name+"-0123456789"); status != 401 || body != "platform.bad_signature" {
			t.Errorf("%s: %d %s", name, status, body)
		}
	}
	if status, body := send(good, platformKey, now, "nonce-good-0123456789"); status != 200 || !strings.Contains(body, `"to_centre":"110100"`) ||
		!strings.Contains(body, `"holder":"吴*"`) {
		t.Fatalf("signed: %d %s", status, body)
	}
	if status, body := send(good, platformKey, now, "nonce-good-0123456789"); status != 401 || body != "platform.bad_signature" {
		t.Fatalf("replayed: %d %s", status, body)
	}
	if status, _ := send(`{"verify_code":"7KQ2","verifying_centre":"110100","extra":1}`, platformKey, now, "nonce-extra-0123456789"); status != 400 {
		t.Fatalf("unknown field: %d", status)
	}
	if len(f.calls) != 1 {
		t.Fatalf("the service was reached %d times: %v", len(f.calls), f.calls)
	}
	// Without a key every call is refused.
	h.Keys = nil
	app = fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return c.Status(services.ErrorCode(err).Status()).SendString(string(services.ErrorCode(err)))
	}})
	h.Routes(app, func(c *fiber.Ctx) error { return c.Next() })
	if status, _ := send(good, platformKey, now, "nonce-nokey-0123456789"); status != 401 {
		t.Fatalf("no key configured: %d", status)
	}
}
