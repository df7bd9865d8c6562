package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"handheld/services/core"
)

type basesAnswer struct {
	UnitRateBP     int    `json:"unit_rate_bp"`
	PersonalRateBP int    `json:"personal_rate_bp"`
	BasesChanged   int    `json:"bases_changed"`
	Rounding       string `json:"rounding"`
	Items          []struct {
		StaffID     string `json:"staff_id"`
		BaseFen     int64  `json:"base_fen"`
		PersonalFen int64  `json:"personal_fen"`
		UnitFen     int64  `json:"unit_fen"`
		TotalFen    int64  `json:"total_fen"`
	} `json:"items"`
}

func withKey(tok, key string) http.Header {
	h := bearer(tok)
	h.Set("Idempotency-Key", key)
	return h
}

type baseLine struct {
	StaffID string `json:"staff_id"`
	BaseFen int64  `json:"base_fen"`
}

func TestEmployerBasesChangeAndAnswerExactAmounts(t *testing.T) {
	e := start(t)
	shop := e.loginEmployer(e.unitPersona("shop01")).AccessToken
	staff := e.staffPage(shop, "")
	if len(staff.Items) != 3 {
		t.Fatalf("shop01 staff %+v", staff)
	}
	one := staff.Items[0].StaffID

	// One person: 5 % of 300 010 fen is 15 000.5, half up 15 001.
	body := map[string]any{"bases": []baseLine{{one, 300_010}}}
	r := e.do("POST", "/api/v1/employer/bases", body, withKey(shop, "bases-1"))
	var got basesAnswer
	r.json(t, &got)
	if r.StatusCode != 200 || got.BasesChanged != 1 || len(got.Items) != 1 || got.Rounding != "half_up_per_person_and_side" {
		t.Fatalf("adjust %d %s", r.StatusCode, r.body)
	}
	if it := got.Items[0]; it.PersonalFen != 15_001 || it.UnitFen != 15_001 || it.TotalFen != 30_002 || got.UnitRateBP != 500 {
		t.Fatalf("amounts %s", r.body)
	}
	// The roster shows it (this person was not read before, so no cache).
	r = e.do("GET", "/api/v1/employer/staff/"+one, nil, bearer(shop))
	var member struct {
		BaseFen            int64 `json:"base_fen"`
		MonthlyPersonalFen int64 `json:"monthly_personal_fen"`
	}
	r.json(t, &member)
	if member.BaseFen != 300_010 || member.MonthlyPersonalFen != core.ShareOf(300_010, 500) {
		t.Fatalf("member after adjust: %s", r.body)
	}

	// The same key and body again: the first answer, replayed, not applied twice.
	r = e.do("POST", "/api/v1/employer/bases", body, withKey(shop, "bases-1"))
	if r.StatusCode != 200 || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %d %s", r.StatusCode, r.body)
	}
	// The same key with another body.
	wantProblem(t, e.do("POST", "/api/v1/employer/bases", map[string]any{"bases": []baseLine{{one, 300_020}}}, withKey(shop, "bases-1")),
		422, "idempotency.key_reused")

	// Everyone and the rates, in one call.
	var all []baseLine
	for i, it := range staff.Items {
		all = append(all, baseLine{it.StaffID, 260_000 + int64(i)*7})
	}
	r = e.do("POST", "/api/v1/employer/bases", map[string]any{"unit_rate_bp": 700, "personal_rate_bp": 700, "bases": all}, withKey(shop, "bases-2"))
	r.json(t, &got)
	if r.StatusCode != 200 || got.UnitRateBP != 700 || got.PersonalRateBP != 700 || len(got.Items) != 3 {
		t.Fatalf("adjust all %d %s", r.StatusCode, r.body)
	}
	for i, it := range got.Items {
		if it.BaseFen != all[i].BaseFen || it.PersonalFen != core.ShareOf(all[i].BaseFen, 700) || it.TotalFen != 2*it.PersonalFen {
			t.Fatalf("line %d: %+v", i, it)
		}
	}
}

