package depositor

import (
	"context"
	"maps"
	"slices"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/locales"
	"handheld/services"
	"handheld/services/withdrawal"
)

// WithdrawalUses is what the withdrawal screens need from
// services/withdrawal; *withdrawal.Service provides it.
type WithdrawalUses interface {
	Eligibility(ctx context.Context, p services.Principal, kind string) (withdrawal.Eligibility, error)
	Apply(ctx context.Context, p services.Principal, r withdrawal.Request) (withdrawal.Application, bool, error)
	List(ctx context.Context, p services.Principal, limit int, cursor string) ([]withdrawal.Application, string, error)
	Get(ctx context.Context, p services.Principal, id string) (withdrawal.Application, error)
	Cancel(ctx context.Context, p services.Principal, id string) (withdrawal.Application, error)
	PayoutAccounts(ctx context.Context, p services.Principal) ([]withdrawal.PayoutAccount, error)
}

// Withdrawals serves the depositor's withdrawals on the /api/v1/me group:
// eligibility per kind, applying (202: accepted, decided by the core
// later), the list, one application with its history, and cancelling.
type Withdrawals struct {
	Service  WithdrawalUses
	Catalogs *locales.Catalogs
	// Evidence, when set, adds the evidence from shared data to
	// eligibility (the person's latest unused consent; no source asked).
	Evidence EvidenceUses
}

// Routes registers the withdrawal routes on the /me group. Applying is a
// creating write: limit (the withdrawal_apply rate-limit class) runs
// before it. The Idempotency-Key is kept by the service itself, with the
// application. guards run first on every route (the "withdrawal" gate).
func (h Withdrawals) Routes(me fiber.Router, limit fiber.Handler, guards ...fiber.Handler) {
	with := func(hs ...fiber.Handler) []fiber.Handler { return append(append([]fiber.Handler{}, guards...), hs...) }
	me.Get("/payout-accounts", with(h.PayoutAccounts)...)
	me.Get("/withdrawals/eligibility", with(h.Eligibility)...)
	me.Post("/withdrawals", with(limit, h.Apply)...)
	me.Get("/withdrawals", with(h.List)...)
	me.Get("/withdrawals/:id", with(h.Get)...)
	me.Post("/withdrawals/:id/cancel", with(limit, h.Cancel)...)
}

// EligibilityBody is GET /api/v1/me/withdrawals/eligibility?type=.
type EligibilityBody struct {
	Type         string       `json:"type"`
	TypeLabel    string       `json:"type_label"`
	Eligible     bool         `json:"eligible"`
	MaxAmountFen int64        `json:"max_amount_fen"`
	Reasons      []ReasonBody `json:"reasons"`
	Stale        bool         `json:"stale"`
	// Evidence is what shared data has found for the kind and what is
	// still missing (issue 17); nil without the sharing service.
	Evidence *EvidenceStatusBody `json:"evidence,omitempty"`
}

// ReasonBody is one ground for refusing a kind.
type ReasonBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Eligibility is GET /api/v1/me/withdrawals/eligibility?type=.
func (h Withdrawals) Eligibility(c *fiber.Ctx) error {
	el, err := h.Service.Eligibility(c.UserContext(), middleware.PrincipalOf(c), c.Query("type"))
	if err != nil {
		return err
	}
	t := h.text(c)
	body := EligibilityBody{Type: el.Kind, TypeLabel: t("withdrawal.kind."+el.Kind, nil), Eligible: el.Eligible,
		MaxAmountFen: el.MaxAmountFen, Reasons: make([]ReasonBody, 0, len(el.Reasons)), Stale: el.Stale}
	for _, r := range el.Reasons {
		params := make(map[string]any, len(r.Params))
		for k, v := range r.Params {
			if x, ok := v.(services.Text); ok {
				v = t(x.Key, x.Params)
			}
			params[k] = v
		}
		body.Reasons = append(body.Reasons, ReasonBody{Code: r.Code, Message: t("withdrawal.reason."+r.Code, params)})
	}
	if h.Evidence != nil {
		res, err := h.Evidence.Evidence(c.UserContext(), middleware.PrincipalOf(c), el.Kind)
		if err != nil {
			return err
		}
		ev := evidenceStatus(t, res)
		body.Evidence = &ev
	}
	return private(c).JSON(body)
}

