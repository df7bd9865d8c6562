package screen

import (
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"handheld/services"
	"handheld/templates"
)

// wantHTML checks an answer is a page of the screen with its security
// headers, not problem+json.
func wantHTML(t *testing.T, got reply, status int) {
	t.Helper()
	if got.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", got.StatusCode, status, got.body)
	}
	if ct := got.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type %q, want text/html", ct)
	}
	for h, want := range map[string]string{"Content-Security-Policy": Security, "X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
		if got.Header.Get(h) != want {
			t.Errorf("%s = %q, want %q", h, got.Header.Get(h), want)
		}
	}
	if !strings.Contains(Security, "script-src 'none'") || !strings.Contains(Security, "default-src 'none'") {
		t.Error("the policy must forbid scripts and loads from elsewhere")
	}
}

func TestWithoutDeviceTokenIsPlain401Page(t *testing.T) {
	r := newRig(t, "张伟")
	for name, device := range map[string]string{"none": "", "garbage": "not-a-token", "citizen as device": citA} {
		for _, path := range []string{"/kiosk/", "/kiosk/home", "/kiosk/kiosk.css", "/kiosk/nowhere"} {
			got := r.do("GET", path, device, citA, nil, map[string]string{"Accept-Language": "en"})
			wantHTML(t, got, 401)
			if !strings.Contains(got.body, "works only on a registered self-service kiosk") {
				t.Errorf("%s %s: no plain explanation: %s", name, path, got.body)
			}
			if got.Header.Get("WWW-Authenticate") != `Bearer realm="kiosk-device", error="invalid_token"` {
				t.Errorf("%s %s: no device challenge", name, path)
			}
			if strings.Contains(got.body, "1,234") {
				t.Errorf("%s %s: personal data without a device", name, path)
			}
		}
	}
}

func TestCitizenFromAnotherKioskIsRefused(t *testing.T) {
	r := newRig(t, "张伟")
	got := r.do("GET", "/kiosk/home", devA, citB, nil, nil)
	if got.StatusCode != 303 || got.Header.Get("Location") != "/kiosk/?reason=other_kiosk" {
		t.Fatalf("%d %q", got.StatusCode, got.Header.Get("Location"))
	}
	if c := got.Header.Get("Set-Cookie"); !strings.Contains(c, CookieName+"=;") || !strings.Contains(strings.ToLower(c), "max-age=0") && !strings.Contains(c, "expires=") {
		t.Errorf("cookie not cleared: %q", c)
	}
	if len(r.audit.records) != 1 || r.audit.records[0].Result != "denied" || r.audit.records[0].Subject != "sub_b" ||
		r.audit.records[0].Target != "device:kiosk-a" {
		t.Fatalf("audit %+v", r.audit.records)
	}
	page := r.do("GET", "/kiosk/?reason=other_kiosk&lang=en", devA, "", nil, nil)
	wantHTML(t, page, 200)
	if !strings.Contains(page.body, "made at another kiosk") {
		t.Errorf("no plain message: %s", page.body)
	}
	// The same citizen at their own kiosk is let in.
	wantHTML(t, r.do("GET", "/kiosk/home", devB, citB, nil, nil), 200)
}

func TestCrossSitePostIsRefused(t *testing.T) {
	r := newRig(t, "张伟")
	tok := r.formToken(devA, citA)
	form := url.Values{"form_token": {tok}, "purpose": {"loan"}}
	for name, h := range map[string]map[string]string{
		"cross-site":            {"Sec-Fetch-Site": "cross-site"},
		"same-site":             {"Sec-Fetch-Site": "same-site"},
		"foreign origin":        {"Sec-Fetch-Site": "", "Origin": "http://evil.example"},
		"no origin information": {"Sec-Fetch-Site": ""},
	} {
		got := r.do("POST", "/kiosk/certificates", devA, citA, form, h)
		wantHTML(t, got, 403)
		if name == "cross-site" && !strings.Contains(got.body, "<html") {
			t.Error("not a page")
		}
	}
	// A form without the session's token, or with another session's.
	for _, bad := range []string{"", "x", r.formToken(devB, citB)} {
		got := r.do("POST", "/kiosk/certificates", devA, citA, url.Values{"form_token": {bad}}, nil)
		wantHTML(t, got, 403)
	}
	if len(r.certs.issued) != 0 {
		t.Fatalf("issued %v", r.certs.issued)
	}
	// Same origin by Origin alone (no Sec-Fetch-Site) passes.
	got := r.do("POST", "/kiosk/certificates", devA, citA, form, map[string]string{"Sec-Fetch-Site": "", "Origin": "http://example.com"})
	if got.StatusCode != 303 || len(r.certs.issued) != 1 {
		t.Fatalf("%d %s %v", got.StatusCode, got.body, r.certs.issued)
	}
}

