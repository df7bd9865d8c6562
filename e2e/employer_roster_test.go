package e2e

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"handheld/services/coresim"
)

// staffPage is GET /api/v1/employer/staff as a test reads it.
type staffPage struct {
	Items []struct {
		StaffID  string `json:"staff_id"`
		Name     string `json:"name"`
		IDNumber string `json:"id_number"`
		Status   string `json:"status"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
	Total      int    `json:"total"`
}

// unitPersona is a seeded unit's operator by operator id (shop01, yunqi01).
func (e *env) unitPersona(operatorID string) coresim.Persona {
	e.t.Helper()
	for _, p := range e.sim.UnitPersonas() {
		if p.OperatorID == operatorID {
			return p
		}
	}
	e.t.Fatalf("no unit operator %q", operatorID)
	return coresim.Persona{}
}

func (e *env) staffPage(tok, query string) staffPage {
	e.t.Helper()
	r := e.do("GET", "/api/v1/employer/staff"+query, nil, bearer(tok))
	if r.StatusCode != 200 {
		e.t.Fatalf("staff%s: %d %s", query, r.StatusCode, r.body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		e.t.Errorf("Cache-Control %q", cc)
	}
	var p staffPage
	r.json(e.t, &p)
	return p
}

func TestEmployerRosterIsMaskedPagedAndSearched(t *testing.T) {
	e := start(t)
	yunqi := e.loginEmployer(e.unitPersona("yunqi01")).AccessToken

	first := e.staffPage(yunqi, "")
	if first.Total != 50 || len(first.Items) != 20 || first.NextCursor == "" {
		t.Fatalf("first page: total %d, %d items, cursor %q", first.Total, len(first.Items), first.NextCursor)
	}
	for _, it := range first.Items {
		if !strings.Contains(it.IDNumber, "*") || !strings.Contains(it.Name, "*") || len(it.IDNumber) != 18 {
			t.Fatalf("not masked: %+v", it)
		}
	}
	second := e.staffPage(yunqi, "?cursor="+url.QueryEscape(first.NextCursor))
	if len(second.Items) != 20 || second.Items[0].StaffID == first.Items[0].StaffID {
		t.Fatalf("second page repeats the first: %+v", second.Items[0])
	}
	sealed := e.staffPage(yunqi, "?status=02")
	if sealed.Total != 1 || sealed.Items[0].Status != "02" {
		t.Fatalf("sealed: %+v", sealed)
	}

	// Search by the ID number's last digits: reveal one (audited), then find it.
	target := first.Items[3]
	r := e.do("POST", "/api/v1/employer/staff/"+target.StaffID+"/reveal", map[string]string{"reason": "payroll"}, bearer(yunqi))
	var revealed struct {
		StaffID  string `json:"staff_id"`
		IDNumber string `json:"id_number"`
	}
	r.json(t, &revealed)
	if r.StatusCode != 200 || len(revealed.IDNumber) != 18 || strings.Contains(revealed.IDNumber, "*") ||
		revealed.IDNumber[14:] != target.IDNumber[14:] || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("reveal %d %s", r.StatusCode, r.body)
	}
	found := e.staffPage(yunqi, "?q="+revealed.IDNumber[12:])
	if found.Total < 1 || !containsStaff(found, target.StaffID) {
		t.Fatalf("search by ID tail: %+v", found)
	}
	// By name prefix: the surname every masked name still shows.
	surname := string([]rune(target.Name)[:1])
	byName := e.staffPage(yunqi, "?q="+url.QueryEscape(surname))
	if !containsStaff(byName, target.StaffID) {
		t.Fatalf("search by surname %q: %+v", surname, byName)
	}
	for _, it := range byName.Items {
		if !strings.HasPrefix(it.Name, surname) {
			t.Fatalf("search by %q answered %q", surname, it.Name)
		}
	}

	r = e.do("GET", "/api/v1/employer/staff/"+target.StaffID, nil, bearer(yunqi))
	if r.StatusCode != 200 || !strings.Contains(string(r.body), target.IDNumber) {
		t.Fatalf("member %d %s", r.StatusCode, r.body)
	}
	if strings.Contains(string(r.body), revealed.IDNumber) {
		t.Fatalf("the member answer carries the full ID number: %s", r.body)
	}
	if strings.Contains(e.logs.String(), revealed.IDNumber) {
		t.Fatal("the full ID number reached the logs")
	}
}

func containsStaff(p staffPage, id string) bool {
	for _, it := range p.Items {
		if it.StaffID == id {
			return true
		}
	}
	return false
}

// TestEmployerRosterAttacks: another unit's staff, other roles, malformed
// queries and bodies, cursors from elsewhere.
func TestEmployerRosterAttacks(t *testing.T) {
	// Refused reveals count too; this test is about what is refused.
	e := start(t, withPolicy("staff_reveal_subject", 100, 100, time.Hour))
	shopOp := e.unitPersona("shop01")
	shop := e.loginEmployer(shopOp).AccessToken
	yunqiOp := e.unitPersona("yunqi01")
	yunqi := e.loginEmployer(yunqiOp).AccessToken
	shopPage := e.staffPage(shop, "")
	if shopPage.Total != 3 {
		t.Fatalf("shop01 staff: %+v", shopPage)
	}
	theirs := shopPage.Items[0].StaffID

	// Another unit's person is not found, on every route, like no one.
	wantProblem(t, e.do("GET", "/api/v1/employer/staff/"+theirs, nil, bearer(yunqi)), 404, "staff.not_found")
	wantProblem(t, e.do("POST", "/api/v1/employer/staff/"+theirs+"/reveal", map[string]string{"reason": "payroll"}, bearer(yunqi)), 404, "staff.not_found")
	wantProblem(t, e.do("GET", "/api/v1/employer/staff/P9999999999", nil, bearer(yunqi)), 404, "staff.not_found")
	wantProblem(t, e.bad().do("GET", "/api/v1/employer/staff/P3%2F..%2Fx", nil, bearer(yunqi)), 404, "staff.not_found")
	// The search never crosses units either.
	if p := e.staffPage(yunqi, "?q="+url.QueryEscape(string([]rune(shopPage.Items[0].Name)[:1]))); containsStaff(p, theirs) {
		t.Fatal("another unit's person found by search")
	}

	// Another unit's, or another query's, cursor.
	page := e.staffPage(yunqi, "?limit=5")
	r := e.do("GET", "/api/v1/employer/staff?limit=5&cursor="+url.QueryEscape(page.NextCursor), nil, bearer(shop))
	wantField(t, r, "cursor")
	r = e.do("GET", "/api/v1/employer/staff?status=01&limit=5&cursor="+url.QueryEscape(page.NextCursor), nil, bearer(yunqi))
	wantField(t, r, "cursor")

	// Malformed queries.
	for q, field := range map[string]string{
		"?q=" + url.QueryEscape("张%"): "q", "?q=123": "q", "?q=" + url.QueryEscape("_"): "q",
		"?limit=101": "limit", "?limit=0": "limit", "?limit=x": "limit",
	} {
		wantField(t, e.bad().do("GET", "/api/v1/employer/staff"+q, nil, bearer(yunqi)), field)
	}
	wantField(t, e.bad().do("GET", "/api/v1/employer/staff?status=sealed", nil, bearer(yunqi)), "status")

	// Malformed reveal bodies.
	mine := page.Items[0].StaffID
	reveal := "/api/v1/employer/staff/" + mine + "/reveal"
	wantField(t, e.bad().do("POST", reveal, map[string]string{"reason": "curious"}, bearer(yunqi)), "reason")
	wantField(t, e.bad().do("POST", reveal, map[string]string{}, bearer(yunqi)), "reason")
	wantProblem(t, e.bad().do("POST", reveal, map[string]string{"reason": "payroll", "extra": "x"}, bearer(yunqi)), 400, "request.unknown_field")
	wantProblem(t, e.bad().do("POST", reveal, `{"reason":`, bearer(yunqi)), 400, "request.malformed_json")
	e.wantTooLarge(reveal, bearer(yunqi))
	h := bearer(yunqi)
	h.Set("Content-Type", "text/plain")
	wantProblem(t, e.bad().do("POST", reveal, `{"reason":"payroll"}`, h), 415, "request.unsupported_media_type")

	// Other roles, and no token.
	dep := e.bindWeChat("oRoster000000001", e.persona("depositor", "李娜")).AccessToken
	wantProblem(t, e.do("GET", "/api/v1/employer/staff", nil, bearer(dep)), 403, "auth.forbidden")
	wantProblem(t, e.do("POST", reveal, map[string]string{"reason": "payroll"}, bearer(dep)), 403, "auth.forbidden")
	wantProblem(t, e.bad().do("GET", "/api/v1/employer/staff", nil, nil), 401, "auth.token_missing")
}

// TestEmployerRevealIsLimitedTighter: reveals run out long before reads.
func TestEmployerRevealIsLimitedTighter(t *testing.T) {
	e := start(t, withPolicy("staff_reveal_subject", 2, 2, time.Hour))
	yunqi := e.loginEmployer(e.unitPersona("yunqi01")).AccessToken
	page := e.staffPage(yunqi, "?limit=3")
	for i, it := range page.Items {
		r := e.do("POST", "/api/v1/employer/staff/"+it.StaffID+"/reveal", map[string]string{"reason": "correction"}, bearer(yunqi))
		want := http.StatusOK
		if i == 2 {
			want = http.StatusTooManyRequests
		}
		if r.StatusCode != want {
			t.Fatalf("reveal %d: %d %s", i+1, r.StatusCode, r.body)
		}
	}
	e.staffPage(yunqi, "?limit=3") // reads go on
}

// wantTooLarge posts a body over the limit to path. The server answers
// 413 from the Content-Length and closes, so the client may still be
// writing and see a reset instead of the answer (TestBodyLimit): try again.
func (e *env) wantTooLarge(path string, h http.Header) {
	e.t.Helper()
	body := `{"pad":"` + strings.Repeat("x", 64<<10+1) + `"}`
	for try := 0; ; try++ {
		req, _ := http.NewRequest("POST", e.base+path, strings.NewReader(body))
		req.Header = h.Clone()
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			if try == 9 {
				e.t.Fatal(err)
			}
			continue
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantProblem(e.t, &response{Response: resp, body: got}, 413, "request.too_large")
		return
	}
}

func wantField(t *testing.T, r *response, field string) {
	t.Helper()
	if r.StatusCode != 400 {
		t.Fatalf("status %d, want 400 on %s: %s", r.StatusCode, field, r.body)
	}
	p := r.problem(t)
	for _, f := range p.Errors {
		if f.Field == field {
			return
		}
	}
	t.Fatalf("no field error on %s: %s", field, r.body)
}
