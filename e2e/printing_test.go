package e2e

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/bff"
)

const (
	printJobs  = "/api/v1/kiosk/print-jobs"
	printQueue = "/api/v1/kiosk/print-queue"
	myPrints   = "/api/v1/me/print-jobs"
)

type printJob struct {
	ID            string `json:"id"`
	Document      string `json:"document"`
	DocumentLabel string `json:"document_label"`
	Status        string `json:"status"`
	StatusLabel   string `json:"status_label"`
	Pages         int    `json:"pages"`
	DeviceID      string `json:"device_id"`
	Location      string `json:"location"`
	From          string `json:"from"`
	To            string `json:"to"`
	PrintedAt     string `json:"printed_at"`
}

// secondKiosk is another registered kiosk, for the tests that take one
// kiosk's print from another.
type secondKiosk struct{ key []byte }

const otherKioskID = "kiosk-e2e-print-02"

// withPrinting sets the daily print limit, lifts the print rate class
// and, with k, registers otherKioskID.
func withPrinting(maxPerDay int, k *secondKiosk) option {
	return func(c *bff.Config) {
		c.PrintJobs.MaxPerDay = maxPerDay
		for i := range c.RateLimits { // the store's daily limit is under test, not the rate class
			if c.RateLimits[i].Name == "print_subject" {
				c.RateLimits[i].Rate, c.RateLimits[i].Burst = 100, 100
			}
		}
		if k != nil {
			pub, priv, err := ed25519GenerateKey()
			if err != nil {
				panic(err)
			}
			k.key = priv
			c.Kiosks = append(c.Kiosks, bff.KioskDevice{ID: otherKioskID, Location: "second branch", PublicKey: b64(pub), Enabled: true})
		}
	}
}

// print asks for a document as the kiosk citizen tok.
func (e *env) print(tok, key string, body any) *response {
	e.t.Helper()
	h := bearer(tok)
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	return e.do("POST", printJobs, body, h)
}

// printedText is what a person reads on the printed PDF (poppler's pdftotext).
func printedText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext is missing: make test installs it (apt-get install poppler-utils)")
	}
	file := filepath.Join(t.TempDir(), "print.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", file, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// TestKioskPrintsEachDocument: a citizen at the demo kiosk prints a
// deposit statement, a loan statement, the settled-loan certificate and
// their own certificate; the kiosk's printer takes each PDF once; the
// holder sees every print in their list, from the mini-program too.
func TestKioskPrintsEachDocument(t *testing.T) {
	t.Parallel()
	e := start(t)
	dev := e.deviceToken()
	zhang := e.loginKiosk(dev, e.persona("depositor", "张伟")).AccessToken
	zhao := e.loginKiosk(dev, e.persona("depositor", "赵建国")).AccessToken

	// Zhang's own certificate, issued at the kiosk.
	r := e.issue(zhang, "print-cert-1", map[string]string{"type": "deposit_use"})
	if r.StatusCode != 201 {
		t.Fatalf("issue %d %s", r.StatusCode, r.body)
	}
	var cert issuedCert
	r.json(t, &cert)

	now := time.Now().In(time.FixedZone("CST", 8*3600))
	from := now.AddDate(0, -5, 0).Format("2006-01")
	cases := []struct {
		tok  string
		body map[string]string
		want []string // in the printed text
	}{
		{zhang, map[string]string{"document": "deposit_statement", "from": from, "to": now.Format("2006-01")}, []string{"住房公积金缴存明细", "张伟", "期末余额", bff.DemoKioskLocation}},
		{zhang, map[string]string{"document": "deposit_statement"}, []string{"住房公积金缴存明细"}},
		{zhang, map[string]string{"document": "loan_statement"}, []string{"住房公积金贷款对账单", "等额本息"}},
		{zhao, map[string]string{"document": "loan_settled"}, []string{"住房公积金贷款结清证明", "赵建国", "已全部还清"}},
		{zhang, map[string]string{"document": "certificate", "certificate_id": cert.ID}, []string{cert.Number}},
	}
	for i, c := range cases {
		r := e.print(c.tok, "print-"+c.body["document"]+string(rune('a'+i)), c.body)
		if r.StatusCode != 201 {
			t.Fatalf("%v: %d %s", c.body, r.StatusCode, r.body)
		}
		var j printJob
		r.json(t, &j)
		if j.Status != "ready" || j.Pages < 1 || j.DeviceID != bff.DemoKioskID || j.Location != bff.DemoKioskLocation ||
			j.DocumentLabel == "" || j.StatusLabel != "正在等待打印" || r.Header.Get("Location") != printJobs+"/"+j.ID {
			t.Fatalf("%v: job %+v", c.body, j)
		}
		var queue struct {
			Items []struct{ ID string } `json:"items"`
		}
		e.meGet(printQueue, dev).json(t, &queue)
		if len(queue.Items) != 1 || queue.Items[0].ID != j.ID {
			t.Fatalf("queue %+v, want %s", queue, j.ID)
		}
		doc := e.do("GET", printJobs+"/"+j.ID+"/document", nil, bearer(dev))
		if doc.StatusCode != 200 || doc.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(doc.body, []byte("%PDF")) {
			t.Fatalf("%v: document %d %s", c.body, doc.StatusCode, doc.Header.Get("Content-Type"))
		}
		text := strings.ReplaceAll(printedText(t, doc.body), "\n", "")
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%v: printed text lacks %q", c.body, w)
			}
		}
		wantProblem(t, e.do("GET", printJobs+"/"+j.ID+"/document", nil, bearer(dev)), 409, "print.already_printed")
		var got printJob
		if e.meGet(printJobs+"/"+j.ID, c.tok).json(t, &got); got.Status != "printed" || got.PrintedAt == "" {
			t.Fatalf("after printing: %+v", got)
		}
	}

	// The holder's list, from the mini-program: four prints, newest first.
	mini := e.bindWeChat("oPrintZhang00001", e.persona("depositor", "张伟")).AccessToken
	var list struct {
		Items []printJob `json:"items"`
	}
	if r := e.meGet(myPrints, mini); r.StatusCode != 200 {
		t.Fatalf("list %d %s", r.StatusCode, r.body)
	} else {
		r.json(t, &list)
	}
	if len(list.Items) != 4 || list.Items[0].Document != "certificate" || list.Items[3].Document != "deposit_statement" ||
		list.Items[3].Location != bff.DemoKioskLocation || list.Items[3].From != from {
		t.Fatalf("list %+v", list.Items)
	}
	var zhaoList struct {
		Items []printJob `json:"items"`
	}
	if e.meGet(myPrints, zhao).json(t, &zhaoList); len(zhaoList.Items) != 1 || zhaoList.Items[0].Document != "loan_settled" {
		t.Fatalf("zhao's list %+v", zhaoList.Items)
	}
}