func TestScriptBearingInputIsEscaped(t *testing.T) {
	script := `<script>alert(1)</script>`
	r := newRig(t, script)
	for _, path := range []string{"/kiosk/home", "/kiosk/account?from=" + url.QueryEscape(script) + "&to=%22%3E%3Cimg%20src=x%3E"} {
		got := r.do("GET", path, devA, citA, nil, nil)
		wantHTML(t, got, 200)
		if strings.Contains(got.body, "<script") || strings.Contains(got.body, "<img") {
			t.Fatalf("%s: unescaped: %s", path, got.body)
		}
		if !strings.Contains(got.body, "&lt;script&gt;") {
			t.Errorf("%s: the text is not shown escaped", path)
		}
	}
	// In a form's answer too: the sign-in error page does not echo.
	got := r.do("POST", "/kiosk/sign-in", devA, "", url.Values{"form_token": {r.formToken(devA, "")}, "name": {script},
		"id_number": {"330106198503124133"}, "face_token": {"face:" + script}}, nil)
	wantHTML(t, got, 401)
	if strings.Contains(got.body, "<script") {
		t.Fatal("echoed")
	}
}

func TestOverLongInputIsRefused(t *testing.T) {
	r := newRig(t, "张伟")
	tok := r.formToken(devA, "")
	for field, v := range map[string]string{"name": strings.Repeat("张", 65), "id_number": strings.Repeat("1", 19), "face_token": strings.Repeat("f", 513)} {
		form := url.Values{"form_token": {tok}, "name": {"张伟"}, "id_number": {"330106198503124133"}, "face_token": {"face:demo-ok"}}
		form.Set(field, v)
		got := r.do("POST", "/kiosk/sign-in?lang=en", devA, "", form, nil)
		wantHTML(t, got, 400)
		if !strings.Contains(got.body, "too long") || !strings.Contains(got.body, "must be at most") {
			t.Errorf("%s: no plain message naming the field: %s", field, got.body)
		}
	}
	if r.id.logins != 0 {
		t.Fatal("an over-long sign-in reached identity")
	}
	ct := r.formToken(devA, citA)
	got := r.do("POST", "/kiosk/certificates", devA, citA, url.Values{"form_token": {ct}, "purpose": {strings.Repeat("x", 101)}}, nil)
	wantHTML(t, got, 400)
	got = r.do("POST", "/kiosk/cases/cert_1/rate", devA, citA, url.Values{"form_token": {ct}, "level": {"5"}, "comment": {strings.Repeat("x", 801)}}, nil)
	wantHTML(t, got, 400)
	got = r.do("GET", "/kiosk/account?cursor="+strings.Repeat("c", 600), devA, citA, nil, nil)
	wantHTML(t, got, 400)
	if len(r.certs.issued) != 0 || len(r.cases.rated) != 0 {
		t.Fatal("over-long input reached a use case")
	}
}

