package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/identity"
)

const standingPath = "/api/v1/me/standing-withdrawals"

type standingWithdrawal struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AmountFen   int64  `json:"amount_fen"`
	Status      string `json:"status"`
	PauseReason string `json:"pause_reason"`
	Months      []struct {
		Month         string `json:"month"`
		Outcome       string `json:"outcome"`
		ApplicationID string `json:"application_id"`
		Reason        string `json:"reason"`
	} `json:"months"`
}

// signUpStanding posts a standing withdrawal with key.
func (e *env) signUpStanding(tok, key string, body any) *response {
	e.t.Helper()
	h := bearer(tok)
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	return e.do("POST", standingPath, body, h)
}

func (e *env) standing(tok, id string) standingWithdrawal {
	e.t.Helper()
	r := e.meGet(standingPath+"/"+id, tok)
	if r.StatusCode != 200 {
		e.t.Fatalf("standing %s: %d %s", id, r.StatusCode, r.body)
	}
	var sw standingWithdrawal
	r.json(e.t, &sw)
	return sw
}

// standingAt runs the monthly job on e's app as if the clock read at.
func (e *env) standingAt(at time.Time) string {
	e.t.Helper()
	note, err := e.app.StandingAt(context.Background(), at)
	if err != nil {
		e.t.Fatalf("standing job at %v: %v", at, err)
	}
	return note
}

