package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
)

func TestNewClientValidatesConfig(t *testing.T) {
	good := ClientConfig{BaseURL: "https://core.example/hpf/", KeyID: "bff", Secret: []byte(testSecret)}
	if _, err := NewClient(good); err != nil {
		t.Fatalf("NewClient(good) = %v", err)
	}
	tests := []struct {
		name  string
		tweak func(*ClientConfig)
		want  string // part of the message: it must name the setting
	}{
		{"no base url", func(c *ClientConfig) { c.BaseURL = "" }, "BaseURL"},
		{"relative base url", func(c *ClientConfig) { c.BaseURL = "core.example" }, "BaseURL"},
		{"ftp base url", func(c *ClientConfig) { c.BaseURL = "ftp://core.example" }, "BaseURL"},
		{"base url with query", func(c *ClientConfig) { c.BaseURL = "https://core.example?x=1" }, "BaseURL"},
		{"base url with credentials", func(c *ClientConfig) { c.BaseURL = "https://u:p@core.example" }, "BaseURL"},
		{"no key id", func(c *ClientConfig) { c.KeyID = "" }, "KeyID"},
		{"key id with newline", func(c *ClientConfig) { c.KeyID = "bff\n" }, "KeyID"},
		{"short secret", func(c *ClientConfig) { c.Secret = []byte("short") }, "Secret"},
		{"negative timeout", func(c *ClientConfig) { c.Timeout = -time.Second }, "Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.tweak(&cfg)
			_, err := NewClient(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewClient = %v, want an error naming %s", err, tt.want)
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), "u:p") {
				t.Fatalf("error %q leaks a secret", err)
			}
		})
	}
}

func TestClientSignsEveryRequest(t *testing.T) {
	f := newFakeCore(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/deposits"):
			answer(200, `{"items":[],"next_cursor":"c2"}`)(w, r)
		case strings.HasSuffix(r.URL.Path, "/verify"):
			answer(200, `{"person_id":"P1","name":"n","id_number":"i","phone":"","bank_card":"","has_account":true}`)(w, r)
		default:
			answer(200, `{}`)(w, r)
		}
	})
	c, _ := newTestClient(t, f)
	ctx := context.Background()

	if _, err := c.Deposits(ctx, "P 1/2", DepositQuery{From: "2024-01", To: "2024-12", Limit: 20, Cursor: "a b&c"}); err != nil {
		t.Fatalf("Deposits: %v", err)
	}
	if _, err := c.VerifyRealName(ctx, "张三", "110101199003074514"); err != nil {
		t.Fatalf("VerifyRealName: %v", err)
	}
	if err := c.Health(ctx); err != nil {
		t.Fatalf("Health: %v", err)
	}

	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("fake saw %d requests, want 3", len(reqs))
	}
	wantURI := []string{
		"/core/v1/persons/P%201%2F2/deposits?cursor=a+b%26c&from=2024-01&limit=20&to=2024-12",
		"/core/v1/persons/verify",
		"/core/v1/health",
	}
	hexNonce := regexp.MustCompile(`^[0-9a-f]{32}$`)
	nonces := map[string]bool{}
	for i, r := range reqs {
		if r.RequestURI != wantURI[i] {
			t.Errorf("request %d target = %q, want %q", i, r.RequestURI, wantURI[i])
		}
		if !r.SigOK {
			t.Errorf("request %d (%s): signature does not verify", i, r.RequestURI)
		}
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("request %d Accept = %q", i, got)
		}
		n := r.Header.Get(HeaderNonce)
		if !hexNonce.MatchString(n) {
			t.Errorf("request %d nonce %q is not 16 random bytes in hex", i, n)
		}
		if nonces[n] {
			t.Errorf("nonce %q reused", n)
		}
		nonces[n] = true
		if got, want := r.Header.Get(HeaderTimestamp), "1750000000"; got != want {
			t.Errorf("request %d timestamp = %q, want %q (from the injected clock)", i, got, want)
		}
	}
	post := reqs[1]
	if post.Method != http.MethodPost || post.Header.Get("Content-Type") != "application/json" {
		t.Errorf("verify sent %s with Content-Type %q", post.Method, post.Header.Get("Content-Type"))
	}
	if want := `{"name":"张三","id_number":"110101199003074514"}`; string(post.Body) != want {
		t.Errorf("verify body = %s, want %s", post.Body, want)
	}
	if reqs[0].Header.Get("Content-Type") != "" || len(reqs[0].Body) != 0 {
		t.Errorf("GET carried a body or a Content-Type")
	}
}

