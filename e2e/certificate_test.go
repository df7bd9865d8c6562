package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/certificate"
	"handheld/services/certpdf"
	"handheld/services/coresim"
	"handheld/services/keys/jwkstest"
	"handheld/services/ratelimit"
	"handheld/services/suite"
)

const certificates = "/api/v1/me/certificates"

// relaxedIssue lets one person issue as often as a test needs.
func relaxedIssue() option {
	return policies(ratelimit.Policy{Name: "certificate_issue_subject", Key: ratelimit.KeySubject,
		Classes: []ratelimit.Class{"certificate_issue"}, Rate: 100, Burst: 100, Period: time.Minute})
}

type issuedCert struct {
	ID          string `json:"id"`
	Number      string `json:"number"`
	VerifyCode  string `json:"verify_code"`
	VerifyURL   string `json:"verify_url"`
	DownloadURL string `json:"download_url"`
	IssuedAt    string `json:"issued_at"`
	ExpiresAt   string `json:"expires_at"`
}

type certView struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	DownloadURL string `json:"download_url"`
	PDFSHA256   string `json:"pdf_sha256"`
	UsageCount  int    `json:"usage_count"`
	Facts       struct {
		Status  string `json:"status"`
		HasLoan bool   `json:"has_loan"`
	} `json:"facts"`
	Verifications []struct {
		Channel string `json:"channel"`
	} `json:"verifications"`
}

type verdict struct {
	Valid  bool   `json:"valid"`
	Status string `json:"status"`
	Holder string `json:"holder"`
	Number string `json:"number"`
}

// issue posts a certificate request with an Idempotency-Key.
func (e *env) issue(tok, key string, body any) *response {
	e.t.Helper()
	h := bearer(tok)
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	return e.do("POST", certificates, body, h)
}

func (e *env) certificate(tok, id string) certView {
	e.t.Helper()
	r := e.meGet(certificates+"/"+id, tok)
	if r.StatusCode != 200 {
		e.t.Fatalf("GET certificate %d %s", r.StatusCode, r.body)
	}
	var v certView
	r.json(e.t, &v)
	return v
}

func TestCertificateIssueIdempotencyAndDownload(t *testing.T) {
	t.Parallel()
	e := start(t, relaxedIssue())
	zhang := e.persona("depositor", "张伟")
	tok := e.bindWeChat("openid-cert-zhang", zhang).AccessToken
	body := map[string]string{"type": "deposit_use", "purpose": "异地购房贷款"}

	wantProblem(t, e.bad().issue(tok, "", body), 400, "idempotency.key_missing")
	wantProblem(t, e.bad().issue(tok, strings.Repeat("k", 129), body), 400, "idempotency.key_invalid")
	r := e.bad().issue(tok, "cert-k1", map[string]string{"type": "income_proof"})
	wantProblem(t, r, 400, "request.invalid")
	if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "type" {
		t.Fatalf("unknown type: %s", r.body)
	}

	// The failed attempt freed the key: the corrected request issues.
	first := e.issue(tok, "cert-k1", body)
	if first.StatusCode != 201 || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("issue %d %s", first.StatusCode, first.body)
	}
	var got issuedCert
	first.json(t, &got)
	if first.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(got.Number, "330100-") || got.VerifyURL != e.cfg.PublicBase()+"/verify/"+got.VerifyCode {
		t.Fatalf("issued %+v, headers %v", got, first.Header)
	}
	replay := e.issue(tok, "cert-k1", body)
	if replay.StatusCode != 201 || replay.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(replay.body, first.body) {
		t.Fatalf("replay %d %v %s", replay.StatusCode, replay.Header, replay.body)
	}
	wantProblem(t, e.issue(tok, "cert-k1", map[string]string{"type": "deposit_use", "purpose": "another"}), 422, "idempotency.key_reused")

	// The PDF behind the link is the one the holder's view fingerprints.
	pdf := e.do("GET", got.DownloadURL, nil, nil)
	if pdf.StatusCode != 200 || pdf.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf.body, []byte("%PDF")) ||
		!strings.HasPrefix(pdf.Header.Get("Content-Disposition"), "attachment") || pdf.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("download %d %v", pdf.StatusCode, pdf.Header)
	}
	sum := sha256.Sum256(pdf.body)
	view := e.certificate(tok, got.ID)
	if view.PDFSHA256 != hex.EncodeToString(sum[:]) || view.Status != "valid" || view.UsageCount != 0 || !view.Facts.HasLoan {
		t.Fatalf("view %+v, served PDF %x", view, sum)
	}
	e.checkSignature(pdf.body, "01", zhang.IDNumber)
	if print := e.do("GET", got.DownloadURL+"&variant=print", nil, nil); print.StatusCode != 200 || bytes.Equal(print.body, pdf.body) {
		t.Fatalf("print variant %d", print.StatusCode)
	}

	// Links are bound to their certificate and cannot be altered.
	tampered := got.DownloadURL[:len(got.DownloadURL)-2] + flip(got.DownloadURL[len(got.DownloadURL)-2:])
	wantProblem(t, e.do("GET", tampered, nil, nil), 403, "certificate.link_invalid")
	second := e.issue(tok, "cert-k2", map[string]string{"type": "deposit_use"})
	var other issuedCert
	second.json(t, &other)
	swapped := strings.Replace(got.DownloadURL, got.ID, other.ID, 1)
	wantProblem(t, e.do("GET", swapped, nil, nil), 403, "certificate.link_invalid")

	list := e.meGet(certificates, tok)
	var page struct {
		Items []certView `json:"items"`
	}
	list.json(t, &page)
	if list.StatusCode != 200 || len(page.Items) != 2 || page.Items[0].ID != other.ID {
		t.Fatalf("list %d %s", list.StatusCode, list.body)
	}
}

