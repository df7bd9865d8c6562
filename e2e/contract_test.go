package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"handheld/bff"
)

// The tests here send values just inside and just outside the limits
// bff/openapi.yaml declares, for a few representative operations, and check
// that the document and the handlers agree: inside, the request passes the
// contract and the handler does not refuse it as invalid; outside, the
// contract refuses it and so does the handler, with a 4xx problem and a
// stable code.

// limitCase is one limit of one operation.
type limitCase struct {
	name         string
	method, path string
	header       http.Header
	// outsideHeader, when set, goes with the outside request instead
	// (a fresh Idempotency-Key after an inside request that succeeded).
	outsideHeader http.Header
	inside        any
	outside       any
	status        int    // the handler's answer outside the limit
	code          string // its problem code
	field         string // the field error it names, when it is request.invalid
}

// checkLimit sends the inside request (validated by e.do against the
// contract) and the outside one (which the contract must refuse).
func (e *env) checkLimit(t *testing.T, c limitCase) {
	t.Helper()
	if c.inside != nil {
		r := e.do(c.method, c.path, c.inside, c.header)
		if r.StatusCode == 400 || r.StatusCode == 413 {
			t.Errorf("%s: inside the limit, %d %s", c.name, r.StatusCode, r.body)
		}
	}
	header := c.header
	if c.outsideHeader != nil {
		header = c.outsideHeader
	}
	if !e.contractRefuses(c.method, c.path, c.outside, header) {
		t.Errorf("%s: openapi.yaml admits the value outside the limit", c.name)
	}
	r := e.bad().do(c.method, c.path, c.outside, header)
	if r.StatusCode != c.status {
		t.Fatalf("%s: outside the limit, %d %s; want %d %s", c.name, r.StatusCode, r.body, c.status, c.code)
	}
	p := r.problem(t)
	if p.Code != c.code {
		t.Errorf("%s: outside the limit, code %q, want %q", c.name, p.Code, c.code)
	}
	if c.field != "" && !hasFieldError(p.Errors, c.field) {
		t.Errorf("%s: no field error on %s: %s", c.name, c.field, r.body)
	}
}

func hasFieldError(errs []bff.ProblemField, field string) bool {
	for _, f := range errs {
		if f.Field == field {
			return true
		}
	}
	return false
}

// contractRefuses reports whether the request validator refuses the
// request, as a gateway enforcing the document would.
func (e *env) contractRefuses(method, path string, body any, header http.Header) bool {
	e.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Body = io.NopCloser(bytes.NewReader(raw))
	ok, _ := e.openapi.ValidateHttpRequest(req)
	return !ok
}

func TestContractLimitsPublic(t *testing.T) {
	e := start(t)
	calc := func(principal, months, rate int64) string {
		return fmt.Sprintf("/api/v1/loan/calculator?principal_fen=%d&months=%d&annual_rate_bp=%d", principal, months, rate)
	}
	for _, c := range []limitCase{
		{name: "months", method: "GET", path: calc(100_000, 361, 285), status: 400, code: "request.invalid", field: "months"},
		{name: "principal", method: "GET", path: calc(1_000_000_001, 12, 285), status: 400, code: "request.invalid", field: "principal_fen"},
		{name: "rate", method: "GET", path: calc(100_000, 12, 2001), status: 400, code: "request.invalid", field: "annual_rate_bp"},
		{name: "verify code", method: "GET", path: "/api/v1/verify/" + strings.Repeat("7", 65), status: 400, code: "certificate.bad_code"},
	} {
		e.checkLimit(t, c)
	}
	// Inside every limit at once: the largest plan there is.
	r := e.do("GET", calc(1_000_000_000, 360, 2000), nil, nil)
	if r.StatusCode != 200 {
		t.Fatalf("the largest plan: %d %s", r.StatusCode, r.body)
	}
	// The rate-limit headers the document declares, on a success and on
	// a refusal alike; and no CORS header on either (info.x-cors).
	bad := e.bad().do("GET", calc(0, 12, 285), nil, nil)
	for _, resp := range []*response{r, bad} {
		for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
			if resp.Header.Get(h) == "" {
				t.Errorf("%d without %s", resp.StatusCode, h)
			}
		}
		for h := range resp.Header {
			if strings.HasPrefix(h, "Access-Control-") {
				t.Errorf("%d with %s: the contract grants no cross-origin access", resp.StatusCode, h)
			}
		}
	}
	// A browser's preflight is refused: no route answers OPTIONS.
	pre := e.bad().do("OPTIONS", "/api/v1/loan/calculator", nil, http.Header{
		"Origin": {"https://elsewhere.example"}, "Access-Control-Request-Method": {"GET"}})
	if pre.StatusCode != 405 || pre.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight: %d %v, want 405 without Access-Control-Allow-Origin", pre.StatusCode, pre.Header)
	}
}

