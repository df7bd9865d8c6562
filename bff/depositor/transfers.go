package depositor

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/locales"
	"handheld/services"
	"handheld/services/transfer"
)

// TransferUses is what the transfer routes need from services/transfer;
// *transfer.Service provides it.
type TransferUses interface {
	Apply(ctx context.Context, p services.Principal, r transfer.Request) (transfer.Transfer, bool, error)
	List(ctx context.Context, p services.Principal, limit int, cursor string) ([]transfer.Transfer, string, error)
	Get(ctx context.Context, p services.Principal, id string) (transfer.Transfer, error)
	Cancel(ctx context.Context, p services.Principal, id string) (transfer.Transfer, error)
}

// Transfers serves the depositor's transfers in from other centres (issue
// 18): asking (202: accepted, decided by the old centre later), the list,
// one transfer with its history, and cancelling.
type Transfers struct {
	Service  TransferUses
	Catalogs *locales.Catalogs
}

// Routes registers the transfer routes on the /me group. limit (the
// transfer_write class) runs before the writes; guards (the platform
// switch) before every route. The Idempotency-Key is kept by the service.
func (h Transfers) Routes(me fiber.Router, limit fiber.Handler, guards ...fiber.Handler) {
	with := func(hs ...fiber.Handler) []fiber.Handler { return append(append([]fiber.Handler{}, guards...), hs...) }
	me.Post("/transfers", with(limit, h.Apply)...)
	me.Get("/transfers", with(h.List)...)
	me.Get("/transfers/:id", with(h.Get)...)
	me.Post("/transfers/:id/cancel", with(limit, h.Cancel)...)
}

// TransferRequest is POST /api/v1/me/transfers's body. AccountRef is the
// account's reference at the old centre, whole or masked as
// GET /me/accounts-elsewhere shows it.
type TransferRequest struct {
	FromCentre string `json:"from_centre"`
	AccountRef string `json:"account_ref"`
}

// TransferEventBody is one status a transfer took.
type TransferEventBody struct {
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	Reason      string `json:"reason,omitempty"`
	At          string `json:"at"`
}

// TransferBody is one transfer as its person sees it. AmountFen is the
// balance the old centre shared when asked, then the amount it moved.
type TransferBody struct {
	ID          string              `json:"id"`
	CaseNumber  string              `json:"case_number"`
	FromCentre  string              `json:"from_centre"`
	CentreName  string              `json:"centre_name"`
	AccountRef  string              `json:"account_ref"`
	AmountFen   int64               `json:"amount_fen"`
	Status      string              `json:"status"`
	StatusLabel string              `json:"status_label"`
	Reason      string              `json:"reason,omitempty"`
	ReasonLabel string              `json:"reason_label,omitempty"`
	CreatedAt   string              `json:"created_at"`
	UpdatedAt   string              `json:"updated_at"`
	DueOn       string              `json:"due_on"`
	Events      []TransferEventBody `json:"events,omitempty"`
}

// TransferListBody is GET /api/v1/me/transfers.
type TransferListBody struct {
	Items      []TransferBody `json:"items"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// Apply is POST /api/v1/me/transfers (Idempotency-Key required).
func (h Transfers) Apply(c *fiber.Ctx) error {
	key, hash, err := middleware.IdempotencyKeyOf(c)
	if err != nil {
		return err
	}
	var req TransferRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	t, replayed, err := h.Service.Apply(c.UserContext(), middleware.PrincipalOf(c), transfer.Request{
		FromCentre: req.FromCentre, AccountRef: req.AccountRef, IdempotencyKey: key, RequestHash: hash,
		Locale: middleware.Lang(c, h.Catalogs)})
	if err != nil {
		return err
	}
	if replayed {
		c.Set(middleware.HeaderIdempotentReplayed, "true")
	}
	c.Set(fiber.HeaderLocation, "/api/v1/me/transfers/"+t.ID)
	return private(c).Status(fiber.StatusAccepted).JSON(transferBody(t, textsFor(c, h.Catalogs)))
}

// List is GET /api/v1/me/transfers?limit=&cursor=, newest first.
func (h Transfers) List(c *fiber.Ctx) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	items, next, err := h.Service.List(c.UserContext(), middleware.PrincipalOf(c), limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	t := textsFor(c, h.Catalogs)
	body := TransferListBody{Items: make([]TransferBody, 0, len(items)), NextCursor: next}
	for _, x := range items {
		body.Items = append(body.Items, transferBody(x, t))
	}
	return private(c).JSON(body)
}

// Get is GET /api/v1/me/transfers/{id}: the transfer and every status it
// took.
func (h Transfers) Get(c *fiber.Ctx) error {
	t, err := h.Service.Get(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return private(c).JSON(transferBody(t, textsFor(c, h.Catalogs)))
}

// Cancel is POST /api/v1/me/transfers/{id}/cancel.
func (h Transfers) Cancel(c *fiber.Ctx) error {
	t, err := h.Service.Cancel(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return private(c).JSON(transferBody(t, textsFor(c, h.Catalogs)))
}

func transferBody(x transfer.Transfer, t translate) TransferBody {
	b := TransferBody{ID: x.ID, CaseNumber: x.CaseNumber, FromCentre: x.FromCentre, CentreName: x.CentreName,
		AccountRef: x.AccountRefMasked, AmountFen: x.AmountFen, Status: x.Status, StatusLabel: t("transfer.status."+x.Status, nil),
		Reason: x.Reason, CreatedAt: services.Instant(x.CreatedAt), UpdatedAt: services.Instant(x.UpdatedAt), DueOn: x.DueOn}
	if x.Reason != "" {
		b.ReasonLabel = reasonLabel(x.Reason, t)
	}
	for _, e := range x.Events {
		b.Events = append(b.Events, TransferEventBody{Status: e.Status, StatusLabel: t("transfer.status."+e.Status, nil),
			Reason: e.Reason, At: services.Instant(e.At)})
	}
	return b
}

// reasonLabel is the old centre's reason in the person's language; a
// reason the contract does not list reads as "see the other centre".
func reasonLabel(reason string, t translate) string {
	key := "transfer.reason." + reason
	if s := t(key, nil); s != key && s != "" {
		return s
	}
	return t("transfer.reason.unknown", nil)
}
