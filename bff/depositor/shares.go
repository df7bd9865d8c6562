package depositor

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/locales"
	"handheld/services"
	"handheld/services/ecard"
	"handheld/services/share"
)

// ShareUses is what the share routes need from services/share;
// *share.Service provides it.
type ShareUses interface {
	Parties() []share.Party
	Create(ctx context.Context, p services.Principal, r share.NewShare) (share.Created, error)
	List(ctx context.Context, p services.Principal, limit int, cursor string) ([]share.Share, string, error)
	Get(ctx context.Context, p services.Principal, id string) (share.Share, error)
	Revoke(ctx context.Context, p services.Principal, id string) (share.Share, error)
	Requests(ctx context.Context, p services.Principal, limit int, cursor string) ([]share.Request, string, error)
	Approve(ctx context.Context, p services.Principal, id string) (share.Request, share.Share, error)
	Decline(ctx context.Context, p services.Principal, id string) (share.Request, error)
}

// Shares serves the person's consented yes/no answers on the /api/v1/me
// group (issue 20): the parties one may share with, making, listing and
// revoking shares with every use, and the parties' requests to approve
// or decline.
type Shares struct {
	Service  ShareUses
	Catalogs *locales.Catalogs
}

// shareQRSize is the side of the code's QR image, in pixels.
const shareQRSize = 256

// Routes registers the routes. write (the share_write limit) runs before
// every change; stepUp (a recent face check) before those that let a party
// learn something: making a share and approving a request.
func (h Shares) Routes(me fiber.Router, write, stepUp fiber.Handler) {
	me.Get("/share-parties", h.Parties)
	me.Post("/shares", stepUp, write, h.Create)
	me.Get("/shares", h.List)
	me.Get("/shares/:id", h.Get)
	me.Post("/shares/:id/revoke", write, h.Revoke)
	me.Get("/share-requests", h.Requests)
	me.Post("/share-requests/:id/approve", stepUp, write, h.Approve)
	me.Post("/share-requests/:id/decline", write, h.Decline)
}

// ShareCreateRequest is the body of POST /api/v1/me/shares.
type ShareCreateRequest struct {
	Party      string              `json:"party"`
	Predicates []request.Predicate `json:"predicates"`
	ValidUntil string              `json:"valid_until"`
	MaxUses    int                 `json:"max_uses"`
}

// SharePartyBody is a relying party: its id and name.
type SharePartyBody struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// SharePartyListItem is a party a person may share with, and what it may ask.
type SharePartyListItem struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Predicates []string `json:"predicates"`
}

// SharePartiesBody is GET /api/v1/me/share-parties.
type SharePartiesBody struct {
	Items []SharePartyListItem `json:"items"`
}

// PredicateBody is a predicate with its label in the person's language.
type PredicateBody struct {
	Name  string `json:"name"`
	Value any    `json:"value,omitempty"`
	Label string `json:"label"`
}

// AnswerBody is a predicate with the answer a party was given.
type AnswerBody struct {
	Name        string `json:"name"`
	Value       any    `json:"value,omitempty"`
	Label       string `json:"label"`
	Answer      string `json:"answer"`
	AnswerLabel string `json:"answer_label"`
}

// ShareUseBody is one use of a share: which party, when, what it asked and
// was told, and whether it spent a use.
type ShareUseBody struct {
	Party   SharePartyBody `json:"party"`
	At      string         `json:"at"`
	Answers []AnswerBody   `json:"answers"`
	Counted bool           `json:"counted"`
}

// ShareBody is one share as its person sees it.
type ShareBody struct {
	ID          string          `json:"id"`
	Party       SharePartyBody  `json:"party"`
	Predicates  []PredicateBody `json:"predicates"`
	ValidUntil  string          `json:"valid_until"`
	MaxUses     int             `json:"max_uses"`
	Used        int             `json:"used"`
	Status      string          `json:"status"`
	StatusLabel string          `json:"status_label"`
	RequestID   string          `json:"request_id,omitempty"`
	CreatedAt   string          `json:"created_at"`
	RevokedAt   string          `json:"revoked_at,omitempty"`
	Usage       []ShareUseBody  `json:"usage"`
}

