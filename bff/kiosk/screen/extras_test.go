package screen

import (
	"net/url"
	"strings"
	"testing"
)

func TestPhoneSignIn(t *testing.T) {
	r := newRig(t, "张伟")
	signIn := r.do("GET", "/kiosk/?lang=en", devA, "", nil, nil)
	if !strings.Contains(signIn.body, `action="/kiosk/phone"`) {
		t.Fatal("no phone option")
	}
	got := r.do("POST", "/kiosk/phone", devA, "", url.Values{"form_token": {r.formToken(devA, "")}}, nil)
	if got.StatusCode != 303 || got.Header.Get("Location") != "/kiosk/phone/code-kiosk-a-0123456789abcdef" {
		t.Fatalf("%d %q", got.StatusCode, got.Header.Get("Location"))
	}
	page := r.do("GET", "/kiosk/phone/code-kiosk-a-0123456789abcdef", devA, "", nil, nil)
	wantHTML(t, page, 200)
	for _, want := range []string{`<meta http-equiv="refresh" content="2">`, `src="data:image/png;base64,`, "42"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("QR page lacks %s", want)
		}
	}
	// Confirmed on the phone: the citizen's cookie, and home.
	done := r.do("GET", "/kiosk/phone/confirmed-kiosk-a-0123456789abcdef", devA, "", nil, nil)
	if done.StatusCode != 303 || done.Header.Get("Location") != "/kiosk/home" || !strings.Contains(done.Header.Get("Set-Cookie"), CookieName+"="+citA) {
		t.Fatalf("%d %q %q", done.StatusCode, done.Header.Get("Location"), done.Header.Get("Set-Cookie"))
	}
	// Kiosk B cannot collect kiosk A's code; a malformed code never reaches identity.
	wantHTML(t, r.do("GET", "/kiosk/phone/confirmed-kiosk-a-0123456789abcdef", devB, "", nil, nil), 404)
	wantHTML(t, r.do("GET", "/kiosk/phone/%3Cscript%3E", devA, "", nil, nil), 404)
	// Making a code is a POST from the screen.
	wantHTML(t, r.do("POST", "/kiosk/phone", devA, "", url.Values{"form_token": {"x"}}, nil), 403)
}

func TestPrinting(t *testing.T) {
	r := newRig(t, "张伟")
	tok := r.formToken(devA, citA)
	choose := r.do("GET", "/kiosk/print?lang=en", devA, citA, nil, nil)
	wantHTML(t, choose, 200)
	if !strings.Contains(choose.body, "Deposit statement") || !strings.Contains(choose.body, `name="certificate_id" value="cert_1"`) {
		t.Fatalf("print page: %s", choose.body)
	}
	got := r.do("POST", "/kiosk/print", devA, citA, url.Values{"form_token": {tok}, "form_id": {"f1"}, "document": {"deposit_statement"},
		"from": {"2026-01"}, "to": {"2026-11"}}, nil)
	if got.StatusCode != 303 || got.Header.Get("Location") != "/kiosk/print/pj_1" {
		t.Fatalf("%d %s", got.StatusCode, got.body)
	}
	// The same form twice is one idempotency key; another form another.
	r.do("POST", "/kiosk/print", devA, citA, url.Values{"form_token": {tok}, "form_id": {"f1"}, "document": {"deposit_statement"},
		"from": {"2026-01"}, "to": {"2026-11"}}, nil)
	r.do("POST", "/kiosk/print", devA, citA, url.Values{"form_token": {tok}, "form_id": {"f2"}, "document": {"loan_statement"}}, nil)
	if len(r.print.reqs) != 3 || r.print.reqs[0].IdempotencyKey != r.print.reqs[1].IdempotencyKey ||
		r.print.reqs[0].IdempotencyKey == r.print.reqs[2].IdempotencyKey || r.print.reqs[2].From != "" {
		t.Fatalf("%+v", r.print.reqs)
	}
	for _, bad := range []url.Values{{"document": {"everything"}}, {"document": {"deposit_statement"}, "from": {"2026-13"}, "to": {"2026-01"}},
		{"document": {"certificate"}}, {"document": {"loan_statement"}, "form_id": {strings.Repeat("f", 65)}}} {
		bad.Set("form_token", tok)
		if bad.Get("form_id") == "" {
			bad.Set("form_id", "f3")
		}
		wantHTML(t, r.do("POST", "/kiosk/print", devA, citA, bad, nil), 400)
	}
	if len(r.print.reqs) != 3 {
		t.Fatal("bad input reached printing")
	}
	waiting := r.do("GET", "/kiosk/print/pj_1", devA, citA, nil, nil)
	if !strings.Contains(waiting.body, `<meta http-equiv="refresh" content="2">`) {
		t.Error("a print under way does not poll")
	}
	printed := r.do("GET", "/kiosk/print/pj_2?lang=en", devA, citA, nil, nil)
	if strings.Contains(printed.body, `content="2"`) || !strings.Contains(printed.body, "take the paper") {
		t.Errorf("printed: %s", printed.body)
	}
	wantHTML(t, r.do("GET", "/kiosk/print/pj_1", devB, citB, nil, nil), 404)
}

func TestStepUpAtTheDevice(t *testing.T) {
	r := newRig(t, "张伟")
	r.id.stale = true
	page := r.do("GET", "/kiosk/withdrawals/rent?lang=en", devA, citA, nil, nil)
	wantHTML(t, page, 403)
	if !strings.Contains(page.body, `action="/kiosk/step-up"`) || !strings.Contains(page.body, `name="back" value="/kiosk/withdrawals/rent"`) {
		t.Fatalf("no step-up form: %s", page.body)
	}
	tok := r.formToken(devA, citA)
	wrong := r.do("POST", "/kiosk/step-up", devA, citA, url.Values{"form_token": {tok}, "face_token": {"face:demo-other"}, "back": {"/kiosk/withdrawals/rent"}}, nil)
	wantHTML(t, wrong, 422)
	// Back only within the screen.
	got := r.do("POST", "/kiosk/step-up", devA, citA, url.Values{"form_token": {tok}, "face_token": {"face:demo-ok"}, "back": {"//evil.example/x"}}, nil)
	if got.StatusCode != 303 || got.Header.Get("Location") != "/kiosk/home" || !strings.Contains(got.Header.Get("Set-Cookie"), CookieName+"="+citA) {
		t.Fatalf("%d %q", got.StatusCode, got.Header.Get("Location"))
	}
	wantHTML(t, r.do("GET", "/kiosk/withdrawals/rent", devA, citA, nil, nil), 200)
}