// checkSignature checks the JWS a PDF carries as any verifier would, with
// the published JWKS, and that it states the account status.
func (e *env) checkSignature(pdf []byte, status, idNumber string) {
	e.t.Helper()
	jws, ok := certpdf.SignatureOf(pdf)
	if !ok {
		e.t.Fatal("the PDF carries no signature")
	}
	parts := strings.Split(jws, ".")
	var header struct{ Alg, Kid, Typ string }
	var claims struct {
		Holder string `json:"holder"`
		Facts  struct {
			Status string `json:"status"`
		} `json:"facts"`
	}
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if json.Unmarshal(hb, &header) != nil || json.Unmarshal(pb, &claims) != nil || header.Alg != e.cfg.Suite().Signature() || header.Typ != "hpf-cert+jwt" {
		e.t.Fatalf("JWS header %s claims %s", hb, pb)
	}
	jwks := e.do("GET", "/.well-known/jwks.json", nil, nil).body
	if _, err := jwkstest.Verify(jwks, header.Kid, []byte(parts[0]+"."+parts[1]), sig); err != nil {
		e.t.Fatalf("the certificate's signature does not verify with the published key: %v", err)
	}
	if claims.Facts.Status != status || strings.Contains(string(pb), idNumber) {
		e.t.Fatalf("claims %s", pb)
	}
}