// A standing rent withdrawal: the attacks refused with nothing written;
// one application per simulated month, through the normal pipeline, also
// after a restart and with two replicas running the month at once; a
// month that fails is recorded and reported in the inbox, once; pause and
// stop.
func TestStandingRentWithdrawalMonthly(t *testing.T) {
	t.Parallel()
	e := start(t, fastWithdrawals)
	zhou, wang := e.persona("depositor", "周强"), e.persona("depositor", "王芳")
	zt := e.bindWeChat("o-zhou-standing", zhou).AccessToken
	wt := e.bindWeChat("o-wang-standing", wang).AccessToken
	zcard, wcard := payoutTo(t, zhou, "bank_card")["account_id"], payoutTo(t, wang, "bank_card")["account_id"]
	rentMonthly := func(amount int64, account any) map[string]any {
		return map[string]any{"type": "rent", "amount_fen": amount, "payout_account_id": account}
	}

	// Attacks first: each refused, nothing written.
	wantProblem(t, e.bad().signUpStanding(zt, "", rentMonthly(150_000, zcard)), 400, "idempotency.key_missing")
	wantProblem(t, e.signUpStanding(zt, "z-wang-card", rentMonthly(150_000, wcard)), 422, "withdrawal.payout_account_unknown")
	wantProblem(t, e.signUpStanding(zt, "z-purchase", map[string]any{"type": "purchase", "amount_fen": 150_000, "payout_account_id": zcard}),
		422, "standing_withdrawal.kind_not_allowed")
	wantProblem(t, e.signUpStanding(zt, "z-over", rentMonthly(200_001, zcard)), 422, "withdrawal.amount_over_limit")
	wantProblem(t, e.bad().signUpStanding(zt, "z-string", `{"type":"rent","amount_fen":"1500","payout_account_id":"x"}`), 400, "request.invalid")
	wantProblem(t, e.bad().signUpStanding(zt, "z-unknown", `{"type":"rent","amount_fen":1500,"payout_account_id":"x","every":"day"}`), 400, "request.unknown_field")
	if r := e.meGet(standingPath, zt); r.StatusCode != 200 || string(r.body) != "{\"items\":[]}\n" {
		t.Fatalf("after refusals: %d %s", r.StatusCode, r.body)
	}

	// Signing up; the same key again is the same answer; twice at once
	// with other keys is one standing withdrawal.
	first := e.signUpStanding(zt, "z-rent-1", rentMonthly(150_000, zcard))
	if first.StatusCode != 201 {
		t.Fatalf("sign up %d %s", first.StatusCode, first.body)
	}
	var mine standingWithdrawal
	first.json(t, &mine)
	if again := e.signUpStanding(zt, "z-rent-1", rentMonthly(150_000, zcard)); again.StatusCode != 201 ||
		again.Header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(first.body) {
		t.Fatalf("replay %d %s", again.StatusCode, again.body)
	}
	var wg sync.WaitGroup
	codes := make([]int, 3)
	for i := range codes {
		wg.Go(func() {
			codes[i] = e.signUpStanding(zt, "z-rent-again-"+string(rune('a'+i)), rentMonthly(150_000, zcard)).StatusCode
		})
	}
	wg.Wait()
	for _, c := range codes {
		if c != 409 {
			t.Errorf("a second standing rent withdrawal: %d, want 409", c)
		}
	}
	// Wang's account is sealed: she may sign up, and her months fail.
	r := e.signUpStanding(wt, "w-rent-1", rentMonthly(100_000, wcard))
	if r.StatusCode != 201 {
		t.Fatalf("wang sign up %d %s", r.StatusCode, r.body)
	}
	var hers standingWithdrawal
	r.json(t, &hers)
	// Neither sees nor changes the other's.
	wantProblem(t, e.meGet(standingPath+"/"+mine.ID, wt), 404, "standing_withdrawal.not_found")
	for _, change := range []string{"pause", "resume", "stop", "confirm"} {
		wantProblem(t, e.do("POST", standingPath+"/"+mine.ID+"/"+change, nil, bearer(wt)), 404, "standing_withdrawal.not_found")
	}
	if got := e.standing(zt, mine.ID); got.Status != "active" {
		t.Fatalf("after wang's attempts: %+v", got)
	}

	// Month one.
	now := time.Now()
	if note := e.standingAt(now); note != "applied=1 failed=1 paused=0 retry=0" {
		t.Fatalf("month one: %s", note)
	}
	got := e.standing(zt, mine.ID)
	if len(got.Months) != 1 || got.Months[0].Outcome != "applied" || got.Months[0].ApplicationID == "" {
		t.Fatalf("month one: %+v", got.Months)
	}
	paid := e.waitStatus(zt, got.Months[0].ApplicationID, "paid")
	if paid.Type != "rent" || paid.AmountFen != 150_000 || paid.Payout.AccountID != zcard {
		t.Errorf("month one's application %+v", paid)
	}
	hm := e.standing(wt, hers.ID)
	if len(hm.Months) != 1 || hm.Months[0].Outcome != "failed" || hm.Months[0].Reason != "account_status" {
		t.Fatalf("wang's month one: %+v", hm.Months)
	}
	e.waitMessages(wt, "", func(ms []inboxMessage) bool {
		for _, m := range ms {
			if m.Kind == "standing_failed" {
				return true
			}
		}
		return false
	})

	// A restart: the month is done, on the new replica too.
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	a := e.replica()
	if note := a.standingAt(now.Add(time.Minute)); note != "applied=0 failed=0 paused=0 retry=0" {
		t.Fatalf("month one after a restart: %s", note)
	}
	if n := countKind(a.messages(wt, ""), "standing_failed"); n != 1 {
		t.Errorf("%d messages for wang's failed month", n)
	}

	// Wang pauses, then stops; a stopped one is not paused again.
	if r := a.do("POST", standingPath+"/"+hers.ID+"/pause", nil, bearer(wt)); r.StatusCode != 200 {
		t.Fatalf("pause %d %s", r.StatusCode, r.body)
	}
	if r := a.do("POST", standingPath+"/"+hers.ID+"/stop", nil, bearer(wt)); r.StatusCode != 200 {
		t.Fatalf("stop %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, a.do("POST", standingPath+"/"+hers.ID+"/pause", nil, bearer(wt)), 409, "standing_withdrawal.stopped")

	// Month two, by two replicas at once.
	b := a.replica()
	next := now.AddDate(0, 1, 1)
	notes := make([]string, 2)
	wg.Go(func() { notes[0], _ = a.app.StandingAt(context.Background(), next) })
	wg.Go(func() { notes[1], _ = b.app.StandingAt(context.Background(), next) })
	wg.Wait()
	got = a.standing(zt, mine.ID)
	if len(got.Months) != 2 || got.Months[0].Outcome != "applied" || got.Months[0].ApplicationID == got.Months[1].ApplicationID {
		t.Fatalf("month two: %+v (runs %q)", got.Months, notes)
	}
	var list struct {
		Items []application `json:"items"`
	}
	a.meGet(withdrawals, zt).json(t, &list)
	if len(list.Items) != 2 {
		t.Fatalf("%d applications after two months, want 2", len(list.Items))
	}
	if note := b.standingAt(next.Add(time.Hour)); note != "applied=0 failed=0 paused=0 retry=0" {
		t.Errorf("month two again: %s", note)
	}
	if hm := a.standing(wt, hers.ID); len(hm.Months) != 1 || hm.Status != "stopped" {
		t.Errorf("a stopped one went on: %+v", hm)
	}
}

func countKind(ms []inboxMessage, kind string) int {
	n := 0
	for _, m := range ms {
		if m.Kind == kind {
			n++
		}
	}
	return n
}

// Signing up, resuming and confirming move money again: each needs the
// withdrawal step-up, as an application does; pausing and stopping do not.
func TestStandingWithdrawalNeedsStepUp(t *testing.T) {
	t.Parallel()
	e := start(t, fastWithdrawals, withAssurance(func(a *identity.Assurance) {
		a.Services[identity.ServiceWithdrawal] = identity.Requirement{ACR: services.ACRFace, MaxAge: 3 * time.Second}
	}))
	zhou := e.persona("depositor", "周强")
	tok := e.bindWeChat("o-zhou-standing-stepup", zhou).AccessToken
	card := payoutTo(t, zhou, "bank_card")["account_id"]
	body := map[string]any{"type": "rent", "amount_fen": 100_000, "payout_account_id": card}
	time.Sleep(3100 * time.Millisecond)

	wantProblem(t, e.signUpStanding(tok, "z-stale", body), 403, "auth.step_up_required")
	if r := e.meGet(standingPath, tok); string(r.body) != "{\"items\":[]}\n" {
		t.Fatalf("a refused sign-up wrote %s", r.body)
	}
	fresh := e.stepUp(tok)
	r := e.signUpStanding(fresh, "z-fresh", body)
	if r.StatusCode != 201 {
		t.Fatalf("after step-up %d %s", r.StatusCode, r.body)
	}
	var sw standingWithdrawal
	r.json(t, &sw)
	time.Sleep(3100 * time.Millisecond)
	if r := e.do("POST", standingPath+"/"+sw.ID+"/pause", nil, bearer(fresh)); r.StatusCode != 200 {
		t.Fatalf("pause %d %s", r.StatusCode, r.body)
	}
	for _, change := range []string{"resume", "confirm"} {
		wantProblem(t, e.do("POST", standingPath+"/"+sw.ID+"/"+change, nil, bearer(fresh)), 403, "auth.step_up_required")
	}
	if got := e.standing(fresh, sw.ID); got.Status != "paused" {
		t.Fatalf("after refused resumes: %+v", got)
	}
	if r := e.do("POST", standingPath+"/"+sw.ID+"/resume", nil, bearer(e.stepUp(fresh))); r.StatusCode != 200 {
		t.Fatalf("resume after step-up %d %s", r.StatusCode, r.body)
	}
}
