package withdrawal

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/outbox"
	"handheld/services/store"
)

// The evidence an application rests on beyond references to the core's
// own records: the facts of one shared-data consent (issue 17, part 1)
// and the person's uploads (part 2).
type (
	// consents are the person's shared-data consents (sharing.Service,
	// adapted in bff/adapters.go).
	consents interface {
		// ConsentFacts are the facts of p's consent id that satisfy an
		// evidence, when the consent is for kind, unexpired, and unused
		// (or used by applicationID already: a retry). Otherwise
		// sharing.consent_not_found or sharing.consent_used.
		ConsentFacts(ctx context.Context, p services.Principal, id, kind, applicationID string) ([]core.SharedEvidence, error)
		// UseConsentTx marks the consent used by the application, in the
		// transaction that stores it.
		UseConsentTx(ctx context.Context, tx *store.Tx, p services.Principal, id, applicationID string) error
	}
	// materials are the person's uploads (material.Service, adapted).
	materials interface {
		// Materials are p's materials ids, unused or used by
		// applicationID; another person's or an unknown id is
		// material.not_found, one another application uses
		// material.in_use.
		Materials(ctx context.Context, p services.Principal, ids []string, applicationID string) ([]core.MaterialRef, error)
		ClaimTx(ctx context.Context, tx *store.Tx, p services.Principal, ids []string, applicationID string) error
		// ReleaseTx frees the uploads an application claimed, when it is
		// cancelled or refused.
		ReleaseTx(ctx context.Context, tx *store.Tx, applicationID string) error
		// Open is a material's bytes, for delivery to the core.
		Open(ctx context.Context, id string) ([]byte, error)
	}
)

// Evidence is what an application carries besides evidence_refs: kept
// sealed with it and sent to the core.
type Evidence struct {
	ConsentID string                `json:"consent_id,omitempty"`
	Shared    []core.SharedEvidence `json:"shared,omitempty"`
	Materials []core.MaterialRef    `json:"materials,omitempty"`
}

// Found lists, per evidence the application has, how: "shared" (a fact of
// the consent), "upload" (a material) or "record" (evidence_refs naming
// the core's records of the kind's Evidence categories).
func (e Evidence) Found(pol Policy, refs []string) map[string]string {
	out := map[string]string{}
	for _, m := range e.Materials {
		out[m.Evidence] = "upload"
	}
	for _, f := range e.Shared {
		out[f.Evidence] = "shared"
	}
	if len(refs) > 0 {
		for _, name := range pol.Evidence {
			if _, ok := out[name]; !ok {
				out[name] = "record"
			}
		}
	}
	return out
}

// Input bounds of the evidence an application names.
const maxMaterials = 10

// gather reads what r names — the consent's facts and the uploads — and
// refuses it when a required evidence is still missing, naming each
// (withdrawal.evidence_required), or an upload stands for no evidence the
// kind needs (withdrawal.material_unusable). Nothing is written: the
// consent and the uploads are claimed in the transaction that stores the
// application (claim).
func (s *Service) gather(ctx context.Context, p services.Principal, pol Policy, r Request, applicationID string) (Evidence, error) {
	ev := Evidence{ConsentID: r.ConsentID}
	if r.ConsentID != "" {
		if s.Consents == nil {
			return Evidence{}, services.E(services.CodeSharingConsentNotFound)
		}
		facts, err := s.Consents.ConsentFacts(ctx, p, r.ConsentID, pol.Kind, applicationID)
		if err != nil {
			return Evidence{}, err
		}
		ev.Shared = facts
	}
	if len(r.MaterialIDs) > 0 {
		if s.Materials == nil {
			return Evidence{}, services.E(services.CodeMaterialNotFound)
		}
		refs, err := s.Materials.Materials(ctx, p, r.MaterialIDs, applicationID)
		if err != nil {
			return Evidence{}, err
		}
		for i, m := range refs {
			m.Evidence = standsFor(pol, m.Kind)
			if m.Evidence == "" {
				return Evidence{}, &services.Error{Code: services.CodeWithdrawalMaterialUnusable, Params: map[string]any{
					"kind": services.Text{Key: "material.kind." + m.Kind}, "id": m.ID}}
			}
			refs[i] = m
		}
		ev.Materials = refs
	}
	found := ev.Found(pol, r.EvidenceRefs)
	var texts []services.Text
	var names []string
	for _, name := range pol.Required() {
		if _, ok := found[name]; !ok {
			texts = append(texts, services.Text{Key: "withdrawal.evidence." + name})
			names = append(names, name)
		}
	}
	if len(names) > 0 {
		return Evidence{}, &services.Error{Code: services.CodeWithdrawalEvidenceRequired,
			Params: map[string]any{"evidence": texts, "missing": names}}
	}
	return ev, nil
}

// standsFor is the evidence of pol an upload of kind stands in for; ""
// when none.
func standsFor(pol Policy, kind string) string {
	for _, n := range pol.Needs() {
		if slices.Contains(n.MaterialKinds(), kind) {
			return n.Evidence
		}
	}
	return ""
}

// claim marks the consent and the uploads used by the application, in its
// transaction: of two applications racing for one, exactly one commits.
func (s *Service) claim(ctx context.Context, tx *store.Tx, p services.Principal, ev Evidence, applicationID string) error {
	if ev.ConsentID != "" {
		if err := s.Consents.UseConsentTx(ctx, tx, p, ev.ConsentID, applicationID); err != nil {
			return err
		}
	}
	if len(ev.Materials) > 0 {
		ids := make([]string, 0, len(ev.Materials))
		for _, m := range ev.Materials {
			ids = append(ids, m.ID)
		}
		if err := s.Materials.ClaimTx(ctx, tx, p, ids, applicationID); err != nil {
			return err
		}
	}
	return nil
}

// deliverMaterials sends each upload of the application to the core
// before the application itself (idempotent there by material id).
func (s *Service) deliverMaterials(ctx context.Context, applicationID string, ev Evidence) error {
	if len(ev.Materials) > 0 && s.Materials == nil {
		return outbox.Permanent(fmt.Errorf("withdrawal %s: uploads to deliver and no material store", applicationID))
	}
	for _, m := range ev.Materials {
		data, err := s.Materials.Open(ctx, m.ID)
		if err != nil {
			if services.ErrorCode(err) == services.CodeMaterialNotFound {
				return outbox.Permanent(fmt.Errorf("withdrawal %s: material %s: %w", applicationID, m.ID, err))
			}
			return err
		}
		if err := s.Core.PutWithdrawalMaterial(ctx, applicationID, m.ID, m.MediaType, data); err != nil {
			return err
		}
	}
	return nil
}

// encodeEvidence is the evidence column's plain text ("" for none).
func encodeEvidence(ev Evidence) string {
	if ev.ConsentID == "" && len(ev.Shared) == 0 && len(ev.Materials) == 0 {
		return ""
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

func decodeEvidence(text string) (Evidence, error) {
	var ev Evidence
	if text == "" {
		return ev, nil
	}
	err := json.Unmarshal([]byte(text), &ev)
	return ev, err
}

// releaseMaterials frees what applicationID claimed, in tx.
func (s *Service) releaseMaterials(ctx context.Context, tx *store.Tx, applicationID string) error {
	if s.Materials == nil {
		return nil
	}
	return s.Materials.ReleaseTx(ctx, tx, applicationID)
}
