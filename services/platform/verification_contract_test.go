package platform_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"handheld/services/core"
	"handheld/services/platform"
	"handheld/services/platformsim"
)

// TestContractCertificateVerification: a lending centre's verification
// through the platform reaches the issuing centre signed with the
// platform's own key (checked here as handheld checks it), its answer
// comes back through the client as it was given, validated against the
// platform's OpenAPI document, and a code the issuing centre does not know
// is ErrCertificateNotFound. A centre without an endpoint is not found
// either; an unknown centre is our own fault.
func TestContractCertificateVerification(t *testing.T) {
	const ownKey = "platform-own-key-0123456789abcdef0123456789"
	nonces := core.NewNonceStore(0)
	var asked []platform.ForwardedVerification
	centre := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != platform.PathCentreCertificateVerifications || !core.VerifyRequest(r, body, core.SignHeaders{KeyID: platform.HeaderKeyID,
			Timestamp: platform.HeaderTimestamp, Nonce: platform.HeaderNonce, Signature: platform.HeaderSignature},
			map[string][]byte{"platform": []byte(ownKey)}, nonces, time.Now()) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var v platform.ForwardedVerification
		_ = json.Unmarshal(body, &v)
		asked = append(asked, v)
		if v.VerifyCode != "7KQ2-M9XD-4T8W-J3HR" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"code":"not_found"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(platform.CertificateCheck{Valid: true, Status: "valid", Number: "330100-2026-000001",
			Type: "loan_elsewhere", Holder: "吴*", IssuedAt: "2026-12-06T10:00:00+08:00", ExpiresAt: "2027-01-05T10:00:00+08:00",
			PDFSHA256: "0000000000000000000000000000000000000000000000000000000000000000", Centre: "示范市住房公积金管理中心",
			ToCentre: "110100", ToCentreName: "北京住房公积金管理中心"})
	}))
	defer centre.Close()
	doc, err := libopenapi.NewDocument(platform.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	sim := platformsim.New(platformsim.Config{Keys: map[string][]byte{keyID: []byte(secret)}, PlatformKeyID: "platform", PlatformSecret: []byte(ownKey)})
	sim.SetCentreURL(platformsim.LocalCentre, centre.URL)
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	c, err := platform.NewClient(platform.ClientConfig{BaseURL: srv.URL, KeyID: keyID, Secret: []byte(secret),
		HTTPClient: &http.Client{Transport: validating{t: t, v: v, next: http.DefaultTransport}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := c.VerifyCertificate(ctx, platform.CertificateVerification{IssuingCentre: platformsim.LocalCentre,
		VerifyingCentre: platformsim.CentreBeijing, VerifyCode: "7KQ2-M9XD-4T8W-J3HR"})
	if err != nil || !got.Valid || got.ToCentre != "110100" || got.Holder != "吴*" {
		t.Fatalf("verified: %+v %v", got, err)
	}
	if len(asked) != 1 || asked[0].VerifyingCentre != platformsim.CentreBeijing {
		t.Fatalf("the issuing centre was asked %+v", asked)
	}
	_, err = c.VerifyCertificate(ctx, platform.CertificateVerification{IssuingCentre: platformsim.LocalCentre,
		VerifyingCentre: platformsim.CentreBeijing, VerifyCode: "0000-0000-0000-0000"})
	if !errors.Is(err, platform.ErrCertificateNotFound) {
		t.Fatalf("unknown code: %v", err)
	}
	_, err = c.VerifyCertificate(ctx, platform.CertificateVerification{IssuingCentre: platformsim.CentreShanghai,
		VerifyingCentre: platformsim.CentreBeijing, VerifyCode: "7KQ2-M9XD-4T8W-J3HR"})
	if !errors.Is(err, platform.ErrCertificateNotFound) {
		t.Fatalf("a centre without certificates: %v", err)
	}
	if _, err = c.VerifyCertificate(ctx, platform.CertificateVerification{IssuingCentre: "999999",
		VerifyingCentre: platformsim.CentreBeijing, VerifyCode: "7KQ2-M9XD-4T8W-J3HR"}); err == nil {
		t.Fatal("an unknown centre answered")
	}
	if n := sim.Calls(platformsim.CallVerifications); n != 4 {
		t.Fatalf("%d verifications counted, want 4", n)
	}
}