// ShareCreatedBody is the 201 of POST /api/v1/me/shares: the share, its
// one-time code to hand over (shown this once: only its hash is kept) and
// the same as a QR code (a PNG data URI) for the party to scan.
type ShareCreatedBody struct {
	ShareBody
	Code string `json:"code"`
	QR   string `json:"qr"`
}

// ShareListBody is GET /api/v1/me/shares.
type ShareListBody struct {
	Items      []ShareBody `json:"items"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// ShareRequestBody is a party's request as the person sees it.
type ShareRequestBody struct {
	ID          string          `json:"id"`
	Party       SharePartyBody  `json:"party"`
	Predicates  []PredicateBody `json:"predicates"`
	Purpose     string          `json:"purpose,omitempty"`
	ValidUntil  string          `json:"valid_until"`
	MaxUses     int             `json:"max_uses"`
	Status      string          `json:"status"`
	StatusLabel string          `json:"status_label"`
	ExpiresAt   string          `json:"expires_at"`
	CreatedAt   string          `json:"created_at"`
	DecidedAt   string          `json:"decided_at,omitempty"`
	ShareID     string          `json:"share_id,omitempty"`
}

// ShareRequestListBody is GET /api/v1/me/share-requests.
type ShareRequestListBody struct {
	Items      []ShareRequestBody `json:"items"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

// Parties is GET /api/v1/me/share-parties.
func (h Shares) Parties(c *fiber.Ctx) error {
	body := SharePartiesBody{Items: []SharePartyListItem{}}
	for _, p := range h.Service.Parties() {
		body.Items = append(body.Items, SharePartyListItem{ID: p.ID, Name: p.Name, Predicates: p.Predicates})
	}
	return private(c).JSON(body)
}

// Create is POST /api/v1/me/shares (Idempotency-Key required, with a
// recent face check): 201 with the code, shown once.
func (h Shares) Create(c *fiber.Ctx) error {
	var req ShareCreateRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	key, hash, err := middleware.IdempotencyKeyOf(c)
	if err != nil {
		return err
	}
	preds, err := request.Predicates(req.Predicates)
	if err != nil {
		return err
	}
	until, err := time.Parse(time.RFC3339, req.ValidUntil)
	if err != nil {
		return services.Invalid(services.FieldError{Field: "valid_until", Code: services.FieldFormat})
	}
	created, err := h.Service.Create(c.UserContext(), middleware.PrincipalOf(c), share.NewShare{Party: req.Party,
		Predicates: preds, ValidUntil: until, MaxUses: req.MaxUses, IdempotencyKey: key, RequestHash: hash})
	if err != nil {
		return err
	}
	png, err := ecard.QRCodePNG(created.Code, shareQRSize)
	if err != nil {
		return services.Errorf(services.CodeInternal, "share qr: %w", err)
	}
	if created.Replayed {
		c.Set(middleware.HeaderIdempotentReplayed, "true")
	}
	c.Set(fiber.HeaderLocation, "/api/v1/me/shares/"+created.Share.ID)
	return private(c).Status(fiber.StatusCreated).JSON(ShareCreatedBody{ShareBody: shareBody(created.Share, textsFor(c, h.Catalogs)),
		Code: created.Code, QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)})
}

// List is GET /api/v1/me/shares?limit=&cursor=, newest first, each with
// its uses.
func (h Shares) List(c *fiber.Ctx) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	items, next, err := h.Service.List(c.UserContext(), middleware.PrincipalOf(c), limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	t := textsFor(c, h.Catalogs)
	body := ShareListBody{Items: make([]ShareBody, 0, len(items)), NextCursor: next}
	for _, sh := range items {
		body.Items = append(body.Items, shareBody(sh, t))
	}
	return private(c).JSON(body)
}

