package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// A person scanning a certificate's QR sees, in their language, whether it
// is valid — and never the holder's full name or ID number — on a page
// that passes WCAG 2 A/AA (axe-core: no serious or critical violation).
func TestVerifyPageInABrowser(t *testing.T) {
	t.Parallel()
	e := start(t, policies())
	zhang := e.persona("depositor", "张伟")
	tok := e.bindWeChat("oVerifyPage0001", zhang).AccessToken
	r := e.do("POST", "/api/v1/me/certificates", map[string]string{"type": "deposit_use", "purpose": "异地贷款"},
		http.Header{"Authorization": {"Bearer " + tok}, "Idempotency-Key": {"verify-page-0001"}})
	if r.StatusCode != 201 {
		t.Fatalf("issue: %d %s", r.StatusCode, r.body)
	}
	var issued struct {
		ID         string `json:"id"`
		VerifyCode string `json:"verify_code"`
	}
	r.json(t, &issued)

	b := newBrowserSession(t)
	for _, tc := range []struct{ lang, word string }{{"zh-CN", "有效"}, {"en", "Valid"}} {
		b.navigate(e.base + "/verify/" + issued.VerifyCode + "?lang=" + tc.lang)
		s := b.readSeen()
		b.screenshot("valid " + tc.lang)
		b.axe() // WCAG 2 A/AA: no serious or critical violation
		if s.lang != tc.lang || !strings.Contains(s.statusClass, "valid") || strings.Contains(s.statusClass, "invalid") || !strings.Contains(s.status, tc.word) {
			t.Fatalf("%s: lang %q class %q status %q", tc.lang, s.lang, s.statusClass, s.status)
		}
		if strings.Contains(s.text, zhang.Name) || strings.Contains(s.text, zhang.IDNumber) {
			t.Fatalf("%s: the page shows the holder's full name or ID number:\n%s", tc.lang, s.text)
		}
		if !strings.Contains(s.text, "张*") {
			t.Fatalf("%s: no masked holder on the page:\n%s", tc.lang, s.text)
		}
	}

	if r := e.do("POST", "/api/v1/me/certificates/"+issued.ID+"/revoke", nil, bearer(tok)); r.StatusCode != 200 {
		t.Fatalf("revoke: %d %s", r.StatusCode, r.body)
	}
	for _, tc := range []struct{ lang, word string }{{"zh-CN", "撤销"}, {"en", "Revoked"}} {
		b.navigate(e.base + "/verify/" + issued.VerifyCode + "?lang=" + tc.lang)
		s := b.readSeen()
		b.screenshot("revoked " + tc.lang)
		b.axe()
		if !strings.Contains(s.statusClass, "revoked") || !strings.Contains(s.status, tc.word) {
			t.Fatalf("revoked, %s: class %q status %q", tc.lang, s.statusClass, s.status)
		}
	}
}
