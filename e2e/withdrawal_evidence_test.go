package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"handheld/bff/depositor"
	"handheld/services/sharingsim"
)

type foundEvidence struct {
	ConsentID   string   `json:"consent_id"`
	MaterialIDs []string `json:"material_ids"`
	Evidence    []struct {
		Evidence string `json:"evidence"`
		Via      string `json:"via"`
	} `json:"evidence"`
}

// missingOf is the missing evidence a 422 withdrawal.evidence_required
// names.
func missingOf(t *testing.T, r *response) string {
	t.Helper()
	var p struct {
		Code    string   `json:"code"`
		Missing []string `json:"missing"`
	}
	r.json(t, &p)
	if r.StatusCode != http.StatusUnprocessableEntity || p.Code != "withdrawal.evidence_required" {
		t.Fatalf("want 422 withdrawal.evidence_required, got %d %s", r.StatusCode, r.body)
	}
	return strings.Join(p.Missing, ",")
}

// 李娜's purchase finds her deed through shared data with her consent: no
// upload, no reference typed in; the core's review checks the fact and
// pays. The consent serves that application only, and nobody else's.
func TestWithdrawalPurchaseWithSharedData(t *testing.T) {
	var sim *sharingsim.Sim
	e := start(t, withSharing(t, &sim), fastWithdrawals)
	linaP, ouyangP := e.persona("depositor", "李娜"), e.persona("depositor", "欧阳晓峰")
	lina := e.bindWeChat("o-evidence-lina", linaP).AccessToken
	ouyang := e.bindWeChat("o-evidence-ouyang", ouyangP).AccessToken
	purchase := func(payout map[string]any, extra map[string]any) map[string]any {
		b := map[string]any{"type": "purchase", "amount_fen": 1_000_000, "payout": payout}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	linaPay, ouyangPay := payoutTo(t, linaP, "bank_card"), payoutTo(t, ouyangP, "bank_card")

	// Nothing named: refused up front, naming what is missing; nothing written.
	if m := missingOf(t, e.apply(lina, "ev-none", purchase(linaPay, nil))); m != "property_registration" {
		t.Fatalf("missing %q", m)
	}
	var lookup evidenceLookup
	r := e.lookup(lina, "ev-lookup", map[string]any{"kind": "purchase", "consent": true})
	r.json(t, &lookup)
	if r.StatusCode != http.StatusCreated || len(lookup.Missing) != 0 {
		t.Fatalf("lookup %d %s", r.StatusCode, r.body)
	}

	// Another person cannot ride on her consent.
	r = e.apply(ouyang, "ev-foreign", purchase(ouyangPay, map[string]any{"consent_id": lookup.ConsentID}))
	if p := r.problem(t); r.StatusCode != http.StatusNotFound || p.Code != "sharing.consent_not_found" {
		t.Fatalf("another person's consent: %d %s", r.StatusCode, r.body)
	}
	// Nor is it good for another kind.
	r = e.apply(lina, "ev-kind", map[string]any{"type": "critical_illness", "amount_fen": 100_000, "payout": linaPay,
		"consent_id": lookup.ConsentID})
	if p := r.problem(t); r.StatusCode != http.StatusNotFound || p.Code != "sharing.consent_not_found" {
		t.Fatalf("a purchase consent for a critical illness: %d %s", r.StatusCode, r.body)
	}
	// Malformed: 400 before anything is read.
	h := bearer(lina)
	h.Set("Idempotency-Key", "ev-bad")
	r = e.bad().do("POST", withdrawals, purchase(linaPay, map[string]any{"consent_id": "cns_<script>"}), h)
	if r.StatusCode != http.StatusBadRequest {
		t.Fatalf("malformed consent id: %d %s", r.StatusCode, r.body)
	}

	r = e.apply(lina, "ev-ok", purchase(linaPay, map[string]any{"consent_id": lookup.ConsentID}))
	if r.StatusCode != http.StatusAccepted {
		t.Fatalf("apply with the consent: %d %s", r.StatusCode, r.body)
	}
	var acc accepted
	r.json(t, &acc)
	paid := e.waitStatus(lina, acc.ID, "paid")
	if paid.Reason != "" {
		t.Fatalf("paid with reason %q", paid.Reason)
	}
	var got foundEvidence
	e.meGet(withdrawals+"/"+acc.ID, lina).json(t, &got)
	if got.ConsentID != lookup.ConsentID || len(got.Evidence) == 0 || got.Evidence[0].Evidence != "property_registration" ||
		got.Evidence[0].Via != "shared" {
		t.Fatalf("the application's evidence: %+v", got)
	}
	// Used: another application naming it is refused.
	r = e.apply(lina, "ev-again", map[string]any{"type": "rent", "amount_fen": 100_000, "payout": linaPay, "consent_id": lookup.ConsentID})
	if r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusConflict {
		t.Fatalf("the used consent on another application: %d %s", r.StatusCode, r.body)
	}
}

// A consent is used by one application: cancelled, the application keeps
// it, and the next one needs a new lookup.
func TestWithdrawalConsentIsForOneApplication(t *testing.T) {
	var sim *sharingsim.Sim
	e := start(t, withSharing(t, &sim), fastWithdrawals)
	linaP := e.persona("depositor", "李娜")
	lina := e.bindWeChat("o-evidence-once", linaP).AccessToken
	var lookup evidenceLookup
	e.lookup(lina, "once-lookup", map[string]any{"kind": "purchase", "consent": true}).json(t, &lookup)
	body := map[string]any{"type": "purchase", "amount_fen": 1_000_000, "payout": payoutTo(t, linaP, "bank_card"), "consent_id": lookup.ConsentID}
	r := e.apply(lina, "once-1", body)
	var acc accepted
	r.json(t, &acc)
	if r.StatusCode != http.StatusAccepted {
		t.Fatalf("first: %d %s", r.StatusCode, r.body)
	}
	if r := e.do("POST", withdrawals+"/"+acc.ID+"/cancel", nil, bearer(lina)); r.StatusCode != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.StatusCode, r.body)
	}
	r = e.apply(lina, "once-2", body)
	if p := r.problem(t); r.StatusCode != http.StatusConflict || p.Code != "sharing.consent_used" {
		t.Fatalf("the consent on a second application: %d %s", r.StatusCode, r.body)
	}
}