func TestClientSignatureFailsWithOtherSecret(t *testing.T) {
	f := newFakeCore(t, answer(200, `{}`))
	c, _ := newTestClient(t, f, func(cfg *ClientConfig) { cfg.Secret = []byte(strings.Repeat("x", 32)) })
	_ = c.Health(context.Background())
	if reqs := f.requests(); len(reqs) != 1 || reqs[0].SigOK {
		t.Fatalf("a request signed with another secret verified: %+v", reqs)
	}
}

func TestClientPropagatesRequestID(t *testing.T) {
	f := newFakeCore(t, answer(200, `{}`))
	c, _ := newTestClient(t, f)
	for _, tt := range []struct{ ctxID, want string }{
		{"req-42", "req-42"},
		{"", ""},
		{"bad\nid", ""}, // never sent: it could split the header block
	} {
		ctx := context.Background()
		if tt.ctxID != "" {
			ctx = services.WithRequestID(ctx, tt.ctxID)
		}
		if err := c.Health(ctx); err != nil {
			t.Fatalf("Health(%q): %v", tt.ctxID, err)
		}
		reqs := f.requests()
		if got := reqs[len(reqs)-1].Header.Get(HeaderRequestID); got != tt.want {
			t.Errorf("request id %q sent as %q, want %q", tt.ctxID, got, tt.want)
		}
	}
}

func TestClientDecodesAnswers(t *testing.T) {
	f := newFakeCore(t, answer(200, `{"has_loan":true,"loan_number":"L1","principal_fen":100000000,"months":240,"method":"annuity"}`))
	c, rec := newTestClient(t, f)
	got, err := c.Loan(context.Background(), "P1")
	if err != nil {
		t.Fatalf("Loan: %v", err)
	}
	want := Loan{HasLoan: true, LoanNumber: "L1", PrincipalFen: 100000000, Months: 240, Method: "annuity"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Loan (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]observation{{"loan", OutcomeOK}}, rec.all(), cmp.AllowUnexported(observation{})); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
}

func TestClientRejectsMalformedAnswers(t *testing.T) {
	for _, tt := range []struct{ name, body string }{
		{"unknown field", `{"has_loan":true,"surprise":1}`},
		{"trailing data", `{"has_loan":true}{"has_loan":false}`},
		{"wrong type", `{"has_loan":"yes"}`},
		{"not json", `<html>gateway</html>`},
		{"empty", ``},
		{"null", `null`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCore(t, answer(200, tt.body))
			c, rec := newTestClient(t, f)
			got, err := c.Loan(context.Background(), "P1")
			if code := services.ErrorCode(err); code != services.CodeCoreUnavailable {
				t.Fatalf("Loan error = %v (code %s), want core.unavailable", err, code)
			}
			if got != (Loan{}) {
				t.Errorf("Loan returned a half-decoded value %+v", got)
			}
			if obs := rec.all(); len(obs) != 1 || obs[0].outcome != OutcomeError {
				t.Errorf("observations = %v, want one error", obs)
			}
		})
	}
}

