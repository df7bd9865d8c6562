package depositor

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/locales"
	"handheld/services"
	"handheld/services/sharing"
)

// EvidenceUses is what the evidence routes need from services/sharing;
// *sharing.Service provides it.
type EvidenceUses interface {
	Lookup(ctx context.Context, p services.Principal, kind string, c sharing.Consent) (sharing.Result, error)
	Evidence(ctx context.Context, p services.Principal, kind string) (sharing.Result, error)
}

// Evidence serves evidence from shared data (issue 17): with the person's
// consent for one application of a kind, the sources the kind's policy
// names are asked and the minimal facts kept.
type Evidence struct {
	Service  EvidenceUses
	Catalogs *locales.Catalogs
}

// Routes registers POST /me/evidence-lookups: idem (the Idempotency-Key
// middleware) then limit (the sharing_lookup class), so a replay costs
// neither the person's budget nor a question to the sources.
func (h Evidence) Routes(me fiber.Router, idem, limit fiber.Handler, guards ...fiber.Handler) {
	with := func(hs ...fiber.Handler) []fiber.Handler { return append(append([]fiber.Handler{}, guards...), hs...) }
	me.Post("/evidence-lookups", with(idem, limit, h.Lookup)...)
}

// LookupRequest is the body of POST /api/v1/me/evidence-lookups. Consent
// must be true: the person's explicit yes, for one application of Kind.
// The person asked about is the caller, from the token: no ID number or
// name is accepted from the client.
type LookupRequest struct {
	Kind    string `json:"kind"`
	Consent bool   `json:"consent"`
}

// FactBody is one fact a source answered, summarised in the caller's
// language. Found is whether it counts as the evidence.
type FactBody struct {
	Evidence      string `json:"evidence"`
	EvidenceLabel string `json:"evidence_label"`
	Source        string `json:"source"`
	SourceLabel   string `json:"source_label"`
	Fact          string `json:"fact"`
	Found         bool   `json:"found"`
	Summary       string `json:"summary"`
	Reference     string `json:"reference"`
}

// LookupBody is POST /api/v1/me/evidence-lookups' answer.
type LookupBody struct {
	ConsentID string     `json:"consent_id"`
	Kind      string     `json:"kind"`
	ExpiresAt string     `json:"expires_at"`
	Facts     []FactBody `json:"facts"`
	Missing   []string   `json:"missing"`
}

// EvidenceStatusBody is eligibility's evidence: the facts of the person's
// latest unused consent for the kind that count, and the required
// evidence still missing. ConsentID is empty without such a consent.
type EvidenceStatusBody struct {
	ConsentID string     `json:"consent_id,omitempty"`
	Found     []FactBody `json:"found"`
	Missing   []string   `json:"missing"`
}

// Lookup is POST /api/v1/me/evidence-lookups: 201 with the consent's id,
// the facts and what is missing.
func (h Evidence) Lookup(c *fiber.Ctx) error {
	var req LookupRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.Kind == "" {
		return services.Invalid(services.FieldError{Field: "kind", Code: services.FieldRequired})
	}
	res, err := h.Service.Lookup(c.UserContext(), middleware.PrincipalOf(c), req.Kind, sharing.Consent{Given: req.Consent})
	if err != nil {
		return err
	}
	t := textsFor(c, h.Catalogs)
	body := LookupBody{ConsentID: res.ConsentID, Kind: res.Kind, ExpiresAt: services.Instant(res.ExpiresAt),
		Facts: make([]FactBody, 0, len(res.Facts)), Missing: res.Missing}
	for _, f := range res.Facts {
		body.Facts = append(body.Facts, factBody(t, f))
	}
	return private(c).Status(fiber.StatusCreated).JSON(body)
}

// evidenceStatus is eligibility's evidence block, from the sharing
// service's stored facts only (no source is asked).
func evidenceStatus(t translate, res sharing.Result) EvidenceStatusBody {
	out := EvidenceStatusBody{ConsentID: res.ConsentID, Found: []FactBody{}, Missing: res.Missing}
	if out.Missing == nil {
		out.Missing = []string{}
	}
	for _, f := range res.Facts {
		if f.Satisfied {
			out.Found = append(out.Found, factBody(t, f))
		}
	}
	return out
}

// factBody summarises one fact in the caller's language.
func factBody(t translate, f sharing.Fact) FactBody {
	a := f.Answer
	return FactBody{Evidence: f.Evidence, EvidenceLabel: t("sharing.evidence."+f.Evidence, nil), Source: a.Source,
		SourceLabel: t("sharing.source."+a.Source, nil), Fact: a.Fact, Found: f.Satisfied, Summary: summary(t, a),
		Reference: a.Reference}
}

// summary is the minimal fact in a sentence.
func summary(t translate, a sharing.Answer) string {
	if !a.Found {
		return t("sharing.fact.not_found", nil)
	}
	yes := func(b *bool) bool { return b != nil && *b }
	switch a.Fact {
	case sharing.FactDeed, sharing.FactFiledContract:
		key := "sharing.fact." + a.Fact
		if !yes(a.OwnerMatches) {
			key += "_mismatch"
		}
		return t(key, map[string]any{"number": a.Number, "date": a.RegisteredOn})
	case sharing.FactMarriage:
		if !yes(a.Married) {
			return t("sharing.fact.not_married", nil)
		}
		return t("sharing.fact.marriage", map[string]any{"spouse": a.SpouseNameMasked, "date": a.RegisteredOn})
	case sharing.FactIllnessSettlement:
		return t("sharing.fact.illness_settlement", map[string]any{"date": a.SettledOn, "amount": services.Yuan(a.AmountFen, ",")})
	case sharing.FactRetirement:
		if !yes(a.Retired) {
			return t("sharing.fact.not_retired", nil)
		}
		return t("sharing.fact.retirement", map[string]any{"date": a.Since})
	case sharing.FactHousehold:
		if yes(a.RegisteredInCity) {
			return t("sharing.fact.household_registered", map[string]any{"city": a.City})
		}
		return t("sharing.fact.household_left", map[string]any{"city": a.City})
	}
	return ""
}
