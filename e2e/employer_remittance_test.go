package e2e

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	bffemployer "handheld/bff/employer"
	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/employer"
	"handheld/services/store"
)

// bill reads a month's bill, checks it adds up to the fen and is masked,
// and returns it with its ETag.
func (e *env) bill(tok, month string) (bffemployer.BillBody, string) {
	e.t.Helper()
	r := e.do("GET", "/api/v1/employer/remittances/"+month, nil, bearer(tok))
	if r.StatusCode != 200 {
		e.t.Fatalf("bill %s: %d %s", month, r.StatusCode, r.body)
	}
	var b bffemployer.BillBody
	r.json(e.t, &b)
	var base, personal, unit int64
	for _, l := range b.Lines {
		base, personal, unit = base+l.BaseFen, personal+l.PersonalFen, unit+l.UnitFen
		if !strings.Contains(l.Name, "*") || !strings.Contains(l.IDNumber, "*") {
			e.t.Errorf("line %s is not masked: %q %q", l.StaffID, l.Name, l.IDNumber)
		}
	}
	if b.Headcount != len(b.Lines) || base != b.BaseTotalFen || personal != b.PersonalTotalFen || unit != b.UnitTotalFen ||
		b.TotalFen != personal+unit || b.AmountDueFen != b.TotalFen+b.InterestFen {
		e.t.Errorf("bill %s does not add up: %+v (lines %d, %d, %d)", month, b, base, personal, unit)
	}
	tag := r.Header.Get("ETag")
	if tag == "" || r.Header.Get("Cache-Control") != "no-store" {
		e.t.Fatalf("bill %s: ETag %q, Cache-Control %q", month, tag, r.Header.Get("Cache-Control"))
	}
	return b, tag
}

func declareHeaders(tok, key, ifMatch string) http.Header {
	h := bearer(tok)
	h.Set("Idempotency-Key", key)
	if ifMatch != "" {
		h.Set("If-Match", ifMatch)
	}
	return h
}

