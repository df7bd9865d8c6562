package e2e

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"handheld/services/coresim"
)

// The depositor's own screens (services/account, bff/miniapp/account.go).
var meRoutes = []string{"/api/v1/me/home", "/api/v1/me/account", "/api/v1/me/deposits", "/api/v1/me/loan", "/api/v1/me/loan/schedule"}

// unmaskedAccountNumber matches a seeded account number shown whole.
var unmaskedAccountNumber = regexp.MustCompile(`3301[0-9]{8}`)

// meGet reads one screen as tok, checking what every /me answer shares.
func (e *env) meGet(path, tok string, header ...http.Header) *response {
	e.t.Helper()
	h := bearer(tok)
	for _, extra := range header {
		for k, v := range extra {
			h[k] = v
		}
	}
	r := e.do("GET", path, nil, h)
	if r.StatusCode == 200 && r.Header.Get("Cache-Control") != "no-store" {
		e.t.Errorf("GET %s: Cache-Control %q, want no-store", path, r.Header.Get("Cache-Control"))
	}
	return r
}

// wantNoPersonalData fails if a body carries a persona's name or ID number
// whole, or an account number unmasked.
func wantNoPersonalData(t *testing.T, path string, body []byte, ps ...coresim.Persona) {
	t.Helper()
	for _, p := range ps {
		for _, secret := range []string{p.Name, p.IDNumber} {
			if strings.Contains(string(body), secret) {
				t.Errorf("%s carries %q whole: %s", path, secret, body)
			}
		}
	}
	if unmaskedAccountNumber.Match(body) {
		t.Errorf("%s carries an unmasked account number: %s", path, body)
	}
}

type accountScreen struct {
	Holder struct {
		Name     string `json:"name"`
		IDNumber string `json:"id_number"`
	} `json:"holder"`
	AccountNumber string `json:"account_number"`
	Status        string `json:"status"`
	StatusLabel   string `json:"status_label"`
	BalanceFen    int64  `json:"balance_fen"`
	EmployerName  string `json:"employer_name"`
	Stale         bool   `json:"stale"`
	AsOf          string `json:"as_of"`
}