func TestClientRefusesBadArgumentsWithoutCalling(t *testing.T) {
	f := newFakeCore(t, answer(200, `{}`))
	c, rec := newTestClient(t, f)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want services.Code
	}{
		{"empty person id", func() error { _, err := c.Account(ctx, ""); return err }, services.CodeInternal},
		{"dot-dot person id", func() error { _, err := c.Person(ctx, ".."); return err }, services.CodeInternal},
		{"empty unit code", func() error { _, err := c.Unit(ctx, ""); return err }, services.CodeInternal},
		{"empty application id", func() error { _, err := c.SubmitWithdrawal(ctx, Withdrawal{}); return err }, services.CodeInternal},
		{"bad from month", func() error { _, err := c.Deposits(ctx, "P1", DepositQuery{From: "2024-13"}); return err }, services.CodeInvalid},
		{"bad to month", func() error { _, err := c.Deposits(ctx, "P1", DepositQuery{To: "2024/01"}); return err }, services.CodeInvalid},
		{"negative limit", func() error { _, err := c.Staff(ctx, "U1", -1, ""); return err }, services.CodeInvalid},
	}
	for _, tt := range tests {
		if got := services.ErrorCode(tt.call()); got != tt.want {
			t.Errorf("%s: code %s, want %s", tt.name, got, tt.want)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("bad arguments reached the core %d times", n)
	}
	if obs := rec.all(); len(obs) != 0 {
		t.Errorf("bad arguments were observed as core calls: %v", obs)
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	f := newFakeCore(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	c, _ := newTestClient(t, f)
	if err := c.Health(context.Background()); services.ErrorCode(err) != services.CodeCoreUnavailable {
		t.Fatalf("Health after a redirect = %v, want core.unavailable", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("fake saw %d requests, want 1 (redirect not followed)", n)
	}
}

func TestClientUsesBasePathPrefix(t *testing.T) {
	f := newFakeCore(t, answer(200, `{}`))
	c, _ := newTestClient(t, f, func(cfg *ClientConfig) { cfg.BaseURL = f.srv.URL + "/gw/hpf/" })
	_ = c.Health(context.Background())
	reqs := f.requests()
	if len(reqs) != 1 || reqs[0].RequestURI != "/gw/hpf/core/v1/health" || !reqs[0].SigOK {
		t.Fatalf("requests = %+v, want one signed GET /gw/hpf/core/v1/health", reqs)
	}
}

func TestClientConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := NewClient(ClientConfig{BaseURL: url, KeyID: "bff", Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Account(context.Background(), "P-SECRET-42")
	if code := services.ErrorCode(err); code != services.CodeCoreUnavailable {
		t.Fatalf("Account against a closed port = %v, want core.unavailable", err)
	}
	if strings.Contains(err.Error(), "P-SECRET-42") {
		t.Errorf("cause %q carries the request path", err)
	}
	if errors.Unwrap(err) == nil {
		t.Errorf("cause was dropped; the log needs it")
	}
}

func TestClientIsSafeForConcurrentUse(t *testing.T) {
	f := newFakeCore(t, func(w http.ResponseWriter, r *http.Request) {
		// Echo the person id, so a buffer shared by two calls would show
		// up as one call decoding the other's answer.
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/core/v1/persons/"), "/account")
		answer(200, `{"account_number":"`+id+`","status":"01","balance_fen":1,"deposit_base_fen":0,"personal_rate_bp":0,`+
			`"unit_rate_bp":0,"monthly_personal_fen":0,"monthly_unit_fen":0,"unit_code":"","unit_name":"","opened_on":"2020-01-01",`+
			`"last_deposit_month":"","carry_over_fen":0,"current_year_fen":0,"continuous_months":0}`)(w, r)
	})
	c, rec := newTestClient(t, f)
	const n = 32
	errs := make(chan error, n)
	for i := range n {
		go func() {
			id := fmt.Sprintf("P%03d", i)
			a, err := c.Account(context.Background(), id)
			if err == nil && a.AccountNumber != id {
				err = fmt.Errorf("Account(%s) decoded the answer for %s", id, a.AccountNumber)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	nonces := map[string]bool{}
	for _, r := range f.requests() {
		nonces[r.Header.Get(HeaderNonce)] = true
	}
	if len(nonces) != n || len(rec.all()) != n {
		t.Errorf("%d distinct nonces and %d observations for %d calls", len(nonces), len(rec.all()), n)
	}
}