// wantNoNameOrID fails if a public answer carries the holder's full name
// or ID number.
func wantNoNameOrID(t *testing.T, body []byte, p coresim.Persona) {
	t.Helper()
	if bytes.Contains(body, []byte(p.Name)) || bytes.Contains(body, []byte(p.IDNumber)) {
		t.Fatalf("public answer names the holder: %s", body)
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestCertificateVerifyRevokeAndOwnership(t *testing.T) {
	t.Parallel()
	e := start(t, relaxedIssue())
	zhang, li := e.persona("depositor", "张伟"), e.persona("depositor", "李娜")
	tok := e.bindWeChat("openid-cert-zhang2", zhang).AccessToken
	liTok := e.bindWeChat("openid-cert-li", li).AccessToken
	r := e.issue(tok, "k-verify", map[string]string{"type": "deposit_use"})
	if r.StatusCode != 201 {
		t.Fatalf("issue %d %s", r.StatusCode, r.body)
	}
	var got issuedCert
	r.json(t, &got)

	// Another person cannot see or revoke it.
	wantProblem(t, e.meGet(certificates+"/"+got.ID, liTok), 404, "not_found")
	wantProblem(t, e.do("POST", certificates+"/"+got.ID+"/revoke", nil, bearer(liTok)), 404, "not_found")

	v := e.do("GET", "/api/v1/verify/"+strings.ToLower(got.VerifyCode), nil, nil)
	var answer verdict
	v.json(t, &answer)
	if v.StatusCode != 200 || !answer.Valid || answer.Status != "valid" || answer.Holder != "张*" || answer.Number != got.Number {
		t.Fatalf("verify %d %s", v.StatusCode, v.body)
	}
	wantNoNameOrID(t, v.body, zhang)
	page := e.do("GET", "/verify/"+got.VerifyCode, nil, nil)
	if page.StatusCode != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(page.body), `<html lang="zh-CN">`) || !strings.Contains(string(page.body), `class="status status-valid">有效<`) {
		t.Fatalf("page %d %s", page.StatusCode, page.body)
	}
	wantNoNameOrID(t, page.body, zhang)
	if en := e.do("GET", "/verify/"+got.VerifyCode+"?lang=en", nil, nil); !strings.Contains(string(en.body), `class="status status-valid">Valid<`) {
		t.Fatalf("English page %s", en.body)
	}
	view := e.certificate(tok, got.ID)
	if view.UsageCount != 3 || len(view.Verifications) != 3 || view.Verifications[0].Channel != "web" {
		t.Fatalf("usage %+v", view)
	}

	wantProblem(t, e.do("GET", "/api/v1/verify/7KQ2-M9XD", nil, nil), 400, "certificate.bad_code")
	if bad := e.do("GET", "/verify/7KQ2-M9XD", nil, nil); bad.StatusCode != 400 || !strings.Contains(string(bad.body), "status-bad_code") {
		t.Fatalf("malformed code page %d", bad.StatusCode)
	}
	unknown := e.do("GET", "/api/v1/verify/0000-0000-0000-0000", nil, nil)
	unknown.json(t, &answer)
	if unknown.StatusCode != 200 || answer.Valid || answer.Status != "not_found" {
		t.Fatalf("unknown code %d %s", unknown.StatusCode, unknown.body)
	}
	if nf := e.do("GET", "/verify/0000-0000-0000-0000", nil, nil); nf.StatusCode != 404 || !strings.Contains(string(nf.body), "status-not_found") {
		t.Fatalf("unknown code page %d", nf.StatusCode)
	}

	rv := e.do("POST", certificates+"/"+got.ID+"/revoke", nil, bearer(tok))
	var revoked certView
	rv.json(t, &revoked)
	if rv.StatusCode != 200 || revoked.Status != "revoked" || revoked.DownloadURL != "" {
		t.Fatalf("revoke %d %s", rv.StatusCode, rv.body)
	}
	e.do("GET", "/api/v1/verify/"+got.VerifyCode, nil, nil).json(t, &answer)
	if answer.Valid || answer.Status != "revoked" {
		t.Fatalf("verify after revoke: %+v", answer)
	}
	if p := e.do("GET", "/verify/"+got.VerifyCode, nil, nil); !strings.Contains(string(p.body), `class="status status-revoked">已撤销<`) {
		t.Fatalf("page after revoke: %s", p.body)
	}
	wantProblem(t, e.do("GET", got.DownloadURL, nil, nil), 404, "not_found")
	if n := e.certificate(tok, got.ID).UsageCount; n != 5 {
		t.Fatalf("usage after revoke: %d", n)
	}
	if strings.Contains(e.logs.String(), strings.ReplaceAll(got.VerifyCode, "-", "")) || strings.Contains(e.logs.String(), got.VerifyCode) {
		t.Fatal("a verify code reached the logs")
	}
}

func TestCertificateSealedAccount(t *testing.T) {
	t.Parallel()
	e := start(t, relaxedIssue())
	wang := e.persona("depositor", "王芳")
	tok := e.bindWeChat("openid-cert-wang", wang).AccessToken
	r := e.issue(tok, "k-sealed", map[string]string{"type": "deposit_use"})
	if r.StatusCode != 201 {
		t.Fatalf("a sealed account gets a certificate: %d %s", r.StatusCode, r.body)
	}
	var got issuedCert
	r.json(t, &got)
	if v := e.certificate(tok, got.ID); v.Facts.Status != "02" {
		t.Fatalf("facts %+v", v.Facts)
	}
	pdf := e.do("GET", got.DownloadURL, nil, nil)
	e.checkSignature(pdf.body, "02", wang.IDNumber)
}

// TestCertificateLinkExpires presents a link the deployment itself made
// (from its hash secret, as every replica makes them) whose time is up.
func TestCertificateLinkExpires(t *testing.T) {
	t.Parallel()
	e := start(t, relaxedIssue())
	tok := e.bindWeChat("openid-cert-expiry", e.persona("depositor", "李娜")).AccessToken
	r := e.issue(tok, "k-expiry", map[string]string{"type": "deposit_use"})
	var got issuedCert
	r.json(t, &got)
	secret, err := os.ReadFile(filepath.Join(e.cfg.DataDir, "hash.secret")) // the embedded profile's generated secret
	if err != nil {
		t.Fatal(err)
	}
	if fresh := certificate.Link(services.NewHashKey(secret, suite.Env()), got.ID, time.Now().Add(time.Minute)); e.do("GET", fresh, nil, nil).StatusCode != 200 {
		t.Fatal("a link made with the deployment's secret is not accepted: is the service's Secret the hash secret?")
	}
	expired := certificate.Link(services.NewHashKey(secret, suite.Env()), got.ID, time.Now().Add(-time.Second))
	wantProblem(t, e.do("GET", expired, nil, http.Header{"Accept-Language": {"en"}}), 403, "certificate.link_expired")
	// The holder gets a fresh link any time.
	if r := e.do("GET", e.certificate(tok, got.ID).DownloadURL, nil, nil); r.StatusCode != 200 {
		t.Fatalf("fresh link %d", r.StatusCode)
	}
}