// 吴敏's critical illness: shared data holds no settlement for her, so the
// application needs her uploaded diagnosis; it goes to the core with the
// application and is paid. Another person's upload, an upload of a kind
// the withdrawal does not need, and deleting the used upload are refused.
func TestWithdrawalCriticalIllnessWithUpload(t *testing.T) {
	var sim *sharingsim.Sim
	e := start(t, withSharing(t, &sim), fastWithdrawals)
	wuP, zhangP := e.persona("depositor", "吴敏"), e.persona("depositor", "张伟")
	wu := e.bindWeChat("o-evidence-wumin", wuP).AccessToken
	zhang := e.bindWeChat("o-evidence-zhang", zhangP).AccessToken
	pay := payoutTo(t, wuP, "bank_card")
	illness := func(extra map[string]any) map[string]any {
		b := map[string]any{"type": "critical_illness", "amount_fen": 50_000, "payout": pay}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	upload := func(tok, key, kind string) depositor.MaterialBody {
		t.Helper()
		body, h := materialUpload(tok, key, kind, "scan.jpg", "image/jpeg", photoWithGPS(t))
		r := e.do("POST", myMaterials, body, h)
		if r.StatusCode != http.StatusCreated {
			t.Fatalf("upload %d %s", r.StatusCode, r.body)
		}
		var m depositor.MaterialBody
		r.json(t, &m)
		return m
	}

	var lookup evidenceLookup
	e.lookup(wu, "wu-lookup", map[string]any{"kind": "critical_illness", "consent": true}).json(t, &lookup)
	if strings.Join(lookup.Missing, ",") != "diagnosis" {
		t.Fatalf("shared data found a settlement for 吴敏: %+v", lookup)
	}
	if m := missingOf(t, e.apply(wu, "wu-consent-only", illness(map[string]any{"consent_id": lookup.ConsentID}))); m != "diagnosis" {
		t.Fatalf("missing %q", m)
	}

	theirs := upload(zhang, "zhang-diag", "diagnosis")
	r := e.apply(wu, "wu-foreign", illness(map[string]any{"material_ids": []string{theirs.ID}}))
	if p := r.problem(t); r.StatusCode != http.StatusNotFound || p.Code != "material.not_found" {
		t.Fatalf("another person's upload: %d %s", r.StatusCode, r.body)
	}
	marriage := upload(wu, "wu-marriage", "marriage_certificate")
	r = e.apply(wu, "wu-unusable", illness(map[string]any{"material_ids": []string{marriage.ID}}))
	if p := r.problem(t); r.StatusCode != http.StatusUnprocessableEntity || p.Code != "withdrawal.material_unusable" {
		t.Fatalf("a marriage certificate for an illness: %d %s", r.StatusCode, r.body)
	}

	diag := upload(wu, "wu-diag", "diagnosis")
	// Cancelled, the application frees its upload for the next one.
	r = e.apply(wu, "wu-first", illness(map[string]any{"material_ids": []string{diag.ID}}))
	var first accepted
	r.json(t, &first)
	if r.StatusCode != http.StatusAccepted {
		t.Fatalf("first application: %d %s", r.StatusCode, r.body)
	}
	if r := e.do("POST", withdrawals+"/"+first.ID+"/cancel", nil, bearer(wu)); r.StatusCode != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.StatusCode, r.body)
	}
	r = e.apply(wu, "wu-ok", illness(map[string]any{"material_ids": []string{diag.ID}, "consent_id": lookup.ConsentID}))
	if r.StatusCode != http.StatusAccepted {
		t.Fatalf("apply with the upload: %d %s", r.StatusCode, r.body)
	}
	var acc accepted
	r.json(t, &acc)
	e.waitStatus(wu, acc.ID, "paid")
	var got foundEvidence
	e.meGet(withdrawals+"/"+acc.ID, wu).json(t, &got)
	if !slices.Equal(got.MaterialIDs, []string{diag.ID}) || len(got.Evidence) != 1 || got.Evidence[0].Via != "upload" {
		t.Fatalf("the application's evidence: %+v", got)
	}
	if r := e.do("DELETE", myMaterials+"/"+diag.ID, nil, bearer(wu)); r.StatusCode != http.StatusConflict {
		t.Fatalf("deleting the used upload: %d %s", r.StatusCode, r.body)
	}
	// The marriage certificate was never claimed: still free to delete.
	if r := e.do("DELETE", myMaterials+"/"+marriage.ID, nil, bearer(wu)); r.StatusCode != http.StatusNoContent {
		t.Fatalf("deleting the unused upload: %d %s", r.StatusCode, r.body)
	}
}
