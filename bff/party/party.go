// Package party serves relying parties — banks, rental platforms,
// employers — holding party tokens (POST /api/v1/auth/party): redeeming
// the yes/no answers a person shared with them, and asking a person for
// a share (issue 20). Every route needs a party token.
package party

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/services"
	"handheld/services/share"
)

// Shares is what the party routes need from services/share;
// *share.Service provides it.
type Shares interface {
	Redeem(ctx context.Context, p services.Principal, r share.Redeem) (share.Redemption, error)
	Ask(ctx context.Context, p services.Principal, r share.NewRequest) (share.Request, error)
	Asked(ctx context.Context, p services.Principal, id string) (share.Request, error)
}

// Handlers serve the party routes.
type Handlers struct {
	Shares Shares
}

// Routes registers the routes on the /api/v1 group: guard checks the
// token and admits role party; redeem, ask and read are each route's
// limit; once is the Idempotency-Key of asking.
func (h Handlers) Routes(v1 fiber.Router, guard []fiber.Handler, redeem, ask, once, read fiber.Handler) {
	with := func(hs ...fiber.Handler) []fiber.Handler { return append(append([]fiber.Handler{}, guard...), hs...) }
	v1.Post("/shares/redeem", with(redeem, h.Redeem)...)
	v1.Post("/share-requests", with(ask, once, h.Ask)...)
	v1.Get("/share-requests/:id", with(read, h.Asked)...)
}

// RedeemRequest is the body of POST /api/v1/shares/redeem: the code the
// person handed over, or the id of the party's request the person
// approved; exactly one.
type RedeemRequest struct {
	Code      string `json:"code,omitzero"`
	RequestID string `json:"request_id,omitzero"`
}

// AnswerBody is one predicate with its answer: yes, no or cannot_tell.
type AnswerBody struct {
	Name   string `json:"name"`
	Value  any    `json:"value,omitempty"`
	Answer string `json:"answer"`
}

// RedemptionBody is the answer to a redemption: the answers, and the same
// signed (a compact JWS, typ hpf-share+jwt, kid in /.well-known/jwks.json).
type RedemptionBody struct {
	ShareID  string       `json:"share_id"`
	Answers  []AnswerBody `json:"answers"`
	JWS      string       `json:"jws"`
	IssuedAt string       `json:"issued_at"`
	UsesLeft int          `json:"uses_left"`
}

// Redeem is POST /api/v1/shares/redeem.
func (h Handlers) Redeem(c *fiber.Ctx) error {
	var req RedeemRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	res, err := h.Shares.Redeem(c.UserContext(), middleware.PrincipalOf(c), share.Redeem{Code: req.Code, RequestID: req.RequestID})
	if err != nil {
		return err
	}
	body := RedemptionBody{ShareID: res.ShareID, JWS: res.JWS, IssuedAt: services.Instant(res.IssuedAt), UsesLeft: res.UsesLeft,
		Answers: make([]AnswerBody, 0, len(res.Answers))}
	for _, a := range res.Answers {
		body.Answers = append(body.Answers, AnswerBody{Name: a.Name, Value: a.Value, Answer: string(a.Answer)})
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(body)
}

// AskRequest is the body of POST /api/v1/share-requests: the person (by
// the ID number and name they gave the party), the predicates, the
// share's validity and uses, and why (shown to the person).
type AskRequest struct {
	IDNumber   string              `json:"id_number"`
	Name       string              `json:"name"`
	Predicates []request.Predicate `json:"predicates"`
	Purpose    string              `json:"purpose,omitzero"`
	ValidUntil string              `json:"valid_until"`
	MaxUses    int                 `json:"max_uses"`
}

// PredicateBody is a predicate asked.
type PredicateBody struct {
	Name  string `json:"name"`
	Value any    `json:"value,omitempty"`
}

// RequestBody is a party's request as the party sees it: never the
// person, only whether they approved (with the share to redeem by the
// request's id), declined, or have not answered (pending, then expired).
type RequestBody struct {
	ID         string          `json:"id"`
	Predicates []PredicateBody `json:"predicates"`
	Purpose    string          `json:"purpose,omitempty"`
	ValidUntil string          `json:"valid_until"`
	MaxUses    int             `json:"max_uses"`
	Status     string          `json:"status"`
	ExpiresAt  string          `json:"expires_at"`
	CreatedAt  string          `json:"created_at"`
	DecidedAt  string          `json:"decided_at,omitempty"`
	ShareID    string          `json:"share_id,omitempty"`
}

// Ask is POST /api/v1/share-requests (Idempotency-Key required): 201,
// the same whether or not the person is a depositor.
func (h Handlers) Ask(c *fiber.Ctx) error {
	var req AskRequest
	if err := request.DecodeJSON(c, &req); err != nil {
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
	r, err := h.Shares.Ask(c.UserContext(), middleware.PrincipalOf(c), share.NewRequest{IDNumber: req.IDNumber, Name: req.Name,
		Predicates: preds, Purpose: req.Purpose, ValidUntil: until, MaxUses: req.MaxUses})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, "/api/v1/share-requests/"+r.ID)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(requestBody(r))
}

// Asked is GET /api/v1/share-requests/{id}: one of the party's own.
func (h Handlers) Asked(c *fiber.Ctx) error {
	r, err := h.Shares.Asked(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(requestBody(r))
}

func requestBody(r share.Request) RequestBody {
	b := RequestBody{ID: r.ID, Purpose: r.Purpose, ValidUntil: services.Instant(r.ValidUntil), MaxUses: r.MaxUses, Status: r.Status,
		ExpiresAt: services.Instant(r.ExpiresAt), CreatedAt: services.Instant(r.CreatedAt), ShareID: r.ShareID,
		Predicates: make([]PredicateBody, 0, len(r.Predicates))}
	if !r.DecidedAt.IsZero() {
		b.DecidedAt = services.Instant(r.DecidedAt)
	}
	for _, p := range r.Predicates {
		b.Predicates = append(b.Predicates, PredicateBody{Name: p.Name, Value: p.Value})
	}
	return b
}