func TestEmployerRemittances(t *testing.T) {
	t.Parallel()
	e := start(t)
	shop := e.loginEmployer(e.unitOperator("shop01")).AccessToken
	yunqi := e.loginEmployer(e.unitOperator("yunqi01")).AccessToken
	now := time.Now().In(services.CentreTime)
	month := now.Format("2006-01")

	// The year: every month up to this one, this one open and owed.
	var year struct {
		Year  int `json:"year"`
		Items []struct {
			Month          string `json:"month"`
			Status         string `json:"status"`
			OutstandingFen int64  `json:"outstanding_fen"`
			PaidFen        int64  `json:"paid_fen"`
		} `json:"items"`
		OutstandingFen int64 `json:"outstanding_fen"`
	}
	r := e.do("GET", "/api/v1/employer/remittances", nil, bearer(shop))
	r.json(t, &year)
	if r.StatusCode != 200 || year.Year != now.Year() || len(year.Items) == 0 {
		t.Fatalf("year %d %s", r.StatusCode, r.body)
	}
	last := year.Items[len(year.Items)-1]
	if last.Month != month || last.Status != "open" || last.OutstandingFen <= 0 || year.OutstandingFen < last.OutstandingFen {
		t.Errorf("this month in the year: %+v", last)
	}

	// The bill: the shop's three people, masked, adding up.
	b, tag := e.bill(shop, month)
	if b.Headcount != 3 || b.Status != "open" || b.Kind != "regular" {
		t.Fatalf("shop bill %+v", b)
	}
	// Another unit's operator reaches only their own unit: the same path
	// is their bill, none of the shop's people on it.
	other, _ := e.bill(yunqi, month)
	shopStaff := map[string]bool{}
	for _, l := range b.Lines {
		shopStaff[l.StaffID] = true
	}
	for _, l := range other.Lines {
		if shopStaff[l.StaffID] {
			t.Fatalf("the other unit's bill names the shop's %s", l.StaffID)
		}
	}

	path := "/api/v1/employer/remittances/" + month + "/declare"
	// No If-Match: 428; a tag of another month, or a stale version: 412.
	wantProblem(t, e.bad().do("POST", path, nil, declareHeaders(shop, "k-none", "")), 428, "remittance.if_match_required")
	wantProblem(t, e.do("POST", path, nil, declareHeaders(shop, "k-other", employer.BillETag("2020-01", "r0"))), 412, "remittance.bill_changed")
	wantProblem(t, e.do("POST", path, nil, declareHeaders(shop, "k-stale", employer.BillETag(month, "r-stale"))), 412, "remittance.bill_changed")
	wantProblem(t, e.do("POST", path, nil, declareHeaders(shop, "k-weak", "W/"+tag)), 412, "remittance.bill_changed")
	// Without an Idempotency-Key: 400.
	wantProblem(t, e.bad().do("POST", path, nil, http.Header{"Authorization": {"Bearer " + shop}, "If-Match": {tag}}), 400, "idempotency.key_missing")

	// Two declarations at once with different keys: one wins, the other
	// is told the month is declared.
	var wg sync.WaitGroup
	answers := make([]*response, 2)
	for i, key := range []string{"k-race-1", "k-race-2"} {
		wg.Go(func() { answers[i] = e.do("POST", path, nil, declareHeaders(shop, key, tag)) })
	}
	wg.Wait()
	winner := -1
	for i, a := range answers {
		switch a.StatusCode {
		case 202:
			if winner >= 0 {
				t.Fatalf("both declarations won: %s / %s", answers[0].body, answers[1].body)
			}
			winner = i
		case 409:
			wantProblem(t, a, 409, "remittance.already_declared")
		default:
			t.Fatalf("declaration %d: %d %s", i, a.StatusCode, a.body)
		}
	}
	if winner < 0 {
		t.Fatalf("no declaration won: %s / %s", answers[0].body, answers[1].body)
	}
	var d bffemployer.DeclarationBody
	answers[winner].json(t, &d)
	if d.Month != month || d.Status != "pending" || d.Kind != "regular" || d.TotalFen != b.TotalFen || d.Headcount != 3 ||
		answers[winner].Header.Get("ETag") != tag {
		t.Errorf("declared %+v, ETag %q", d, answers[winner].Header.Get("ETag"))
	}
	key := []string{"k-race-1", "k-race-2"}[winner]
	// The same key again: the first answer, replayed. The same key with
	// another body or for another month: refused.
	r = e.do("POST", path, nil, declareHeaders(shop, key, tag))
	if r.StatusCode != 202 || r.Header.Get("Idempotent-Replayed") != "true" || string(r.body) != string(answers[winner].body) {
		t.Errorf("replay %d %q %s", r.StatusCode, r.Header.Get("Idempotent-Replayed"), r.body)
	}
	wantProblem(t, e.do("POST", path, map[string]any{}, declareHeaders(shop, key, tag)), 422, "idempotency.key_reused")
	prev := now.AddDate(0, -1, 0).Format("2006-01")
	wantProblem(t, e.do("POST", "/api/v1/employer/remittances/"+prev+"/declare", nil, declareHeaders(shop, key, tag)), 422, "idempotency.key_reused")
	// Declaring twice with a fresh key: the month is declared.
	wantProblem(t, e.do("POST", path, nil, declareHeaders(shop, "k-twice", tag)), 409, "remittance.already_declared")
	// An unknown field, a malformed body, an oversize one: refused before
	// anything is sent.
	wantProblem(t, e.bad().do("POST", path, map[string]any{"month": "2020-01"}, declareHeaders(shop, "k-field", tag)), 400, "request.unknown_field")
	wantProblem(t, e.bad().do("POST", path, "{", declareHeaders(shop, "k-broken", tag)), 400, "request.malformed_json")
	wantProblem(t, e.bad().do("POST", path, `{"x":"`+strings.Repeat("a", 70_000)+`"}`, declareHeaders(shop, "k-big", tag)), 413, "request.too_large")

	// The bank collects: pending, then collecting, then paid (the
	// simulator collects within a second here).
	seen := map[string]bool{}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got, gotTag := e.bill(shop, month)
		seen[got.Status] = true
		if got.TotalFen != b.TotalFen || gotTag != tag {
			t.Fatalf("the declared bill changed: %+v %s", got, gotTag)
		}
		if got.Status == "paid" {
			break
		}
	}
	// The declaration's answer said pending; on a loaded machine the
	// requests in between can outlast the collection, so the polls need
	// only see it paid.
	t.Logf("statuses seen: %v", seen)
	if !seen["paid"] {
		t.Errorf("statuses seen: %v", seen)
	}

	// The other unit's arrears, supplemented with the policy's interest.
	var arrears struct {
		InterestRateBP int `json:"interest_rate_bp"`
		Items          []struct {
			Month       string `json:"month"`
			AmountFen   int64  `json:"amount_fen"`
			DaysLate    int    `json:"days_late"`
			InterestFen int64  `json:"interest_fen"`
		} `json:"items"`
		AmountFen int64 `json:"amount_fen"`
	}
	r = e.do("GET", "/api/v1/employer/arrears", nil, bearer(yunqi))
	r.json(t, &arrears)
	if r.StatusCode != 200 || len(arrears.Items) != 2 || arrears.InterestRateBP <= 0 {
		t.Fatalf("arrears %d %s", r.StatusCode, r.body)
	}
	owed := arrears.Items[0]
	ob, otag := e.bill(yunqi, owed.Month)
	if ob.Kind != "supplement" || ob.Status != "overdue" || ob.TotalFen != owed.AmountFen || ob.InterestFen != owed.InterestFen {
		t.Errorf("overdue bill %+v against arrears %+v", ob, owed)
	}
	sup := "/api/v1/employer/remittances/" + owed.Month
	wantProblem(t, e.do("POST", sup+"/declare", nil, declareHeaders(yunqi, "y-1", otag)), 409, "remittance.overdue")
	r = e.do("POST", sup+"/supplement", nil, declareHeaders(yunqi, "y-2", otag))
	if r.StatusCode != 202 {
		t.Fatalf("supplement %d %s", r.StatusCode, r.body)
	}
	r.json(t, &d)
	if d.Kind != "supplement" || d.Status != "pending" || d.TotalFen != owed.AmountFen || d.InterestFen != owed.InterestFen {
		t.Errorf("supplemented %+v against %+v", d, owed)
	}
	_, ytag := e.bill(yunqi, month)
	wantProblem(t, e.do("POST", "/api/v1/employer/remittances/"+month+"/supplement", nil, declareHeaders(yunqi, "y-3", ytag)), 409, "remittance.not_overdue")
	// The shop's tag is no key to the other unit's bill of the same month
	// once that bill moved on; and the shop's declared month stays the shop's.
	if got, _ := e.bill(yunqi, month); got.Status != "open" {
		t.Errorf("the other unit's month is %s after the shop declared", got.Status)
	}

	// A bill that changed since it was read: the other unit reads its bill,
	// someone raises a base at the core meanwhile, and the tag read is
	// refused; the bill read again declares.
	before, staleTag := e.bill(yunqi, month)
	c, err := core.NewClient(core.ClientConfig{BaseURL: e.simURL, KeyID: "handheld", Secret: []byte(coreSecret)})
	if err != nil {
		t.Fatal(err)
	}
	line := before.Lines[0]
	if _, err := c.Adjust(t.Context(), e.unitOperator("yunqi01").UnitCode, core.Adjustment{RequestID: "e2e-raise-1",
		Bases: []core.BaseChange{{PersonID: line.StaffID, BaseFen: line.BaseFen + 10_000}}}); err != nil {
		t.Fatal(err)
	}
	ypath := "/api/v1/employer/remittances/" + month + "/declare"
	wantProblem(t, e.do("POST", ypath, nil, declareHeaders(yunqi, "y-stale", staleTag)), 412, "remittance.bill_changed")
	after, freshTag := e.bill(yunqi, month)
	if freshTag == staleTag || after.BaseTotalFen != before.BaseTotalFen+10_000 {
		t.Fatalf("after the raise: tag %s (was %s), base total %d (was %d)", freshTag, staleTag, after.BaseTotalFen, before.BaseTotalFen)
	}
	if r := e.do("POST", ypath, nil, declareHeaders(yunqi, "y-fresh", freshTag)); r.StatusCode != 202 {
		t.Fatalf("declaring the bill read again: %d %s", r.StatusCode, r.body)
	}

	// Malformed and out-of-range months and years: 400 before the core.
	next := now.AddDate(0, 1, 0).Format("2006-01")
	for _, m := range []string{"2026-13", "2026-1", "abcd-ef", "1989-12", next, "1990-01"} {
		wantProblem(t, e.bad().do("GET", "/api/v1/employer/remittances/"+m, nil, bearer(shop)), 400, "request.invalid")
		wantProblem(t, e.bad().do("POST", "/api/v1/employer/remittances/"+m+"/declare", nil, declareHeaders(shop, "k-"+m, tag)), 400, "request.invalid")
	}
	for _, y := range []string{"abc", "1989", "10000", now.AddDate(1, 0, 0).Format("2006")} {
		wantProblem(t, e.bad().do("GET", "/api/v1/employer/remittances?year="+y, nil, bearer(shop)), 400, "request.invalid")
	}

	// A depositor's token reaches none of it.
	dep := e.bindWeChat("oRemittance00001", e.persona("depositor", "张伟")).AccessToken
	for _, rq := range []struct{ method, path string }{
		{"GET", "/api/v1/employer/remittances"}, {"GET", "/api/v1/employer/remittances/" + month},
		{"POST", path}, {"POST", sup + "/supplement"}, {"GET", "/api/v1/employer/arrears"},
	} {
		wantProblem(t, e.do(rq.method, rq.path, nil, declareHeaders(dep, "k-dep", tag)), 403, "auth.forbidden")
	}

	// Every bill read and every declaration is in the audit trail.
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(t.Context(), e.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rep, err := audit.Verify(t.Context(), s); err != nil || rep.FirstBroken != 0 {
		t.Fatalf("audit chain: %+v %v", rep, err)
	}
	rows, err := s.Query(t.Context(), `SELECT action, target, result FROM audit_log WHERE action IN ('read.remittance_bill', 'remittance.declare', 'remittance.supplement', 'read.arrears', 'read.remittances')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	count := map[string]int{}
	for rows.Next() {
		var action, target, result string
		if err := rows.Scan(&action, &target, &result); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(target, "remittance") && !strings.HasPrefix(target, "arrears") {
			t.Errorf("audit target %q", target)
		}
		count[action+" "+result]++
	}
	t.Logf("audit: %v", count)
	if count["remittance.declare ok"] != 2 || count["remittance.declare error"] < 3 || count["remittance.supplement ok"] != 1 ||
		count["read.remittance_bill ok"] < 6 || count["read.arrears ok"] != 1 || count["read.remittances ok"] != 1 {
		t.Errorf("audit counts %v", count)
	}
}