// TestKioskPrintAttacks: other people's ids, other kiosks, other
// channels, replays and bad input are refused with stable codes.
func TestKioskPrintAttacks(t *testing.T) {
	t.Parallel()
	other := &secondKiosk{}
	e := start(t, withPrinting(3, other))
	dev := e.deviceToken()
	zhang := e.loginKiosk(dev, e.persona("depositor", "张伟")).AccessToken
	li := e.loginKiosk(dev, e.persona("depositor", "李娜")).AccessToken

	r := e.issue(zhang, "attack-cert", map[string]string{"type": "deposit_use"})
	var cert issuedCert
	r.json(t, &cert)

	// Another person's certificate id is 404 like an unknown one.
	wantProblem(t, e.print(li, "k1", map[string]string{"document": "certificate", "certificate_id": cert.ID}), 404, "not_found")
	wantProblem(t, e.print(li, "k2", map[string]string{"document": "certificate", "certificate_id": "0123456789abcdef0123456789abcdef"}), 404, "not_found")
	// A loan not settled, no loan at all.
	wantProblem(t, e.print(zhang, "k3", map[string]string{"document": "loan_settled"}), 409, "print.loan_not_settled")
	wantProblem(t, e.print(li, "k4", map[string]string{"document": "loan_statement"}), 409, "print.no_loan")
	// A revoked certificate.
	r = e.do("POST", certificates+"/"+cert.ID+"/revoke", nil, bearer(zhang))
	if r.StatusCode != 200 {
		t.Fatalf("revoke %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.print(zhang, "k5", map[string]string{"document": "certificate", "certificate_id": cert.ID}), 409, "print.certificate_not_valid")

	// A mini-program token, a device token: 403.
	mini := e.bindWeChat("oPrintLi00000001", e.persona("depositor", "李娜")).AccessToken
	wantProblem(t, e.print(mini, "k6", map[string]string{"document": "deposit_statement"}), 403, "auth.forbidden")
	wantProblem(t, e.print(dev, "k7", map[string]string{"document": "deposit_statement"}), 403, "auth.forbidden")
	wantProblem(t, e.do("GET", printQueue, nil, bearer(zhang)), 403, "auth.forbidden")

	// Bad periods and unknown fields: 400 with field errors.
	now := time.Now().In(time.FixedZone("CST", 8*3600))
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"document": "deposit_statement", "from": "2026/01"}, "from"},
		{map[string]any{"document": "deposit_statement", "to": "2026-13"}, "to"},
		{map[string]any{"document": "deposit_statement", "from": now.AddDate(0, -3, 0).Format("2006-01"), "to": now.AddDate(0, -6, 0).Format("2006-01")}, "from"},
		{map[string]any{"document": "deposit_statement", "from": now.AddDate(-3, -1, 0).Format("2006-01"), "to": now.Format("2006-01")}, "from"},
		{map[string]any{"document": "deposit_statement", "to": now.AddDate(0, 2, 0).Format("2006-01")}, "to"},
		{map[string]any{"document": "passport"}, "document"},
		{map[string]any{"document": "deposit_statement", "copies": 100}, ""},
		{map[string]any{"document": "certificate", "certificate_id": "<script>alert(1)</script>"}, "certificate_id"},
	} {
		r := e.bad().print(zhang, "bad-"+c.field+time.Now().Format("150405.000000"), c.body)
		if r.StatusCode != 400 {
			t.Fatalf("%v: %d %s", c.body, r.StatusCode, r.body)
		}
		p := r.problem(t)
		if c.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != c.field) {
			t.Fatalf("%v: errors %+v", c.body, p.Errors)
		}
	}
	// No Idempotency-Key.
	wantProblem(t, e.bad().print(zhang, "", map[string]string{"document": "loan_statement"}), 400, "idempotency.key_missing")

	// A job, replayed with its key, is one job.
	r = e.print(zhang, "once", map[string]string{"document": "loan_statement"})
	var j printJob
	r.json(t, &j)
	if again := e.print(zhang, "once", map[string]string{"document": "loan_statement"}); again.StatusCode != 201 ||
		again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.body, r.body) {
		t.Fatalf("replay %d %s", again.StatusCode, again.body)
	}
	// Another person's job is 404; another kiosk takes neither queue nor PDF.
	wantProblem(t, e.meGet(printJobs+"/"+j.ID, li), 404, "not_found")
	dev2 := e.do("POST", "/api/v1/kiosk/session", nil, deviceHeaders(otherKioskID, other.key, time.Now(), newNonce()))
	if dev2.StatusCode != 200 {
		t.Fatalf("second kiosk %d %s", dev2.StatusCode, dev2.body)
	}
	var tok2 tokens
	dev2.json(t, &tok2)
	var queue struct {
		Items []struct{ ID string } `json:"items"`
	}
	if e.meGet(printQueue, tok2.AccessToken).json(t, &queue); len(queue.Items) != 0 {
		t.Fatalf("the second kiosk sees %v", queue.Items)
	}
	wantProblem(t, e.do("GET", printJobs+"/"+j.ID+"/document", nil, bearer(tok2.AccessToken)), 404, "not_found")
	wantProblem(t, e.do("GET", printJobs+"/"+j.ID+"/document", nil, bearer(zhang)), 403, "auth.forbidden")

	// Twice at once: the PDF goes to one fetch.
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range 2 {
		wg.Go(func() { codes[i] = e.do("GET", printJobs+"/"+j.ID+"/document", nil, bearer(dev)).StatusCode })
	}
	wg.Wait()
	if !(codes[0] == 200 && codes[1] == 409 || codes[0] == 409 && codes[1] == 200) {
		t.Fatalf("two fetches at once: %v", codes)
	}

	// Over the daily limit (3): 429 with a stable code and Retry-After.
	for i := range 2 {
		if r := e.print(zhang, "more"+string(rune('a'+i)), map[string]string{"document": "loan_statement"}); r.StatusCode != 201 {
			t.Fatalf("print %d: %d %s", i, r.StatusCode, r.body)
		}
	}
	r = e.print(zhang, "too-many", map[string]string{"document": "loan_statement"})
	wantProblem(t, r, http.StatusTooManyRequests, "print.daily_limit")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After on the daily limit")
	}
	// Li's prints are her own budget.
	if r := e.print(li, "li-1", map[string]string{"document": "deposit_statement"}); r.StatusCode != 201 {
		t.Fatalf("li %d %s", r.StatusCode, r.body)
	}
}