func TestSignInSetsScopedCookieAndLogoutEndsIt(t *testing.T) {
	r := newRig(t, "张伟")
	form := url.Values{"form_token": {r.formToken(devA, "")}, "name": {"张伟"}, "id_number": {"330106198503124133"}, "face_token": {"face:demo-ok"}}
	got := r.do("POST", "/kiosk/sign-in", devA, "", form, nil)
	if got.StatusCode != 303 || got.Header.Get("Location") != "/kiosk/home" {
		t.Fatalf("%d %s", got.StatusCode, got.body)
	}
	c := got.Header.Get("Set-Cookie")
	for _, want := range []string{CookieName + "=" + citA, "path=/kiosk/", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(c, want) {
			t.Errorf("cookie %q lacks %q", c, want)
		}
	}
	// A wrong face is a plain refusal on the page.
	form.Set("face_token", "face:demo-other")
	got = r.do("POST", "/kiosk/sign-in?lang=en", devA, "", form, nil)
	wantHTML(t, got, 401)
	if got.Header.Get("WWW-Authenticate") != "" {
		t.Error("a citizen's refusal challenges the device: the agent would send the sign-in again")
	}
	if !strings.Contains(got.body, "could not recognise you") || strings.Contains(got.body, "auth.face_mismatch") {
		t.Errorf("refusal: %s", got.body)
	}
	got = r.do("POST", "/kiosk/logout", devA, citA, url.Values{"form_token": {r.formToken(devA, citA)}}, nil)
	if got.StatusCode != 303 || len(r.id.logouts) != 1 || r.id.logouts[0] != "ses_cit_a" {
		t.Fatalf("%d %v", got.StatusCode, r.id.logouts)
	}
	// The idle countdown's GET only forgets the cookie.
	got = r.do("GET", "/kiosk/logout?reason=idle", devA, citA, nil, nil)
	if got.StatusCode != 303 || got.Header.Get("Location") != "/kiosk/?reason=idle" || len(r.id.logouts) != 1 {
		t.Fatalf("%d %q %v", got.StatusCode, got.Header.Get("Location"), r.id.logouts)
	}
}

func TestIdleCountdownAndReadAloud(t *testing.T) {
	r := newRig(t, "张伟")
	got := r.do("GET", "/kiosk/home", devA, citA, nil, nil)
	wantHTML(t, got, 200)
	for _, want := range []string{`<meta http-equiv="refresh" content="180;url=/kiosk/logout?reason=idle">`, `class="countdown-seconds"`,
		`action="/kiosk/more-time"`, `class="read-aloud" aria-label="朗读"`, `data-read-aloud="张伟您好`} {
		if !strings.Contains(got.body, want) {
			t.Errorf("home lacks %s", want)
		}
	}
	css := r.do("GET", "/kiosk/kiosk.css", devA, "", nil, nil)
	if css.StatusCode != 200 || !strings.Contains(css.body, "kiosk-idle-bar 180s") || !strings.Contains(css.body, "initial-value: 180") {
		t.Errorf("css: %d %s", css.StatusCode, css.body[:min(len(css.body), 200)])
	}
	// Signed out, no countdown.
	if strings.Contains(r.do("GET", "/kiosk/", devA, "", nil, nil).body, "http-equiv=\"refresh\"") {
		t.Error("the sign-in page counts down")
	}
}

// rawKey is a locale key left untranslated in a page (T returns the key
// itself for an unknown one).
var rawKey = regexp.MustCompile(`\b(kiosk|withdrawal|payout|certificate|status|deposit|loan)\.[a-z_]+\.[a-z_0-9.]*|\bkiosk\.[a-z_]+\b[^.]`)

func TestEveryPageRendersInBothLanguages(t *testing.T) {
	r := newRig(t, "张伟")
	pages := []string{"/kiosk/home", "/kiosk/account", "/kiosk/loan", "/kiosk/certificates", "/kiosk/withdrawals",
		"/kiosk/withdrawals/rent", "/kiosk/withdrawals/retirement", "/kiosk/cases", "/kiosk/cases/cert_1/rate", "/kiosk/cases/wd_1/rate",
		"/kiosk/cases/other/rate", "/kiosk/nowhere", "/kiosk/print", "/kiosk/print/pj_1", "/kiosk/print/pj_2", "/kiosk/print/other"}
	for _, lang := range []string{"zh-CN", "en"} {
		for _, p := range append(pages, "/kiosk/?reason=idle", "/kiosk/phone/code-kiosk-a-0123456789abcdef") {
			citizen := citA
			if strings.HasPrefix(p, "/kiosk/?") || strings.HasPrefix(p, "/kiosk/phone/") {
				citizen = ""
			}
			sep := "?"
			if strings.Contains(p, "?") {
				sep = "&"
			}
			got := r.do("GET", p+sep+"lang="+lang, devA, citizen, nil, nil)
			want := 200
			if strings.Contains(p, "other") || strings.Contains(p, "nowhere") {
				want = 404
			}
			wantHTML(t, got, want)
			if !strings.Contains(got.body, `<html lang="`+lang+`">`) {
				t.Errorf("%s in %s: wrong language", p, lang)
			}
			body := strings.ReplaceAll(got.body, "/kiosk/kiosk.css", "")
			if m := rawKey.FindString(body); m != "" {
				t.Errorf("%s in %s: untranslated key %q", p, lang, m)
			}
		}
	}
}

