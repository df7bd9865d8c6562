package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services/core"
	"handheld/services/platform"
	"handheld/services/platformsim"
)

// platformOwnSecret is the platform's own key in the e2e tests: it signs
// the platform's calls to handheld.
const platformOwnSecret = "e2e-platform-own-key-0123456789abcdef012345"

// withPlatformCentre is withPlatform with the platform's own key on both
// sides, so the simulator can call this centre (a certificate verification
// by another centre): the caller registers the app's URL with
// sim.SetCentreURL once it is up.
func withPlatformCentre(t *testing.T, sim **platformsim.Sim, simURL *string) option {
	*sim = platformsim.New(platformsim.Config{Keys: map[string][]byte{"handheld-e2e": []byte(platformSecret)},
		PlatformKeyID: "platform-e2e", PlatformSecret: []byte(platformOwnSecret)})
	srv := httptest.NewServer((*sim).AdminHandler())
	t.Cleanup(srv.Close)
	*simURL = srv.URL
	return func(c *bff.Config) {
		c.PlatformURL, c.PlatformKeyID, c.PlatformSecret = srv.URL, "handheld-e2e", platformSecret
		c.PlatformInboundKeyID, c.PlatformInboundSecret = "platform-e2e", platformOwnSecret
	}
}

// platformCall signs a call to this centre as the platform does, with the
// given secret and time.
func platformCall(body, secret string, at time.Time, nonce string) http.Header {
	ts := at.Unix()
	return http.Header{"Content-Type": {"application/json"}, platform.HeaderKeyID: {"platform-e2e"},
		platform.HeaderTimestamp: {strconv.FormatInt(ts, 10)}, platform.HeaderNonce: {nonce},
		platform.HeaderSignature: {core.Sign([]byte(secret), http.MethodPost, platform.PathCentreCertificateVerifications, ts, nonce, []byte(body))}}
}

type elsewhereCert struct {
	ID            string `json:"id"`
	Type          string `json:"type"`
	ToCentre      string `json:"to_centre"`
	ToCentreName  string `json:"to_centre_name"`
	UsageCount    int    `json:"usage_count"`
	Verifications []struct {
		Channel    string `json:"channel"`
		Centre     string `json:"centre"`
		CentreName string `json:"centre_name"`
	} `json:"verifications"`
}

