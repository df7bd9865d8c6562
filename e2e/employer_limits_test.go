package e2e

import (
	"fmt"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services/ratelimit"
)

// An operator's writes share one budget whichever write it is: joins,
// leaves and declarations under employer_write, so a script cannot flood
// the core's books through the route that happens to be unlimited.
func TestEmployerWritesShareOneLimit(t *testing.T) {
	t.Parallel()
	const limit = 3
	e := start(t, func(c *bff.Config) {
		c.RateLimits = append(bff.Defaults().RateLimits, ratelimit.Policy{Name: "employer_write_e2e",
			Key: ratelimit.KeySubject, Classes: []ratelimit.Class{ratelimit.ClassEmployerWrite}, Rate: limit, Burst: limit, Period: time.Hour})
	})
	tok := e.loginEmployer(e.unitOperator("shop01")).AccessToken
	month := time.Now().Format("2006-01")
	for i := range limit {
		join := map[string]any{"name": "限流测试", "id_number": withCheck(fmt.Sprintf("3301061995110410%d", i)), "base_fen": 500000, "start_month": month}
		if r := e.do("POST", "/api/v1/employer/staff", join, idempotent(tok, fmt.Sprintf("limit-join-%d", i))); r.StatusCode != 202 {
			t.Fatalf("join %d: %d %s", i, r.StatusCode, r.body)
		}
	}
	join := map[string]any{"name": "限流测试", "id_number": withCheck("33010619951104109"), "base_fen": 500000, "start_month": month}
	wantProblem(t, e.do("POST", "/api/v1/employer/staff", join, idempotent(tok, "limit-join-x")), 429, "rate_limited")
	h := idempotent(tok, "limit-declare")
	h.Set("If-Match", `"whatever"`)
	wantProblem(t, e.do("POST", "/api/v1/employer/remittances/"+month+"/declare", nil, h), 429, "rate_limited")
	// Reads are another class: the roster still answers.
	if r := e.do("GET", "/api/v1/employer/staff", nil, bearer(tok)); r.StatusCode != 200 {
		t.Fatalf("roster after the writes: %d %s", r.StatusCode, r.body)
	}
}

// The unit's write limit binds across its operators (the shop's
// administrator and clerk share it) but not across units.
func TestEmployerUnitWriteLimit(t *testing.T) {
	t.Parallel()
	const limit = 2
	e := start(t, func(c *bff.Config) {
		for i, p := range c.RateLimits {
			if p.Name == "employer_write_unit" {
				c.RateLimits[i].Rate, c.RateLimits[i].Burst = limit, limit
			}
		}
	})
	admin := e.loginEmployer(e.unitOperator("shop01")).AccessToken
	clerk := e.loginEmployer(e.unitOperator("shop02")).AccessToken
	firm := e.loginEmployer(e.unitOperator("yunqi01")).AccessToken
	month := time.Now().Format("2006-01")
	join := func(tok string, i int) *response {
		body := map[string]any{"name": "限流测试", "id_number": withCheck(fmt.Sprintf("3301061995110420%d", i)), "base_fen": 500000, "start_month": month}
		return e.do("POST", "/api/v1/employer/staff", body, idempotent(tok, fmt.Sprintf("unit-limit-%d", i)))
	}
	for i, tok := range []string{admin, clerk} {
		if r := join(tok, i); r.StatusCode != 202 {
			t.Fatalf("join %d: %d %s", i, r.StatusCode, r.body)
		}
	}
	wantProblem(t, join(admin, 2), 429, "rate_limited")
	if r := join(firm, 3); r.StatusCode != 202 {
		t.Fatalf("another unit's join: %d %s", r.StatusCode, r.body)
	}
}