// ApplyRequest is the body of POST /api/v1/me/withdrawals.
type ApplyRequest struct {
	Type         string        `json:"type"`
	AmountFen    int64         `json:"amount_fen"`
	Payout       PayoutRequest `json:"payout"`
	EvidenceRefs []string      `json:"evidence_refs"`
	// ConsentID is the caller's shared-data consent for the kind (POST
	// /me/evidence-lookups); MaterialIDs their uploads (POST /me/materials).
	ConsentID   string   `json:"consent_id"`
	MaterialIDs []string `json:"material_ids"`
}

// PayoutRequest says where the money goes: one of the caller's own payout
// accounts, by the id GET /me/payout-accounts gives.
type PayoutRequest struct {
	AccountID string `json:"account_id"`
}

// PayoutAccountBody is one of the caller's bank cards or e-CNY wallets.
type PayoutAccountBody struct {
	ID           string `json:"id"`
	Kind         string `json:"kind"`
	KindLabel    string `json:"kind_label"`
	NumberMasked string `json:"number_masked"`
	Institution  string `json:"institution"`
}

// PayoutAccountsBody is GET /api/v1/me/payout-accounts.
type PayoutAccountsBody struct {
	Items []PayoutAccountBody `json:"items"`
}

// PayoutAccounts is GET /api/v1/me/payout-accounts: the bank cards and
// e-CNY wallets the core holds under the caller's name, masked; an
// application names one of them.
func (h Withdrawals) PayoutAccounts(c *fiber.Ctx) error {
	items, err := h.Service.PayoutAccounts(c.UserContext(), middleware.PrincipalOf(c))
	if err != nil {
		return err
	}
	t := h.text(c)
	body := PayoutAccountsBody{Items: make([]PayoutAccountBody, 0, len(items))}
	for _, a := range items {
		body.Items = append(body.Items, PayoutAccountBody{ID: a.ID, Kind: a.Kind, KindLabel: t("payout.kind."+a.Kind, nil),
			NumberMasked: a.NumberMasked, Institution: a.Institution})
	}
	return private(c).JSON(body)
}

// AcceptedBody is the 202 answer to an application: accepted, not yet
// decided. A retry with the same Idempotency-Key gets it again.
type AcceptedBody struct {
	ID         string `json:"id"`
	CaseNumber string `json:"case_number"`
	Status     string `json:"status"`
	DueOn      string `json:"due_on"`
}

// Apply is POST /api/v1/me/withdrawals (Idempotency-Key required).
func (h Withdrawals) Apply(c *fiber.Ctx) error {
	key, hash, err := middleware.IdempotencyKeyOf(c)
	if err != nil {
		return err
	}
	var req ApplyRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	app, replayed, err := h.Service.Apply(c.UserContext(), middleware.PrincipalOf(c), withdrawal.Request{
		Kind: req.Type, AmountFen: req.AmountFen, PayoutAccountID: req.Payout.AccountID,
		EvidenceRefs: req.EvidenceRefs, ConsentID: req.ConsentID, MaterialIDs: req.MaterialIDs, IdempotencyKey: key, RequestHash: hash, Locale: middleware.Lang(c, h.Catalogs),
	})
	if err != nil {
		return err
	}
	if replayed {
		c.Set(middleware.HeaderIdempotentReplayed, "true")
	}
	c.Set(fiber.HeaderLocation, "/api/v1/me/withdrawals/"+app.ID)
	return private(c).Status(fiber.StatusAccepted).JSON(AcceptedBody{ID: app.ID, CaseNumber: app.CaseNumber,
		Status: app.Status, DueOn: app.DueOn})
}

// List is GET /api/v1/me/withdrawals?limit=&cursor=, newest first.
func (h Withdrawals) List(c *fiber.Ctx) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	items, next, err := h.Service.List(c.UserContext(), middleware.PrincipalOf(c), limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	t := h.text(c)
	body := WithdrawalListBody{Items: make([]WithdrawalBody, 0, len(items)), NextCursor: next}
	for _, a := range items {
		body.Items = append(body.Items, withdrawalBody(a, t))
	}
	return private(c).JSON(body)
}

