package e2e

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services/hours"
)

type serviceItem struct {
	Code                string   `json:"code"`
	Name                string   `json:"name"`
	Roles               []string `json:"roles"`
	Channels            []string `json:"channels"`
	PromisedWorkingDays int      `json:"promised_working_days"`
	Hours               []struct {
		Channel string   `json:"channel"`
		Open    bool     `json:"open"`
		Windows []string `json:"windows"`
	} `json:"hours"`
}

// The catalogue over the real app: public, validated against the
// contract, cacheable; its switches close the routes they name and the
// published hours say so; a rent application is due by the catalogue's
// promise, and the case list shows that date.
func TestServiceCatalogue(t *testing.T) {
	t.Parallel()
	e := start(t, fastWithdrawals, func(c *bff.Config) {
		c.Catalogue.Switches = hours.Policy{hours.Employer: {"app": {Off: true}}}
	})

	r := e.do("GET", "/api/v1/services?role=employer", nil, nil)
	if r.StatusCode != 200 || r.Header.Get("ETag") == "" || r.Header.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("list %d %v %s", r.StatusCode, r.Header, r.body)
	}
	var list struct {
		Version string        `json:"version"`
		Items   []serviceItem `json:"items"`
	}
	r.json(t, &list)
	i := slices.IndexFunc(list.Items, func(s serviceItem) bool { return s.Code == "employer.staff_join" })
	if i < 0 || list.Version == "" || len(list.Items[i].Hours) != 1 || list.Items[i].Hours[0].Open {
		t.Fatalf("employer.staff_join should be published closed on the app: %s", r.body)
	}
	if again := e.do("GET", "/api/v1/services?role=employer", nil, http.Header{"If-None-Match": {r.Header.Get("ETag")}}); again.StatusCode != 304 || len(again.body) != 0 {
		t.Fatalf("revalidation %d %s", again.StatusCode, again.body)
	}
	wantProblem(t, e.bad().do("GET", "/api/v1/services?channel=tv", nil, nil), 400, "request.invalid")
	wantProblem(t, e.do("GET", "/api/v1/services/withdrawal.renting", nil, nil), 404, "not_found")

	emp := e.loginEmployer(e.persona("employer", ""))
	wantProblem(t, e.do("GET", "/api/v1/employer/unit", nil, bearer(emp.AccessToken)), 503, "service.closed")

	one := e.do("GET", "/api/v1/services/withdrawal.rent", nil, http.Header{"Accept-Language": {"en"}})
	var rentItem serviceItem
	one.json(t, &rentItem)
	if one.StatusCode != 200 || rentItem.Name != "Rent withdrawal" || rentItem.PromisedWorkingDays != 1 {
		t.Fatalf("rent %d %s", one.StatusCode, one.body)
	}
	lina := e.persona("depositor", "李娜")
	tok := e.bindWeChat("o-lina-catalogue", lina).AccessToken
	applied := e.apply(tok, "lina-catalogue-rent", rent(100_000, payoutTo(t, lina, "bank_card")))
	var acc accepted
	applied.json(t, &acc)
	if want := workingDaysAfter(time.Now(), rentItem.PromisedWorkingDays); applied.StatusCode != 202 || acc.DueOn != want {
		t.Fatalf("applied %d, due %q, want %s (the catalogue's promise): %s", applied.StatusCode, acc.DueOn, want, applied.body)
	}
	cases := e.meGet("/api/v1/me/applications", tok)
	var page struct {
		Items []struct {
			ID    string `json:"id"`
			DueOn string `json:"due_on"`
		} `json:"items"`
	}
	cases.json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != acc.ID || page.Items[0].DueOn != acc.DueOn {
		t.Fatalf("cases %s", cases.body)
	}
}

// workingDaysAfter is n working days (Monday to Friday; the default
// policies have no holidays) after at, in Asia/Shanghai.
func workingDaysAfter(at time.Time, n int) string {
	d := at.In(time.FixedZone("CST", 8*3600))
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
			n--
		}
	}
	return d.Format(time.DateOnly)
}
