package depositor

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/locales"
	"handheld/services"
	"handheld/services/standing"
)

// StandingUses is what the standing withdrawal routes need from
// services/standing; *standing.Service provides it.
type StandingUses interface {
	SignUp(ctx context.Context, p services.Principal, r standing.SignUp) (standing.Standing, error)
	List(ctx context.Context, p services.Principal, limit int, cursor string) ([]standing.Standing, string, error)
	Get(ctx context.Context, p services.Principal, id string) (standing.Standing, error)
	Pause(ctx context.Context, p services.Principal, id string) (standing.Standing, error)
	Resume(ctx context.Context, p services.Principal, id string) (standing.Standing, error)
	Stop(ctx context.Context, p services.Principal, id string) (standing.Standing, error)
	Confirm(ctx context.Context, p services.Principal, id string) (standing.Standing, error)
}

// Standing serves the person's standing (monthly) withdrawals on the
// /api/v1/me group: sign up, list, one with its months, pause, resume,
// stop and confirm again.
type Standing struct {
	Service  StandingUses
	Catalogs *locales.Catalogs
}

// Routes registers the routes. write runs before every change (the rate
// limit); once (the Idempotency-Key) and stepUp before signing up, and
// stepUp before resume and confirm, which let money move again. guards
// run first on every route (the "withdrawal" service switch).
func (h Standing) Routes(me fiber.Router, write, once, stepUp fiber.Handler, guards ...fiber.Handler) {
	with := func(hs ...fiber.Handler) []fiber.Handler { return append(append([]fiber.Handler{}, guards...), hs...) }
	me.Post("/standing-withdrawals", with(stepUp, write, once, h.SignUp)...)
	me.Get("/standing-withdrawals", with(h.List)...)
	me.Get("/standing-withdrawals/:id", with(h.Get)...)
	me.Post("/standing-withdrawals/:id/pause", with(write, h.change(h.Service.Pause))...)
	me.Post("/standing-withdrawals/:id/resume", with(stepUp, write, h.change(h.Service.Resume))...)
	me.Post("/standing-withdrawals/:id/stop", with(write, h.change(h.Service.Stop))...)
	me.Post("/standing-withdrawals/:id/confirm", with(stepUp, write, h.change(h.Service.Confirm))...)
}

// StandingRequest is the body of POST /api/v1/me/standing-withdrawals.
type StandingRequest struct {
	Type            string `json:"type"`
	AmountFen       int64  `json:"amount_fen"`
	PayoutAccountID string `json:"payout_account_id"`
}

// StandingBody is one standing withdrawal as its person sees it.
type StandingBody struct {
	ID               string              `json:"id"`
	Type             string              `json:"type"`
	TypeLabel        string              `json:"type_label"`
	AmountFen        int64               `json:"amount_fen"`
	PayoutAccountID  string              `json:"payout_account_id"`
	Status           string              `json:"status"`
	StatusLabel      string              `json:"status_label"`
	PauseReason      string              `json:"pause_reason,omitempty"`
	PauseReasonLabel string              `json:"pause_reason_label,omitempty"`
	ConfirmedAt      string              `json:"confirmed_at"`
	ReconfirmBy      string              `json:"reconfirm_by,omitempty"`
	CreatedAt        string              `json:"created_at"`
	UpdatedAt        string              `json:"updated_at"`
	Months           []StandingMonthBody `json:"months,omitempty"`
}

// StandingMonthBody is what became of one month.
type StandingMonthBody struct {
	Month         string `json:"month"`
	Outcome       string `json:"outcome"`
	OutcomeLabel  string `json:"outcome_label"`
	ApplicationID string `json:"application_id,omitempty"`
	Reason        string `json:"reason,omitempty"`
	ReasonLabel   string `json:"reason_label,omitempty"`
	AmountFen     int64  `json:"amount_fen"`
	At            string `json:"at"`
}

// StandingListBody is GET /api/v1/me/standing-withdrawals.
type StandingListBody struct {
	Items      []StandingBody `json:"items"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// SignUp is POST /api/v1/me/standing-withdrawals (Idempotency-Key
// required, with a recent face check): 201 and the standing withdrawal.
func (h Standing) SignUp(c *fiber.Ctx) error {
	var req StandingRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	st, err := h.Service.SignUp(c.UserContext(), middleware.PrincipalOf(c), standing.SignUp{Kind: req.Type,
		AmountFen: req.AmountFen, PayoutAccountID: req.PayoutAccountID, Locale: middleware.Lang(c, h.Catalogs)})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, "/api/v1/me/standing-withdrawals/"+st.ID)
	return private(c).Status(fiber.StatusCreated).JSON(standingBody(st, textsFor(c, h.Catalogs)))
}

// List is GET /api/v1/me/standing-withdrawals?limit=&cursor=, newest first.
func (h Standing) List(c *fiber.Ctx) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	items, next, err := h.Service.List(c.UserContext(), middleware.PrincipalOf(c), limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	t := textsFor(c, h.Catalogs)
	body := StandingListBody{Items: make([]StandingBody, 0, len(items)), NextCursor: next}
	for _, st := range items {
		body.Items = append(body.Items, standingBody(st, t))
	}
	return private(c).JSON(body)
}

// Get is GET /api/v1/me/standing-withdrawals/{id}, with its latest months.
func (h Standing) Get(c *fiber.Ctx) error {
	st, err := h.Service.Get(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	body := standingBody(st, textsFor(c, h.Catalogs))
	if body.Months == nil {
		body.Months = []StandingMonthBody{}
	}
	return private(c).JSON(body)
}

// change serves POST /api/v1/me/standing-withdrawals/{id}/<change>: the
// standing withdrawal as it is after the change.
func (h Standing) change(do func(context.Context, services.Principal, string) (standing.Standing, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		st, err := do(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
		if err != nil {
			return err
		}
		return private(c).JSON(standingBody(st, textsFor(c, h.Catalogs)))
	}
}

func standingBody(st standing.Standing, t translate) StandingBody {
	b := StandingBody{ID: st.ID, Type: st.Kind, TypeLabel: t("withdrawal.kind."+st.Kind, nil), AmountFen: st.AmountFen,
		PayoutAccountID: st.PayoutAccountID, Status: st.Status, StatusLabel: t("standing_withdrawal.status."+st.Status, nil),
		ConfirmedAt: services.Instant(st.ConfirmedAt), CreatedAt: services.Instant(st.CreatedAt), UpdatedAt: services.Instant(st.UpdatedAt)}
	if st.PauseReason != "" {
		b.PauseReason, b.PauseReasonLabel = st.PauseReason, t("standing_withdrawal.paused."+st.PauseReason, nil)
	}
	if !st.ReconfirmBy.IsZero() {
		b.ReconfirmBy = services.Instant(st.ReconfirmBy)
	}
	for _, m := range st.Months {
		mb := StandingMonthBody{Month: m.Month, Outcome: m.Outcome, OutcomeLabel: t("standing_withdrawal.outcome."+m.Outcome, nil),
			ApplicationID: m.ApplicationID, AmountFen: m.AmountFen, At: services.Instant(m.At)}
		if m.Reason != "" {
			mb.Reason, mb.ReasonLabel = m.Reason, t("standing_withdrawal.reason."+m.Reason, nil)
		}
		b.Months = append(b.Months, mb)
	}
	return b
}