func TestContractLimitsSignIn(t *testing.T) {
	e := start(t)
	op := e.persona("employer", "")
	login := func(password string) map[string]string {
		return map[string]string{"unit_code": op.UnitCode, "operator_id": op.OperatorID, "password": password}
	}
	// Outside first: a refused shape is not a failed sign-in, so the
	// lockout never sees it.
	e.checkLimit(t, limitCase{name: "password", method: "POST", path: "/api/v1/auth/employer",
		inside: login(strings.Repeat("密", 128)), outside: login(strings.Repeat("密", 129)),
		status: 400, code: "request.invalid", field: "password"})
	e.checkLimit(t, limitCase{name: "operator id", method: "POST", path: "/api/v1/auth/employer",
		outside: map[string]string{"unit_code": op.UnitCode, "operator_id": strings.Repeat("a", 65), "password": "x"},
		status:  400, code: "request.invalid", field: "operator_id"})
	e.checkLimit(t, limitCase{name: "client secret", method: "POST", path: "/api/v1/auth/verifier",
		inside:  map[string]string{"client_id": "demo-counter", "client_secret": strings.Repeat("s", 256)},
		outside: map[string]string{"client_id": "demo-counter", "client_secret": strings.Repeat("s", 257)},
		status:  400, code: "request.invalid", field: "client_id"})
	e.checkLimit(t, limitCase{name: "refresh token", method: "POST", path: "/api/v1/auth/refresh",
		inside:  map[string]string{"refresh_token": strings.Repeat("r", 128)},
		outside: map[string]string{"refresh_token": strings.Repeat("r", 129)},
		status:  401, code: "auth.refresh_invalid"})
	// A binding token is spent by the first attempt past local checks:
	// the refused shapes first, then one inside every limit.
	zhang := e.persona("depositor", "张伟")
	bt := e.bindingToken("o-contract-limits")
	bind := func(name, face string) map[string]string {
		return map[string]string{"name": name, "id_number": zhang.IDNumber, "face_result": face}
	}
	e.checkLimit(t, limitCase{name: "name", method: "POST", path: "/api/v1/auth/bind", header: bearer(bt),
		outside: bind(strings.Repeat("张", 31), strings.Repeat("f", 8)), status: 400, code: "request.invalid", field: "name"})
	e.checkLimit(t, limitCase{name: "face result", method: "POST", path: "/api/v1/auth/bind", header: bearer(bt),
		inside:  bind(strings.Repeat("张", 30), strings.Repeat("f", 512)),
		outside: bind("张伟", strings.Repeat("f", 513)), status: 400, code: "request.invalid", field: "face_result"})
}

func TestContractLimitsDepositor(t *testing.T) {
	e := start(t, fastWithdrawals)
	lina := e.persona("depositor", "李娜")
	tok := e.bindWeChat("o-contract-depositor", lina).AccessToken
	card := payoutTo(t, lina, "bank_card")
	key := func(k string) http.Header {
		h := bearer(tok)
		h.Set("Idempotency-Key", k)
		return h
	}
	for _, c := range []limitCase{
		{name: "amount", method: "POST", path: withdrawals, header: key("contract-amount"),
			inside: rent(1_000_000_000_000, card), outside: rent(1_000_000_000_001, card),
			status: 400, code: "request.invalid", field: "amount_fen"},
		{name: "evidence refs", method: "POST", path: withdrawals, header: key("contract-evidence"),
			outside: map[string]any{"type": "rent", "amount_fen": 100, "payout": card, "evidence_refs": make([]string, 11)},
			status:  400, code: "request.invalid", field: "evidence_refs"},
		{name: "idempotency key", method: "POST", path: withdrawals, header: key(strings.Repeat("k", 129)),
			outside: rent(100, card), status: 400, code: "idempotency.key_invalid"},
		{name: "page size", method: "GET", path: "/api/v1/me/deposits?limit=101", header: bearer(tok),
			status: 400, code: "request.invalid", field: "limit"},
		{name: "QR size", method: "GET", path: "/api/v1/me/ecard/qr.png?size=1025", header: bearer(tok),
			status: 400, code: "request.invalid", field: "size"},
		{name: "purpose", method: "POST", path: "/api/v1/me/certificates", header: key("contract-purpose"),
			outsideHeader: key("contract-purpose-long"),
			inside:        map[string]any{"type": "deposit_use", "purpose": strings.Repeat("房", 100)},
			outside:       map[string]any{"type": "deposit_use", "purpose": strings.Repeat("房", 101)},
			status:        400, code: "request.invalid", field: "purpose"},
	} {
		e.checkLimit(t, c)
	}
	// The largest page and QR code the document admits are served.
	for _, path := range []string{"/api/v1/me/deposits?limit=100", "/api/v1/me/ecard/qr.png?size=1024"} {
		if r := e.do("GET", path, nil, bearer(tok)); r.StatusCode != 200 {
			t.Errorf("GET %s: %d %s", path, r.StatusCode, r.body)
		}
	}
	// A verifier's scanned payload: at most 1024 bytes.
	vt := e.verifierToken()
	e.checkLimit(t, limitCase{name: "payload", method: "POST", path: "/api/v1/ecard/verify", header: bearer(vt),
		inside:  map[string]string{"payload": jwsOfLength(t, 1024)},
		outside: map[string]string{"payload": strings.Repeat("a", 1025)},
		status:  400, code: "ecard.malformed"})
}

// jwsOfLength is a compact JWS of exactly n bytes in the e-card's shape,
// signed by no key of the centre's: well formed, so refused for its
// signature, not its size.
func jwsOfLength(t *testing.T, n int) string {
	t.Helper()
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"EdDSA","typ":"hpf-ecard+jwt","kid":"not-a-centre-key"}`))
	for pad := 0; pad < n; pad++ {
		claims := enc.EncodeToString([]byte(`{"sub":"s","jti":"j","iat":1,"exp":2,"pad":"` + strings.Repeat("x", pad) + `"}`))
		sig := n - len(head) - len(claims) - 2
		if sig >= 86 && sig%4 != 1 {
			return head + "." + claims + "." + strings.Repeat("A", sig)
		}
	}
	t.Fatalf("no JWS of %d bytes", n)
	return ""
}
