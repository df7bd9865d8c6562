package core_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/coresim"
)

// TestContractWithdrawalEvidence: an application resting on an upload and
// on shared data, through the real client and the simulator over HTTP —
// the upload is idempotent by id, and review approves what arrived whole
// and rejects what did not.
func TestContractWithdrawalEvidence(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *coresim.Config) { c.ReviewDelay = time.Minute })
	ctx := context.Background()
	p := pick(t, people(t, h), "person with a normal account and a bank card", func(p person) bool {
		a, err := h.client.Account(ctx, p.PersonID)
		l, lerr := h.client.PayoutAccounts(ctx, p.PersonID)
		return err == nil && lerr == nil && a.Status == core.StatusNormal && a.BalanceFen > 300000 && len(l.Items) > 0
	})
	accounts, _ := h.client.PayoutAccounts(ctx, p.PersonID)
	card := accounts.Items[0]
	pdf := []byte("%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n")
	sum := sha256.Sum256(pdf)
	ref := core.MaterialRef{ID: "0123456789abcdef0123456789abcdef", Evidence: core.EvidenceDiagnosis, Kind: "diagnosis",
		MediaType: "application/pdf", Size: int64(len(pdf)), SHA256: hex.EncodeToString(sum[:])}

	if err := h.client.PutWithdrawalMaterial(ctx, "app-ev-1", ref.ID, ref.MediaType, pdf); err != nil {
		t.Fatalf("PutWithdrawalMaterial = %v", err)
	}
	if err := h.client.PutWithdrawalMaterial(ctx, "app-ev-1", ref.ID, ref.MediaType, pdf); err != nil {
		t.Errorf("the same bytes again = %v, want accepted", err)
	}
	if err := h.client.PutWithdrawalMaterial(ctx, "app-ev-1", ref.ID, ref.MediaType, append(pdf, 'x')); code(t, err) != services.CodeCoreRejected {
		t.Errorf("other bytes under the same id = %v, want core.rejected (conflict)", err)
	}
	if err := h.client.PutWithdrawalMaterial(ctx, "app-ev-1", "f00d", "application/pdf", []byte{0x89, 'P', 'N', 'G'}); code(t, err) != services.CodeCoreRejected {
		t.Errorf("PNG bytes called a PDF = %v, want core.rejected", err)
	}
	if err := h.client.PutWithdrawalMaterial(ctx, "app-ev-4", ref.ID, ref.MediaType, pdf); err != nil {
		t.Fatalf("PutWithdrawalMaterial(app-ev-4) = %v", err)
	}

	base := core.Withdrawal{PersonID: p.PersonID, Kind: "09", AmountFen: 100000, PayoutMethod: card.Kind,
		PayoutAccount: card.Number, PayoutAccountID: card.ID}
	corrupt := ref
	corrupt.SHA256 = hex.EncodeToString(make([]byte, 32))
	cases := []struct {
		id     string
		mod    func(w *core.Withdrawal)
		reason string
	}{
		{"app-ev-1", func(w *core.Withdrawal) { w.Materials = []core.MaterialRef{ref} }, ""},
		{"app-ev-2", func(w *core.Withdrawal) {}, coresim.ReasonEvidenceMissing},
		{"app-ev-3", func(w *core.Withdrawal) { w.Materials = []core.MaterialRef{ref} }, coresim.ReasonMaterialMissing},
		{"app-ev-4", func(w *core.Withdrawal) { w.Materials = []core.MaterialRef{corrupt} }, coresim.ReasonMaterialCorrupt},
		{"app-ev-5", func(w *core.Withdrawal) {
			w.SharedEvidence = []core.SharedEvidence{{Evidence: core.EvidenceDiagnosis, Source: "medical_insurance", Fact: "illness_settlement",
				Reference: "GX-medical_insurance-20261206-100001", ConsentRef: "cns_1"}}
		}, ""},
		{"app-ev-6", func(w *core.Withdrawal) {
			w.SharedEvidence = []core.SharedEvidence{{Evidence: core.EvidenceDiagnosis, Source: "civil_affairs", Fact: "marriage",
				Reference: "GX-civil_affairs-20261206-100002", ConsentRef: "cns_2"}}
		}, coresim.ReasonSharedEvidenceInvalid},
		{"app-ev-7", func(w *core.Withdrawal) {
			w.SharedEvidence = []core.SharedEvidence{{Evidence: core.EvidenceDiagnosis, Source: "medical_insurance", Fact: "illness_settlement",
				Reference: "made-up", ConsentRef: "cns_3"}}
		}, coresim.ReasonSharedEvidenceInvalid},
	}
	for _, tc := range cases {
		w := base
		w.ApplicationID = tc.id
		tc.mod(&w)
		if _, err := h.client.SubmitWithdrawal(ctx, w); err != nil {
			t.Fatalf("%s: SubmitWithdrawal = %v", tc.id, err)
		}
	}
	// The first and the fifth ask for the same money: one at a time.
	h.clock.Set(h.clock.Now().Add(time.Hour))
	for _, tc := range cases {
		st, err := h.client.Withdrawal(ctx, tc.id)
		if err != nil {
			t.Fatalf("%s: %v", tc.id, err)
		}
		switch {
		case tc.reason == "" && st.Status == core.WithdrawalRejected:
			t.Errorf("%s: rejected %q, want approved or paid", tc.id, st.Reason)
		case tc.reason != "" && (st.Status != core.WithdrawalRejected || st.Reason != tc.reason):
			t.Errorf("%s: %s %q, want rejected %q", tc.id, st.Status, st.Reason, tc.reason)
		}
	}
}