func TestCertificateElsewhere(t *testing.T) {
	var sim *platformsim.Sim
	var simURL string
	e := start(t, relaxedIssue(), withPlatformCentre(t, &sim, &simURL))
	sim.SetCentreURL(platformsim.LocalCentre, e.base)
	wumin := e.bindWeChat("o-cert-elsewhere-wumin", e.persona("depositor", "吴敏")).AccessToken
	lina := e.bindWeChat("o-cert-elsewhere-lina", e.persona("depositor", "李娜")).AccessToken

	// Bad lending centres: refused on to_centre, nothing written.
	for _, tc := range []struct{ name, body string }{
		{"missing", `{"type":"loan_elsewhere"}`},
		{"empty", `{"type":"loan_elsewhere","to_centre":""}`},
		{"malformed", `{"type":"loan_elsewhere","to_centre":"11010"}`},
		{"letters", `{"type":"loan_elsewhere","to_centre":"beijin"}`},
		{"this centre", `{"type":"loan_elsewhere","to_centre":"330100"}`},
		{"unknown", `{"type":"loan_elsewhere","to_centre":"999999"}`},
		{"another type", `{"type":"deposit_use","to_centre":"110100"}`},
	} {
		r := e.bad().issue(wumin, "elsewhere-bad", tc.body)
		wantProblem(t, r, 400, "request.invalid")
		if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "to_centre" {
			t.Errorf("%s: %s, want one error on to_centre", tc.name, r.body)
		}
	}
	if r := e.bad().issue(wumin, "elsewhere-bad", `{"type":"loan_elsewhere","to_centre":110100}`); r.StatusCode != 400 ||
		r.problem(t).Code != "request.invalid" || len(r.problem(t).Errors) != 1 || r.problem(t).Errors[0].Field != "to_centre" {
		t.Errorf("a number for to_centre: %d %s", r.StatusCode, r.body)
	}
	if list := e.meGet(certificates, wumin); list.StatusCode != 200 || bytes.Contains(list.body, []byte(`"id"`)) {
		t.Fatalf("refused requests left certificates: %s", list.body)
	}

	// 吴敏 issues the certificate to Beijing, in Chinese and in English.
	want := map[string][]string{
		"zh-CN": {"异地贷款职工住房公积金缴存使用证明", "北京住房公积金管理中心", "110100", "吴敏", "连续缴存月数", "月缴存额", "是否有公积金贷款", "在我中心的住房公积金贷款"},
		"en":    {"4. Lending centre", "北京住房公积金管理中心", "centre code 110100", "Continuous months", "Monthly deposit", "HPF loans with this centre"},
	}
	var issued issuedCert
	for _, lang := range []string{"zh-CN", "en"} {
		h := bearer(wumin)
		h.Set("Idempotency-Key", "elsewhere-"+lang)
		h.Set("Accept-Language", lang)
		r := e.do("POST", certificates, map[string]string{"type": "loan_elsewhere", "to_centre": "110100"}, h)
		if r.StatusCode != 201 {
			t.Fatalf("issue %s: %d %s", lang, r.StatusCode, r.body)
		}
		r.json(t, &issued)
		pdf := e.do("GET", issued.DownloadURL, nil, nil)
		if pdf.StatusCode != 200 {
			t.Fatalf("download %d", pdf.StatusCode)
		}
		readPDF(t, pdf.body) // draws and reads without a complaint
		readPDFJoined(t, pdf.body, want[lang]...)
	}
	var got elsewhereCert
	r := e.meGet(certificates+"/"+issued.ID, wumin)
	r.json(t, &got)
	if got.Type != "loan_elsewhere" || got.ToCentre != "110100" || got.ToCentreName != "北京住房公积金管理中心" || len(got.Verifications) != 0 {
		t.Fatalf("the certificate: %s", r.body)
	}
	// Another person's certificate is not found.
	wantProblem(t, e.meGet(certificates+"/"+issued.ID, lina), 404, "not_found")

	// The QR's verify page verifies it.
	page := e.do("GET", "/verify/"+issued.VerifyCode, nil, nil)
	if page.StatusCode != 200 || !strings.Contains(string(page.body), "吴*") || !strings.Contains(string(page.body), "北京住房公积金管理中心（110100）") {
		t.Fatalf("verify page %d", page.StatusCode)
	}
	// Beijing verifies it through the platform (the simulator signs).
	body, _ := json.Marshal(platform.CertificateVerification{IssuingCentre: platformsim.LocalCentre,
		VerifyingCentre: platformsim.CentreBeijing, VerifyCode: issued.VerifyCode})
	resp, err := http.Post(simURL+"/_sim/certificate-verifications", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var check platform.CertificateCheck
	_ = json.Unmarshal(raw, &check)
	if resp.StatusCode != 200 || !check.Valid || check.Type != "loan_elsewhere" || check.ToCentre != "110100" || check.Holder != "吴*" {
		t.Fatalf("Beijing's verification: %d %s", resp.StatusCode, raw)
	}
	if strings.Contains(string(raw), "330110199909302242") {
		t.Fatalf("the ID number left: %s", raw)
	}

	// Forged, stale and replayed platform calls are refused, nothing recorded.
	call := `{"verify_code":"` + issued.VerifyCode + `","verifying_centre":"110100"}`
	now := time.Now()
	wantProblem(t, e.do("POST", platform.PathCentreCertificateVerifications, call,
		platformCall(call, "not-the-platform-key-0123456789abcdef0123", now, newNonce())), 401, "platform.bad_signature")
	wantProblem(t, e.do("POST", platform.PathCentreCertificateVerifications, call,
		platformCall(call, platformOwnSecret, now.Add(-10*time.Minute), newNonce())), 401, "platform.bad_signature")
	tampered := platformCall(call, platformOwnSecret, now, newNonce())
	wantProblem(t, e.do("POST", platform.PathCentreCertificateVerifications, strings.Replace(call, "110100", "310100", 1), tampered),
		401, "platform.bad_signature")
	once := platformCall(call, platformOwnSecret, now, newNonce())
	if r := e.do("POST", platform.PathCentreCertificateVerifications, call, once); r.StatusCode != 200 {
		t.Fatalf("a signed call: %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.do("POST", platform.PathCentreCertificateVerifications, call, once), 401, "platform.bad_signature")
	unknown := `{"verify_code":"0000-0000-0000-0000","verifying_centre":"110100"}`
	wantProblem(t, e.do("POST", platform.PathCentreCertificateVerifications, unknown,
		platformCall(unknown, platformOwnSecret, now, newNonce())), 404, "not_found")
	stranger := `{"verify_code":"` + issued.VerifyCode + `","verifying_centre":"999999"}`
	wantProblem(t, e.do("POST", platform.PathCentreCertificateVerifications, stranger,
		platformCall(stranger, platformOwnSecret, now, newNonce())), 400, "request.invalid")

	// The holder sees every verification: the page, and Beijing twice
	// through the platform, named; nothing of the refused calls.
	r = e.meGet(certificates+"/"+issued.ID, wumin)
	r.json(t, &got)
	channels := map[string]int{}
	for _, v := range got.Verifications {
		channels[v.Channel]++
		if v.Channel == "platform" && (v.Centre != "110100" || v.CentreName != "北京住房公积金管理中心") {
			t.Errorf("platform verification without its centre: %s", r.body)
		}
		if v.Channel == "web" && v.Centre != "" {
			t.Errorf("a page verification names a centre: %s", r.body)
		}
	}
	if got.UsageCount != 3 || channels["web"] != 1 || channels["platform"] != 2 {
		t.Fatalf("verifications: %s", r.body)
	}
}
