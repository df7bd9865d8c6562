package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/bff/employer"
	"handheld/services"
	"handheld/services/core"
	"handheld/services/coresim"
)

// unitOperator is the seeded operator of a unit (shop01: 3 staff; yunqi01:
// 50, the second sealed).
func (e *env) unitOperator(operatorID string) coresim.Persona {
	e.t.Helper()
	for _, p := range e.sim.UnitPersonas() {
		if p.OperatorID == operatorID {
			return p
		}
	}
	e.t.Fatalf("no unit operator %s", operatorID)
	return coresim.Persona{}
}

// roster reads a unit's staff straight from the simulator, as the test's
// own view of the core.
func (e *env) roster(unit string) []core.StaffMember {
	e.t.Helper()
	c, err := core.NewClient(core.ClientConfig{BaseURL: e.simURL, KeyID: "handheld", Secret: []byte(coreSecret)})
	if err != nil {
		e.t.Fatal(err)
	}
	page, err := c.Roster(context.Background(), unit, core.RosterQuery{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return page.Items
}

func idempotent(tok, key string) http.Header {
	h := bearer(tok)
	h.Set("Idempotency-Key", key)
	return h
}

// followChange polls a change until it is no longer accepted.
func (e *env) followChange(tok, id string) employer.StaffChangeBody {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := e.do("GET", "/api/v1/employer/staff-changes/"+id, nil, bearer(tok))
		if r.StatusCode != 200 {
			e.t.Fatalf("follow %s: %d %s", id, r.StatusCode, r.body)
		}
		var v employer.StaffChangeBody
		r.json(e.t, &v)
		if v.Status != "accepted" {
			return v
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("change %s still accepted", id)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func staffMember(t *testing.T, staff []core.StaffMember, status string) core.StaffMember {
	t.Helper()
	for _, m := range staff {
		if m.Status == status {
			return m
		}
	}
	t.Fatalf("no staff member with status %s", status)
	return core.StaffMember{}
}

func withCheck(first17 string) string {
	c, _ := services.IDCheckDigit(first17)
	return first17 + string(c)
}

func TestEmployerStaffChanges(t *testing.T) {
	e := start(t)
	shop := e.unitOperator("shop01")
	yunqi := e.unitOperator("yunqi01")
	shopTok := e.loginEmployer(shop).AccessToken
	yunqiTok := e.loginEmployer(yunqi).AccessToken
	shopStaff := e.roster(shop.UnitCode)
	yunqiStaff := e.roster(yunqi.UnitCode)

	// A join: accepted, replayed, followed to done at the core.
	newcomer := withCheck("33010619951104002")
	join := map[string]any{"name": "周晓雯", "id_number": newcomer, "base_fen": 500000, "start_month": time.Now().Format("2006-01")}
	r := e.do("POST", "/api/v1/employer/staff", join, idempotent(shopTok, "join-1"))
	if r.StatusCode != 202 {
		t.Fatalf("join: %d %s", r.StatusCode, r.body)
	}
	var joined employer.StaffChangeBody
	r.json(t, &joined)
	if joined.Status != "accepted" || joined.IDNumber == newcomer || joined.Name == "周晓雯" || r.Header.Get("Location") != "/api/v1/employer/staff-changes/"+joined.ID {
		t.Fatalf("join answer: %s (Location %q)", r.body, r.Header.Get("Location"))
	}
	r = e.do("POST", "/api/v1/employer/staff", join, idempotent(shopTok, "join-1"))
	var again employer.StaffChangeBody
	r.json(t, &again)
	if r.StatusCode != 202 || again.ID != joined.ID || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", r.StatusCode, r.body)
	}
	other := map[string]any{"name": "周晓雯", "id_number": newcomer, "base_fen": 600000, "start_month": join["start_month"]}
	wantProblem(t, e.do("POST", "/api/v1/employer/staff", other, idempotent(shopTok, "join-1")), 422, "idempotency.key_reused")
	done := e.followChange(shopTok, joined.ID)
	if done.Status != "done" || done.Outcome != core.OutcomeOpened || done.StaffID == "" {
		t.Fatalf("join followed: %+v", done)
	}
	if e.sim.Calls(coresim.GroupEmployer) == 0 {
		t.Fatal("the core was never called")
	}

	// Bad input, refused before anything is stored.
	bad := withCheck("33010619951104003")
	bad = bad[:17] + map[bool]string{true: "1", false: "0"}[bad[17] == '0']
	r = e.do("POST", "/api/v1/employer/staff", map[string]any{"name": "吴敏", "id_number": bad, "base_fen": 500000, "start_month": "2026-11"},
		idempotent(shopTok, "join-bad"))
	wantProblem(t, r, 400, "request.invalid")
	if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "id_number" || p.Errors[0].Code != "checksum" {
		t.Fatalf("bad check digit: %s", r.body)
	}
	wantProblem(t, e.bad().do("POST", "/api/v1/employer/staff", join, bearer(shopTok)), 400, "idempotency.key_missing")
	wantProblem(t, e.bad().do("POST", "/api/v1/employer/staff", `{"name":"x","id_number":`, idempotent(shopTok, "join-broken")), 400, "request.malformed_json")
	long := map[string]any{"name": strings.Repeat("周", 31), "id_number": newcomer, "base_fen": 500000, "start_month": "2026-11"}
	r = e.bad().do("POST", "/api/v1/employer/staff", long, idempotent(shopTok, "join-long"))
	wantProblem(t, r, 400, "request.invalid")
	if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "name" {
		t.Fatalf("oversize name: %s", r.body)
	}
	// Someone already on the unit's roster: known up front.
	member := staffMember(t, shopStaff, core.StatusNormal)
	wantProblem(t, e.do("POST", "/api/v1/employer/staff", map[string]any{"name": member.Name, "id_number": member.IDNumber,
		"base_fen": 500000, "start_month": "2026-11"}, idempotent(shopTok, "join-dup")), 409, "staff.already_employed")

	// Another unit's staff id is not found, never forbidden; a sealed
	// account cannot be sealed again.
	leave := map[string]any{"month": time.Now().Format("2006-01"), "reason": "resigned"}
	sealed := staffMember(t, yunqiStaff, core.StatusSealed)
	wantProblem(t, e.do("POST", "/api/v1/employer/staff/"+sealed.PersonID+"/leave", leave, idempotent(shopTok, "leave-other")), 404, "staff.not_found")
	wantProblem(t, e.do("POST", "/api/v1/employer/staff/"+sealed.PersonID+"/leave", leave, idempotent(yunqiTok, "leave-sealed")), 409, "staff.already_sealed")
	wantProblem(t, e.do("POST", "/api/v1/employer/staff/"+member.PersonID+"/rejoin", nil, idempotent(shopTok, "rejoin-active")), 409, "staff.not_sealed")
	// Another unit's change is not found either.
	wantProblem(t, e.do("GET", "/api/v1/employer/staff-changes/"+joined.ID, nil, bearer(yunqiTok)), 404, "staff.not_found")

	// A depositor's token reaches none of it.
	dep := e.bindWeChat("o-staffchanges", e.persona("depositor", "李娜")).AccessToken
	wantProblem(t, e.do("POST", "/api/v1/employer/staff", join, idempotent(dep, "join-dep")), 403, "auth.forbidden")
	wantProblem(t, e.do("GET", "/api/v1/employer/staff-changes", nil, bearer(dep)), 403, "auth.forbidden")

	// Two identical leaves at once make one change, which the core seals.
	var wg sync.WaitGroup
	ids := make([]string, 2)
	for i := range ids {
		wg.Go(func() {
			r := e.do("POST", "/api/v1/employer/staff/"+member.PersonID+"/leave", leave, idempotent(shopTok, "leave-twice"))
			var v employer.StaffChangeBody
			if r.StatusCode == 202 {
				r.json(t, &v)
			}
			ids[i] = fmt.Sprintf("%d %s", r.StatusCode, v.ID)
		})
	}
	wg.Wait()
	if ids[0] != ids[1] || ids[0][:3] != "202" {
		t.Fatalf("two at once: %q", ids)
	}
	left := e.followChange(shopTok, ids[0][4:])
	if left.Status != "done" || left.Outcome != core.OutcomeSealed || left.StaffID != member.PersonID {
		t.Fatalf("leave followed: %+v", left)
	}

	// The core down (7×24): a rejoin is accepted all the same and applied
	// once the core is back.
	e.setFaults("employer=down")
	r = e.do("POST", "/api/v1/employer/staff/"+sealed.PersonID+"/rejoin", map[string]any{"base_fen": 600000}, idempotent(yunqiTok, "rejoin-down"))
	if r.StatusCode != 202 {
		t.Fatalf("rejoin while the core is down: %d %s", r.StatusCode, r.body)
	}
	var rejoin employer.StaffChangeBody
	r.json(t, &rejoin)
	time.Sleep(500 * time.Millisecond)
	e.setFaults("")
	if v := e.followChange(yunqiTok, rejoin.ID); v.Status != "done" || v.Outcome != core.OutcomeUnsealed {
		t.Fatalf("rejoin followed: %+v", v)
	}

	// A refusal only the core knows ends the change as failed with its
	// code: the person just sealed is left again with the core unread.
	e.setFaults("employer=down")
	r = e.do("POST", "/api/v1/employer/staff/"+member.PersonID+"/leave", leave, idempotent(shopTok, "leave-again"))
	if r.StatusCode != 202 {
		t.Fatalf("second leave: %d %s", r.StatusCode, r.body)
	}
	var second employer.StaffChangeBody
	r.json(t, &second)
	e.setFaults("")
	if v := e.followChange(shopTok, second.ID); v.Status != "failed" || v.Failure == nil || v.Failure.Code != "staff.already_sealed" || v.Failure.Message == "" {
		t.Fatalf("refused leave: %+v", v)
	}

	// The person sealed at the shop joins the other unit: the core moves
	// the account (a transfer in within the city).
	r = e.do("POST", "/api/v1/employer/staff", map[string]any{"name": member.Name, "id_number": member.IDNumber, "base_fen": 700000,
		"start_month": time.Now().Format("2006-01")}, idempotent(yunqiTok, "transfer-in"))
	if r.StatusCode != 202 {
		t.Fatalf("transfer in: %d %s", r.StatusCode, r.body)
	}
	var transfer employer.StaffChangeBody
	r.json(t, &transfer)
	if v := e.followChange(yunqiTok, transfer.ID); v.Status != "done" || v.Outcome != core.OutcomeTransferredIn ||
		v.FromUnitCode != shop.UnitCode || v.StaffID != member.PersonID {
		t.Fatalf("transfer in followed: %+v", v)
	}

	// The unit's list, scoped to the unit and filtered by status.
	var list employer.StaffChangeListBody
	r = e.do("GET", "/api/v1/employer/staff-changes?status=done&limit=10", nil, bearer(shopTok))
	r.json(t, &list)
	if r.StatusCode != 200 || len(list.Items) != 2 {
		t.Fatalf("shop's done changes: %d %s", r.StatusCode, r.body)
	}
	r = e.do("GET", "/api/v1/employer/staff-changes", nil, bearer(yunqiTok))
	r.json(t, &list)
	if len(list.Items) != 2 || list.Items[0].ID != transfer.ID || list.Items[1].ID != rejoin.ID {
		t.Fatalf("yunqi's changes: %s", r.body)
	}
	wantProblem(t, e.bad().do("GET", "/api/v1/employer/staff-changes?status=maybe", nil, bearer(shopTok)), 400, "request.invalid")
}