// templateKey is a literal key a template translates.
var templateKey = regexp.MustCompile(`t \$?\.(?:Lang|OtherLang) "([^"]+)"`)

func TestEveryTemplateKeyExistsInBothLanguages(t *testing.T) {
	r := newRig(t, "")
	keys := map[string]bool{}
	err := fs.WalkDir(templates.FS, "kiosk", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") {
			return err
		}
		b, err := fs.ReadFile(templates.FS, path)
		for _, m := range templateKey.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 50 {
		t.Fatalf("only %d keys found: is the pattern still right?", len(keys))
	}
	// Keys the pages compose.
	for _, p := range pageNames {
		keys["kiosk."+p+".read_aloud"] = true
	}
	for _, s := range []string{"accepted", "submitted", "approved", "rejected", "paid", "cancelled", "valid", "expired", "revoked"} {
		keys["kiosk.status."+s] = true
	}
	for l := 1; l <= 5; l++ {
		keys[fmt.Sprintf("kiosk.rate.level.%d", l)] = true
	}
	for _, reason := range []string{"idle", "ended", "other_kiosk", "signed_out"} {
		keys["kiosk.signin.reason."+reason] = true
	}
	for k := range keys {
		if !r.cat.Has(k) {
			t.Errorf("locale key %s is missing", k)
		}
	}
	if miss := r.cat.Missing(); len(miss) > 0 {
		t.Errorf("keys in one language only: %v", miss)
	}
}

// screenCodes are the error codes the screen's use cases and guards can
// answer; each needs a plain wording on the page.
var screenCodes = []services.Code{
	services.CodeInternal, services.CodeNotFound, services.CodeMethodNotAllowed, services.CodeInvalid, services.CodeTooLarge,
	services.CodeTimeout, services.CodeRateLimited, services.CodeCoreUnavailable, services.CodeCoreMaintenance, services.CodeCoreRejected,
	services.CodeNotReady, services.CodeServiceClosed, services.CodeServiceHours, services.CodeUnavailable, services.CodePersonNotFound,
	services.CodeAccountNotFound, services.CodeApplicationExists, services.CodeTokenMissing, services.CodeTokenInvalid,
	services.CodeTokenExpired, services.CodeSessionRevoked, services.CodeIdleTimeout, services.CodeForbidden, services.CodeLocked,
	services.CodeDeviceDisabled, services.CodeFaceMismatch, services.CodeStepUpRequired, services.CodeIdempotencyKeyReused,
	services.CodeIdempotencyInFlight, services.CodeWithdrawalInFlight, services.CodeWithdrawalNotEligible,
	services.CodeWithdrawalAmountOverLimit, services.CodeWithdrawalEvidenceRequired, services.CodeWithdrawalNoBankCard,
	services.CodeWithdrawalPayoutAccountUnknown, services.CodeRatingNotRateable, services.CodeRatingAlreadyRated,
	services.CodeFaceFailed, services.CodeFaceInvalid, services.CodeFaceExpired, services.CodeFaceReplayed,
	services.CodePrintDailyLimit, services.CodePrintExpired, services.CodePrintNoLoan, services.CodePrintLoanNotSettled,
	services.CodePrintCertificateNotValid, services.CodeKioskLoginNotFound, services.CodeKioskLoginExpired, services.CodeKioskLoginUsed,
}

func TestEveryScreenRefusalHasPlainWording(t *testing.T) {
	r := newRig(t, "")
	for _, code := range screenCodes {
		key := "kiosk.refusal." + string(code)
		if !r.cat.Has(key) {
			t.Errorf("%s has no plain wording (%s)", code, key)
			continue
		}
		for _, lang := range []string{"zh-CN", "en"} {
			if txt := r.cat.T(lang, key, nil); strings.Contains(txt, string(code)) {
				t.Errorf("%s in %s shows the raw code", key, lang)
			}
		}
	}
}