type page struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Items []struct {
		ID     string `json:"id"`
		Month  string `json:"month"`
		Period int    `json:"period"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

type homeScreen struct {
	Holder  *struct{ Name string } `json:"holder"`
	Account *struct {
		AccountNumber string `json:"account_number"`
		BalanceFen    int64  `json:"balance_fen"`
	} `json:"account"`
	ECard *struct{ Available bool } `json:"ecard"`
	Loan  *struct {
		HasLoan bool `json:"has_loan"`
	} `json:"loan"`
	Applications []any    `json:"applications"`
	Degraded     []string `json:"degraded"`
	Notice       string   `json:"notice"`
}

func TestAccountScreensOverWeChat(t *testing.T) {
	t.Parallel()
	e := start(t)
	zhang := e.persona("depositor", "张伟")
	tok := e.bindWeChat("oAcctZhang00001", zhang).AccessToken

	var acc accountScreen
	r := e.meGet("/api/v1/me/account", tok)
	r.json(t, &acc)
	if r.StatusCode != 200 || acc.Holder.Name != "张*" || acc.Holder.IDNumber != zhang.IDNumber[:3]+"***********"+zhang.IDNumber[14:] ||
		!regexp.MustCompile(`^3301\*{4}[0-9]{4}$`).MatchString(acc.AccountNumber) || acc.Status != "01" || acc.StatusLabel != "正常" ||
		acc.BalanceFen <= 0 || acc.EmployerName == "" || acc.AsOf == "" || acc.Stale {
		t.Fatalf("account %d %s", r.StatusCode, r.body)
	}
	r = e.meGet("/api/v1/me/account?lang=en", tok)
	if r.json(t, &acc); acc.StatusLabel != "normal" || r.Header.Get("Content-Language") != "en" {
		t.Errorf("english account: %s", r.body)
	}

	var loan struct {
		HasLoan      bool   `json:"has_loan"`
		Months       int    `json:"months"`
		Method       string `json:"method"`
		AnnualRateBP int    `json:"annual_rate_bp"`
		Outstanding  int64  `json:"outstanding_fen"`
		NextDueOn    string `json:"next_due_on"`
	}
	r = e.meGet("/api/v1/me/loan", tok)
	if r.json(t, &loan); r.StatusCode != 200 || !loan.HasLoan || loan.Months != 360 || loan.Method != "annuity" ||
		loan.AnnualRateBP != 285 || loan.Outstanding <= 0 || loan.Outstanding >= 80_000_000 || loan.NextDueOn == "" {
		t.Fatalf("loan %d %s", r.StatusCode, r.body)
	}

	// The plan pages by period with a sealed cursor.
	var p1, p2 page
	e.meGet("/api/v1/me/loan/schedule", tok).json(t, &p1)
	if len(p1.Items) != 20 || p1.Items[0].Period != 1 || p1.NextCursor == "" {
		t.Fatalf("schedule page 1: %d items, cursor %q", len(p1.Items), p1.NextCursor)
	}
	e.meGet("/api/v1/me/loan/schedule?limit=100&cursor="+p1.NextCursor, tok).json(t, &p2)
	if len(p2.Items) != 100 || p2.Items[0].Period != 21 {
		t.Fatalf("schedule page 2: %d items from period %d", len(p2.Items), p2.Items[0].Period)
	}

	// Deposits default to the last 12 months, Shanghai time, and page.
	now := time.Now().In(time.FixedZone("CST", 8*3600))
	month := time.Date(now.Year(), now.Month(), 1, 12, 0, 0, 0, now.Location())
	var d1, d2 page
	e.meGet("/api/v1/me/deposits?limit=5", tok).json(t, &d1)
	if d1.To != month.Format("2006-01") || d1.From != month.AddDate(0, -11, 0).Format("2006-01") ||
		len(d1.Items) != 5 || d1.NextCursor == "" {
		t.Fatalf("deposits page 1: %+v", d1)
	}
	e.meGet("/api/v1/me/deposits?limit=5&cursor="+d1.NextCursor, tok).json(t, &d2)
	if len(d2.Items) == 0 || d2.Items[0].ID == d1.Items[0].ID || d2.Items[0].Month > d1.Items[4].Month {
		t.Fatalf("deposits page 2: %+v", d2)
	}
	var all page
	e.meGet("/api/v1/me/deposits?from="+month.AddDate(-9, 0, 0).Format("2006-01")+"&limit=100", tok).json(t, &all)
	if len(all.Items) < 60 {
		t.Errorf("five years of deposits: %d entries", len(all.Items))
	}

	var home homeScreen
	r = e.meGet("/api/v1/me/home", tok)
	if r.json(t, &home); r.StatusCode != 200 || home.Holder == nil || home.Holder.Name != "张*" || home.Account == nil ||
		home.Account.AccountNumber != acc.AccountNumber || home.ECard == nil || !home.ECard.Available || home.Loan == nil ||
		!home.Loan.HasLoan || len(home.Degraded) != 0 || home.Applications == nil || home.Notice != "" {
		t.Fatalf("home %d %s", r.StatusCode, r.body)
	}

	for _, path := range meRoutes {
		wantNoPersonalData(t, path, e.meGet(path, tok).body, zhang)
	}
}

func TestAccountScreensAtAKiosk(t *testing.T) {
	t.Parallel()
	e := start(t)
	zhang := e.persona("depositor", "张伟")
	citizen := e.loginKiosk(e.deviceToken(), zhang).AccessToken
	for _, path := range meRoutes {
		r := e.meGet(path, citizen)
		if r.StatusCode != 200 {
			t.Fatalf("%s at a kiosk: %d %s", path, r.StatusCode, r.body)
		}
		wantNoPersonalData(t, path, r.body, zhang)
	}
	// The default policy shows a kiosk a little more of the account number.
	var acc accountScreen
	e.meGet("/api/v1/me/account", citizen).json(t, &acc)
	if !regexp.MustCompile(`^33010\*{3}[0-9]{4}$`).MatchString(acc.AccountNumber) || acc.Holder.Name != "张*" {
		t.Fatalf("kiosk account: %+v", acc)
	}
}

func TestWithoutALoan(t *testing.T) {
	t.Parallel()
	e := start(t)
	tok := e.bindWeChat("oAcctLiNa000001", e.persona("depositor", "李娜")).AccessToken
	var loan map[string]any
	r := e.meGet("/api/v1/me/loan", tok)
	r.json(t, &loan)
	keys := make([]string, 0, len(loan))
	for k := range loan {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if r.StatusCode != 200 || loan["has_loan"] != false || !slices.Equal(keys, []string{"as_of", "has_loan", "stale"}) {
		t.Fatalf("no loan: %d %s", r.StatusCode, r.body)
	}
	var plan page
	if e.meGet("/api/v1/me/loan/schedule", tok).json(t, &plan); len(plan.Items) != 0 || plan.NextCursor != "" {
		t.Fatalf("no loan, plan %+v", plan)
	}
	r = e.meGet("/api/v1/me/home", tok)
	if !strings.Contains(string(r.body), `"loan":{"has_loan":false}`) {
		t.Fatalf("home without a loan: %s", r.body)
	}
}

func TestDepositQueryErrors(t *testing.T) {
	t.Parallel()
	e := start(t)
	tok := e.bindWeChat("oAcctErrors0001", e.persona("depositor", "李娜")).AccessToken
	cases := []struct{ query, field, code string }{
		{"from=2025-02&to=2025-01", "from", "out_of_range"},
		{"from=2010-01&to=2025-01", "from", "out_of_range"}, // more than 10 years
		{"from=2024-13", "from", "format"},
		{"to=2024-1", "to", "format"},
		{"to=last-month", "to", "format"},
		{"limit=0", "limit", "out_of_range"},
		{"limit=101", "limit", "out_of_range"},
		{"limit=ten", "limit", "not_a_number"},
		{"cursor=not-a-cursor", "cursor", "format"},
	}
	for _, tc := range cases {
		r := e.bad().meGet("/api/v1/me/deposits?"+tc.query, tok)
		wantProblem(t, r, 400, "request.invalid")
		if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != tc.field || p.Errors[0].Code != tc.code || p.Errors[0].Message == "" {
			t.Errorf("%s: %+v", tc.query, p.Errors)
		}
	}
	r := e.bad().meGet("/api/v1/me/deposits?from=x&to=y&limit=0", tok)
	if p := r.problem(t); len(p.Errors) != 3 {
		t.Errorf("every bad field at once: %+v", p.Errors)
	}
	wantProblem(t, e.bad().meGet("/api/v1/me/loan/schedule?limit=101", tok), 400, "request.invalid")
	wantProblem(t, e.meGet("/api/v1/me/deposits?from=2010-01&to=2020-01", tok), 400, "request.invalid")
	if r := e.meGet("/api/v1/me/deposits?from=2015-02&to=2025-01", tok); r.StatusCode != 200 {
		t.Errorf("exactly ten years: %d %s", r.StatusCode, r.body)
	}
}

// A person the core knows without an HPF account can sign in at a kiosk
// (the face check passes) but has no account screens.
// A person without an account does not sign in at a kiosk, and is told
// exactly what a wrong face is told: the kiosk must not reveal who has an
// account (issue #12; TestSignInRevealsNobody compares the answers).
func TestNoAccountAtAKiosk(t *testing.T) {
	t.Parallel()
	e := start(t)
	chen := e.persona("person", "陈静")
	r := e.do("POST", "/api/v1/auth/kiosk", map[string]string{"name": chen.Name, "id_number": chen.IDNumber, "face_token": chen.FaceToken},
		bearer(e.deviceToken()))
	wantProblem(t, r, 401, "auth.face_mismatch")
}

func TestMeRoutesRefuseOtherRoles(t *testing.T) {
	t.Parallel()
	e := start(t)
	employer := e.loginEmployer(e.persona("employer", "")).AccessToken
	device := e.deviceToken()
	for _, path := range meRoutes {
		wantProblem(t, e.meGet(path, employer), 403, "auth.forbidden")
		wantProblem(t, e.meGet(path, device), 403, "auth.forbidden")
		wantProblem(t, e.bad().do("GET", path, nil, nil), 401, "auth.token_missing")
	}
}

// A slow loan system leaves the loan out of the home screen, in time, and
// says so; the rest of the screen is there.
func TestHomeDegradesWhenTheLoanSystemIsSlow(t *testing.T) {
	e := start(t)
	tok := e.bindWeChat("oAcctDegrade001", e.persona("depositor", "张伟")).AccessToken
	e.setFaults("loan=latency:4s")
	began := time.Now()
	var home homeScreen
	r := e.meGet("/api/v1/me/home", tok)
	if took := time.Since(began); took > e.cfg.CoreTimeout+1500*time.Millisecond {
		t.Errorf("home took %s with a 4 s loan fault and a %s core timeout", took, e.cfg.CoreTimeout)
	}
	if r.json(t, &home); r.StatusCode != 200 || !slices.Equal(home.Degraded, []string{"loan"}) || home.Loan != nil ||
		home.Account == nil || home.Account.BalanceFen <= 0 || home.ECard == nil || home.Holder == nil || !strings.Contains(home.Notice, "贷款") {
		t.Fatalf("degraded home %d %s", r.StatusCode, r.body)
	}
	r = e.meGet("/api/v1/me/home?lang=en", tok)
	if r.json(t, &home); !strings.Contains(home.Notice, "loan") {
		t.Errorf("english notice: %s", r.body)
	}
	e.setFaults("")
	if e.meGet("/api/v1/me/home", tok).json(t, &home); len(home.Degraded) != 0 || home.Loan == nil {
		t.Errorf("home after the fault: %+v", home)
	}
}