// Get is GET /api/v1/me/shares/{id}, with every use.
func (h Shares) Get(c *fiber.Ctx) error {
	sh, err := h.Service.Get(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return private(c).JSON(shareBody(sh, textsFor(c, h.Catalogs)))
}

// Revoke is POST /api/v1/me/shares/{id}/revoke: effective at once.
func (h Shares) Revoke(c *fiber.Ctx) error {
	sh, err := h.Service.Revoke(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return private(c).JSON(shareBody(sh, textsFor(c, h.Catalogs)))
}

// Requests is GET /api/v1/me/share-requests?limit=&cursor=, newest first.
func (h Shares) Requests(c *fiber.Ctx) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	items, next, err := h.Service.Requests(c.UserContext(), middleware.PrincipalOf(c), limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	t := textsFor(c, h.Catalogs)
	body := ShareRequestListBody{Items: make([]ShareRequestBody, 0, len(items)), NextCursor: next}
	for _, r := range items {
		body.Items = append(body.Items, requestBody(r, t))
	}
	return private(c).JSON(body)
}

// Approve is POST /api/v1/me/share-requests/{id}/approve: the request,
// now naming the share made for its party.
func (h Shares) Approve(c *fiber.Ctx) error {
	r, _, err := h.Service.Approve(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return private(c).JSON(requestBody(r, textsFor(c, h.Catalogs)))
}

// Decline is POST /api/v1/me/share-requests/{id}/decline.
func (h Shares) Decline(c *fiber.Ctx) error {
	r, err := h.Service.Decline(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return private(c).JSON(requestBody(r, textsFor(c, h.Catalogs)))
}

func predicateBodies(ps []share.Predicate, t translate) []PredicateBody {
	out := make([]PredicateBody, 0, len(ps))
	for _, p := range ps {
		out = append(out, PredicateBody{Name: p.Name, Value: p.Value, Label: predicateLabel(p, t)})
	}
	return out
}

// predicateLabel is a predicate in words: its value is shown as given.
func predicateLabel(p share.Predicate, t translate) string {
	v := ""
	if p.Value != nil {
		v = fmt.Sprint(p.Value)
	}
	return t("share.predicate."+p.Name, map[string]any{"value": v})
}

func shareBody(sh share.Share, t translate) ShareBody {
	b := ShareBody{ID: sh.ID, Party: SharePartyBody{ID: sh.PartyID, Name: sh.PartyName}, Predicates: predicateBodies(sh.Predicates, t),
		ValidUntil: services.Instant(sh.ValidUntil), MaxUses: sh.MaxUses, Used: sh.Used, Status: sh.Status,
		StatusLabel: t("share.status."+sh.Status, nil), RequestID: sh.RequestID, CreatedAt: services.Instant(sh.CreatedAt),
		Usage: make([]ShareUseBody, 0, len(sh.Uses))}
	if !sh.RevokedAt.IsZero() {
		b.RevokedAt = services.Instant(sh.RevokedAt)
	}
	for _, u := range sh.Uses {
		ub := ShareUseBody{Party: SharePartyBody{ID: u.PartyID, Name: u.PartyName}, At: services.Instant(u.At), Counted: u.Counted,
			Answers: make([]AnswerBody, 0, len(u.Answers))}
		for _, a := range u.Answers {
			ub.Answers = append(ub.Answers, AnswerBody{Name: a.Name, Value: a.Value, Label: predicateLabel(a.Predicate, t),
				Answer: string(a.Answer), AnswerLabel: t("share.answer."+string(a.Answer), nil)})
		}
		b.Usage = append(b.Usage, ub)
	}
	return b
}

func requestBody(r share.Request, t translate) ShareRequestBody {
	b := ShareRequestBody{ID: r.ID, Party: SharePartyBody{ID: r.PartyID, Name: r.PartyName}, Predicates: predicateBodies(r.Predicates, t),
		Purpose: r.Purpose, ValidUntil: services.Instant(r.ValidUntil), MaxUses: r.MaxUses, Status: r.Status,
		StatusLabel: t("share_request.status."+r.Status, nil), ExpiresAt: services.Instant(r.ExpiresAt),
		CreatedAt: services.Instant(r.CreatedAt), ShareID: r.ShareID}
	if !r.DecidedAt.IsZero() {
		b.DecidedAt = services.Instant(r.DecidedAt)
	}
	return b
}