// TestEmployerBasesAttacks: bad lines named one by one, another unit's
// staff, other roles, missing keys, malformed and oversized bodies, the
// same request twice at once.
func TestEmployerBasesAttacks(t *testing.T) {
	e := start(t)
	shop := e.loginEmployer(e.unitPersona("shop01")).AccessToken
	yunqi := e.loginEmployer(e.unitPersona("yunqi01")).AccessToken
	mine := e.staffPage(shop, "").Items
	theirs := e.staffPage(yunqi, "?limit=1").Items[0].StaffID

	r := e.do("POST", "/api/v1/employer/bases", map[string]any{"bases": []baseLine{
		{mine[0].StaffID, 300_000}, {mine[1].StaffID, 100}, {mine[2].StaffID, 99_999_999}, {mine[0].StaffID, 300_000}}}, withKey(shop, "bad-1"))
	if r.StatusCode != 400 {
		t.Fatalf("bad lines %d %s", r.StatusCode, r.body)
	}
	p := r.problem(t)
	var fields []string
	for _, f := range p.Errors {
		fields = append(fields, f.Field+":"+f.Code)
	}
	if got := strings.Join(fields, ","); got != "bases.3.staff_id:duplicate,bases.1.base_fen:out_of_range,bases.2.base_fen:out_of_range" {
		t.Fatalf("fields %s: %s", got, r.body)
	}
	// The key is free again after a refusal: corrected, the same key works.
	r = e.do("POST", "/api/v1/employer/bases", map[string]any{"bases": []baseLine{{mine[1].StaffID, 250_000}}}, withKey(shop, "bad-1"))
	if r.StatusCode != 200 {
		t.Fatalf("corrected %d %s", r.StatusCode, r.body)
	}

	for name, tc := range map[string]struct {
		body  map[string]any
		field string
	}{
		"rate above 12 %": {map[string]any{"unit_rate_bp": 1300, "personal_rate_bp": 1300}, "unit_rate_bp"},
		"unequal rates":   {map[string]any{"unit_rate_bp": 800, "personal_rate_bp": 1000}, "personal_rate_bp"},
		"one rate alone":  {map[string]any{"unit_rate_bp": 800}, "unit_rate_bp"},
		"nothing":         {map[string]any{}, "bases"},
	} {
		r := e.do("POST", "/api/v1/employer/bases", tc.body, withKey(shop, "k-"+name))
		if r.StatusCode != 400 {
			t.Fatalf("%s: %d %s", name, r.StatusCode, r.body)
		}
		wantField(t, r, tc.field)
	}

	// Another unit's person: not found, and nothing applied.
	wantProblem(t, e.do("POST", "/api/v1/employer/bases", map[string]any{"bases": []baseLine{{mine[2].StaffID, 270_000}, {theirs, 300_000}}},
		withKey(shop, "cross-1")), 404, "staff.not_found")
	r = e.do("GET", "/api/v1/employer/staff/"+mine[2].StaffID, nil, bearer(shop))
	if strings.Contains(string(r.body), `"base_fen":270000`) {
		t.Fatalf("half applied: %s", r.body)
	}

	// Keys, bodies, roles.
	wantProblem(t, e.bad().do("POST", "/api/v1/employer/bases", map[string]any{"bases": []baseLine{{mine[0].StaffID, 300_000}}}, bearer(shop)),
		400, "idempotency.key_missing")
	wantProblem(t, e.bad().do("POST", "/api/v1/employer/bases", `{"bases":[{"staff_id":"P1","base_fen":"3e5"}]}`, withKey(shop, "m-1")), 400, "request.invalid")
	wantProblem(t, e.bad().do("POST", "/api/v1/employer/bases", `{"bases":`, withKey(shop, "m-2")), 400, "request.malformed_json")
	wantProblem(t, e.bad().do("POST", "/api/v1/employer/bases", map[string]any{"bases": []baseLine{{mine[0].StaffID, 300_000}}, "unit_code": "x"},
		withKey(shop, "m-3")), 400, "request.unknown_field")
	e.wantTooLarge("/api/v1/employer/bases", withKey(shop, "m-4"))
	var many []baseLine
	for i := range core.MaxBaseChanges + 1 {
		many = append(many, baseLine{fmt.Sprintf("P%d", i), 300_000})
	}
	wantField(t, e.bad().do("POST", "/api/v1/employer/bases", map[string]any{"bases": many}, withKey(shop, "m-5")), "bases")
	dep := e.bindWeChat("oBases0000000001", e.persona("depositor", "李娜")).AccessToken
	wantProblem(t, e.do("POST", "/api/v1/employer/bases", map[string]any{"bases": []baseLine{{mine[0].StaffID, 300_000}}}, withKey(dep, "d-1")),
		403, "auth.forbidden")

	// Twice at once with one key: applied once; the other waits its turn
	// (409 in flight) or gets the same answer replayed.
	body := map[string]any{"bases": []baseLine{{mine[0].StaffID, 280_000}}}
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.do("POST", "/api/v1/employer/bases", body, withKey(shop, "twice")).StatusCode
		}()
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		switch c {
		case 200:
			ok++
		case 409:
		default:
			t.Fatalf("twice at once: %v", codes)
		}
	}
	if ok == 0 {
		t.Fatalf("twice at once: %v", codes)
	}
}