// Get is GET /api/v1/me/withdrawals/{id}: the application and every status
// it took.
func (h Withdrawals) Get(c *fiber.Ctx) error {
	a, err := h.Service.Get(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return private(c).JSON(withdrawalBody(a, h.text(c)))
}

// Cancel is POST /api/v1/me/withdrawals/{id}/cancel.
func (h Withdrawals) Cancel(c *fiber.Ctx) error {
	a, err := h.Service.Cancel(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return private(c).JSON(withdrawalBody(a, h.text(c)))
}

func (h Withdrawals) text(c *fiber.Ctx) translate { return textsFor(c, h.Catalogs) }

// WithdrawalBody is one application as its person sees it.
type WithdrawalBody struct {
	ID            string        `json:"id"`
	CaseNumber    string        `json:"case_number"`
	Type          string        `json:"type"`
	TypeLabel     string        `json:"type_label"`
	Status        string        `json:"status"`
	StatusLabel   string        `json:"status_label"`
	Reason        string        `json:"reason,omitempty"`
	ReasonLabel   string        `json:"reason_label,omitempty"`
	AmountFen     int64         `json:"amount_fen"`
	Payout        PayoutBody    `json:"payout"`
	EvidenceRefs  []string      `json:"evidence_refs"`
	ConsentID     string        `json:"consent_id,omitempty"`
	MaterialIDs   []string      `json:"material_ids"`
	Evidence      []FoundBody   `json:"evidence"`
	ClosesAccount bool          `json:"closes_account"`
	CreatedAt     string        `json:"created_at"`
	UpdatedAt     string        `json:"updated_at"`
	DueOn         string        `json:"due_on"`
	Events        []StatusEvent `json:"events,omitempty"`
}

// FoundBody is one evidence an application carries and how it was found:
// shared (government shared data, with consent), upload (a material) or
// record (a reference to the core's records).
type FoundBody struct {
	Evidence      string `json:"evidence"`
	EvidenceLabel string `json:"evidence_label"`
	Via           string `json:"via"`
	ViaLabel      string `json:"via_label"`
}

// PayoutBody is where the money goes, masked.
type PayoutBody struct {
	Method    string `json:"method,omitempty"`
	Account   string `json:"account,omitempty"`
	AccountID string `json:"account_id,omitempty"`
}

// StatusEvent is one status an application took.
type StatusEvent struct {
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	At          string `json:"at"`
}

// WithdrawalListBody is GET /api/v1/me/withdrawals.
type WithdrawalListBody struct {
	Items      []WithdrawalBody `json:"items"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

func withdrawalBody(a withdrawal.Application, t translate) WithdrawalBody {
	b := WithdrawalBody{
		ID: a.ID, CaseNumber: a.CaseNumber, Type: a.Kind, TypeLabel: t("withdrawal.kind."+a.Kind, nil),
		Status: a.Status, StatusLabel: t("withdrawal.status."+a.Status, nil), AmountFen: a.AmountFen,
		Payout: PayoutBody{Method: a.PayoutMethod, Account: a.PayoutAccount, AccountID: a.PayoutAccountID}, EvidenceRefs: a.EvidenceRefs,
		ClosesAccount: a.ClosesAccount, CreatedAt: services.Instant(a.CreatedAt), UpdatedAt: services.Instant(a.UpdatedAt), DueOn: a.DueOn,
	}
	if b.EvidenceRefs == nil {
		b.EvidenceRefs = []string{}
	}
	b.ConsentID, b.MaterialIDs, b.Evidence = a.ConsentID, a.MaterialIDs, []FoundBody{}
	if b.MaterialIDs == nil {
		b.MaterialIDs = []string{}
	}
	for _, name := range slices.Sorted(maps.Keys(a.Found)) {
		via := a.Found[name]
		b.Evidence = append(b.Evidence, FoundBody{Evidence: name, EvidenceLabel: t("withdrawal.evidence."+name, nil),
			Via: via, ViaLabel: t("withdrawal.evidence_via."+via, nil)})
	}
	if a.Reason != "" {
		b.Reason, b.ReasonLabel = a.Reason, t("withdrawal.rejection."+a.Reason, nil)
	}
	for _, e := range a.Events {
		b.Events = append(b.Events, StatusEvent{Status: e.Status, StatusLabel: t("withdrawal.status."+e.Status, nil), At: services.Instant(e.At)})
	}
	return b
}
