package e2e

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"handheld/bff"
	"handheld/bff/depositor"
	"handheld/services/platform"
	"handheld/services/platformsim"
)

// TestTransfersSurviveFaults is the transfers' fault test, in the spirit
// of the withdrawals': the platform down then back, slow, refusing, an old
// centre deciding days later, callbacks doubled and callbacks lost. Each
// transfer must end in exactly one final state, with each status it went
// through recorded once and told once, and the money credited exactly
// once (or not at all for a refusal); a request the platform could not be
// asked about writes nothing.
func TestTransfersSurviveFaults(t *testing.T) {
	r := startTransfers(t, func(c *bff.Config) { c.PlatformTimeout = time.Second })
	type person struct {
		key, name, centre, ref string
		amount                 int64
		tok                    string
		id                     string
		final                  string
		before                 int64
	}
	people := map[string]*person{
		"down":      {name: "李娜", centre: platformsim.CentreBeijing, ref: "1101002021000011", amount: 1_234_500},
		"refusing":  {name: "孙丽", centre: platformsim.CentreShanghai, ref: "3101002021000012", amount: 2_000_000},
		"days":      {name: "张伟", centre: platformsim.CentreShanghai, ref: "3101002021000013", amount: 777_700},
		"duplicate": {name: "林晓𪚥", centre: platformsim.CentreBeijing, ref: "1101002021000014", amount: 500_000},
		"slow":      {name: "欧阳晓峰", centre: platformsim.CentreBeijing, ref: "1101002021000015", amount: 300_000},
		"early":     {name: "周强", centre: platformsim.CentreBeijing, ref: "1101002021000016", amount: 420_000},
	}
	for key, p := range people {
		p.key = key
		pp := r.persona("depositor", p.name)
		if err := r.sim.SetHolder(pp.IDNumber, pp.Name, []platformsim.Holding{{Centre: p.centre, AccountRef: p.ref,
			Status: platform.StatusSealed, BalanceFen: p.amount, UnitName: "某单位", OpenedOn: "2019-03-01"}}); err != nil {
			t.Fatal(err)
		}
		p.tok = r.bindWeChat("o-tfault-"+key, pp).AccessToken
		r.grantWeChat(p.tok, "hpf-withdrawal-status", 8) // each status told by WeChat
		p.before = r.balance(p.name)
	}
	ask := func(p *person) *response { return r.ask(p.tok, "k-"+p.key, p.centre, p.ref) }
	accepted := func(p *person) {
		t.Helper()
		resp := ask(p)
		var b depositor.TransferBody
		resp.json(t, &b)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s: %d %s", p.name, resp.StatusCode, resp.body)
		}
		p.id = b.ID
	}

	// The platform down: asking is 503 and writes nothing; a transfer in
	// flight meanwhile waits, its callbacks lost, and the poller brings it
	// in once the platform is back.
	down := people["down"]
	r.sim.SetOutage(true)
	wantProblem(t, ask(down), 503, "platform.unavailable")
	r.sim.SetOutage(false)
	putSim(t, r.simURL, "/_sim/behaviour", `{"drop_callbacks":true,"centres":{"110100":{"accept_after":"1s"}}}`)
	accepted(down)
	r.waitTransfer(down.tok, down.id, "sent")
	r.sim.SetOutage(true)
	time.Sleep(1500 * time.Millisecond) // Beijing decides while nobody can ask the platform
	if b := r.waitTransfer(down.tok, down.id, "sent"); b.Status != "sent" {
		t.Fatalf("moved during the outage: %+v", b)
	}
	r.sim.SetOutage(false)
	down.final = "merged"
	r.waitTransfer(down.tok, down.id, "merged") // the platform's breaker closed again

	// Slow: past the client's deadline asking is 503, nothing written.
	slow := people["slow"]
	putSim(t, r.simURL, "/_sim/behaviour", `{"latency":"1500ms"}`)
	wantProblem(t, ask(slow), 503, "platform.unavailable")
	putSim(t, r.simURL, "/_sim/behaviour", `{}`)
	var none depositor.TransferListBody
	r.meGet(transfersPath, slow.tok).json(t, &none)
	if len(none.Items) != 0 {
		t.Fatalf("a request the platform never answered wrote %+v", none.Items)
	}
	accepted(slow)
	slow.final = "merged"

	// Refusing: Shanghai refuses with a reason, told in the person's
	// language; nothing credited.
	putSim(t, r.simURL, "/_sim/behaviour", `{"centres":{"310100":{"refuse":"loan_outstanding"}}}`)
	refusing := people["refusing"]
	accepted(refusing)
	refusing.final = "refused"
	b := r.waitTransfer(refusing.tok, refusing.id, "refused")
	if b.Reason != "loan_outstanding" || b.ReasonLabel == "" || b.ReasonLabel == "transfer.reason.loan_outstanding" {
		t.Fatalf("refusal: %+v", b)
	}

	// Days later: Shanghai decides 72 hours after being asked; until then
	// the transfer waits, polled; then its days pass at once.
	putSim(t, r.simURL, "/_sim/behaviour", `{"centres":{"310100":{"accept_after":"72h"}}}`)
	days := people["days"]
	accepted(days)
	days.final = "merged"
	r.waitTransfer(days.tok, days.id, "sent")
	polled := r.sim.Calls(platformsim.CallTransfers)
	waitFor(t, func() bool { return r.sim.Calls(platformsim.CallTransfers) > polled+1 }) // the poller asked, twice
	if b := r.waitTransfer(days.tok, days.id, "sent"); b.Status != "sent" {
		t.Fatalf("decided early: %+v", b)
	}
	r.sim.TickAt(time.Now().Add(73 * time.Hour))

	// The callback before the answer: the platform's first callback
	// (sent) is recorded before the answer it follows, and every later
	// one is lost. Recording the answer then finds the transfer moved on,
	// and the poller must still start: only it can bring the decision.
	putSim(t, r.simURL, "/_sim/behaviour", `{"answer_after_callback":true,"drop_callbacks":true,"centres":{"110100":{"accept_after":"1s"}}}`)
	early := people["early"]
	accepted(early)
	early.final = "merged"
	r.waitTransfer(early.tok, early.id, "merged")

	// Duplicate callbacks: every one twice, in no promised order.
	putSim(t, r.simURL, "/_sim/behaviour", `{"duplicate_callbacks":true}`)
	dup := people["duplicate"]
	accepted(dup)
	dup.final = "merged"

	for key, p := range people {
		got := r.waitTransfer(p.tok, p.id, p.final)
		want := mainLine
		if p.final == "refused" {
			want = []string{"accepted", "sent", "refused"}
		}
		if !slices.Equal(statusesOf(got), want) {
			t.Errorf("%s: statuses %v, want %v", key, statusesOf(got), want)
		}
		credits, grew := r.env.sim.TransferInCredits(p.id), r.balance(p.name)-p.before
		switch {
		case p.final == "merged" && (credits != 1 || grew != p.amount || got.AmountFen != p.amount):
			t.Errorf("%s: credited %d times, balance +%d, amount %d; want once, +%d", key, credits, grew, got.AmountFen, p.amount)
		case p.final == "refused" && (credits != 0 || grew != 0):
			t.Errorf("%s: refused but credited %d times, balance +%d", key, credits, grew)
		}
		var list depositor.TransferListBody
		r.meGet(transfersPath, p.tok).json(t, &list)
		if len(list.Items) != 1 {
			t.Errorf("%s: %d transfers, want 1", key, len(list.Items))
		}
		waitFor(t, func() bool { return len(sentFor(r.env, p.id)) == len(want) })
	}
	r.sim.Flush()
	// Late duplicates change nothing.
	for key, p := range people {
		if got := statusesOf(r.waitTransfer(p.tok, p.id, p.final)); len(got) != len(slices.Compact(slices.Clone(got))) {
			t.Errorf("%s: a status recorded twice: %v", key, got)
		}
		if n := len(sentFor(r.env, p.id)); p.final == "merged" && n != len(mainLine) {
			t.Errorf("%s: %d notifications, want %d", key, n, len(mainLine))
		}
	}
	if r.sim.Calls(platformsim.CallCallbacksDrop) == 0 {
		t.Error("no callback was dropped: the poller was not tested")
	}
}
