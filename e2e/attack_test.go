package e2e

import (
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/identity"
)

// TestLeakedNameAndIDMoveNoMoney replays, step by step, the attack that a
// review found on the shipped defaults: with a person's name and ID number
// (printed on paper forms, leaked in bulk) an attacker bound a new WeChat
// user to her, applied for a purchase withdrawal of her whole balance with
// made-up evidence, and had it paid to a wallet of the attacker's choosing.
// Every step must now fail, leave nothing behind here and reach nothing at
// the core.
func TestLeakedNameAndIDMoveNoMoney(t *testing.T) {
	e := start(t, fastWithdrawals, withAssurance(func(a *identity.Assurance) {
		a.Services[identity.ServiceWithdrawal] = identity.Requirement{ACR: services.ACRFace, MaxAge: 2 * time.Second}
	}))
	victim := e.persona("depositor", "李娜")
	accomplice := e.persona("depositor", "张伟") // holds the wallet the money was meant for
	leaked := func(extra map[string]string) (string, *response) {
		bt := e.bindingToken("oAttacker" + newNonce()[:8])
		return bt, e.bindWith(bt, victim.Name, victim.IDNumber, extra)
	}

	// 1. Binding with the name and ID number alone.
	_, r := leaked(nil)
	wantProblem(t, r, 400, "request.invalid")
	// ...with the attacker's own face, which WeChat does not pass for her.
	bt := e.bindingToken("oAttackerFace01")
	id := e.faceCheck(bt, map[string]string{"name": victim.Name, "id_number": victim.IDNumber})
	e.wechat.CompleteFace(id, 90011)
	wantProblem(t, e.bindWith(bt, victim.Name, victim.IDNumber, map[string]string{"face_result": id}), 422, "auth.face_failed")
	// ...with the phone bound to the attacker's WeChat: not a factor the
	// shipped policy takes.
	_, r = leaked(map[string]string{"phone_code": "phone-code-attacker"})
	wantProblem(t, r, 403, "auth.phone_not_accepted")
	// ...with a made-up face result, or the simulator's face token.
	_, r = leaked(map[string]string{"face_result": "vid_made_up_0000000"})
	wantProblem(t, r, 422, "auth.face_invalid")
	_, r = leaked(map[string]string{"face_result": victim.FaceToken})
	wantProblem(t, r, 422, "auth.face_invalid")
	// The attacker's WeChat user is still bound to nobody.
	e.bindingToken("oAttackerFace01")

	// 2. Even the person's own session does not move money on an old
	// face check: a withdrawal needs one within the policy's max age.
	own := e.bindWeChat("oVictimOwn00001", victim).AccessToken
	time.Sleep(2100 * time.Millisecond)
	card := payoutTo(t, victim, "bank_card")
	wantProblem(t, e.apply(own, "attack-stale", rent(100_000, card)), 403, "auth.step_up_required")

	// 3. With a fresh face check, money still goes only to her own
	// accounts and only on her own records.
	fresh := e.stepUp(own)
	foreignWallet := payoutTo(t, accomplice, "ecny")
	wantProblem(t, e.apply(fresh, "attack-wallet", purchase(100_000, foreignWallet["account_id"].(string),
		victim.Record(core.EvidencePropertyRegistration))), 422, "withdrawal.payout_account_unknown")
	wantProblem(t, e.apply(fresh, "attack-wallet-id", rent(100_000, map[string]any{"account_id": "0012345678901234"})),
		422, "withdrawal.payout_account_unknown")
	wantProblem(t, e.apply(fresh, "attack-deed", purchase(100_000, card["account_id"].(string), "deed:anything")),
		422, "withdrawal.evidence_unknown")
	wantProblem(t, e.apply(fresh, "attack-deed-other", purchase(100_000, card["account_id"].(string),
		accomplice.Record(core.EvidencePropertyRegistration))), 422, "withdrawal.evidence_unknown")

	var mine struct {
		Items []application `json:"items"`
	}
	e.meGet(withdrawals, fresh).json(t, &mine)
	if len(mine.Items) != 0 || e.sim.Withdrawals() != 0 {
		t.Fatalf("the attack left %d applications here and %d at the core", len(mine.Items), e.sim.Withdrawals())
	}
}
