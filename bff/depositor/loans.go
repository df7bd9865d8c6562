package depositor

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/locales"
	"handheld/services"
	"handheld/services/core"
	"handheld/services/loan"
	"handheld/services/repayment"
)

// LoanUses is what the loan holders' routes need from services/repayment;
// *repayment.Service provides it.
type LoanUses interface {
	Quote(ctx context.Context, p services.Principal, amountFen int64, mode string) (repayment.Quote, error)
	Prepay(ctx context.Context, p services.Principal, r repayment.Request) (repayment.Payment, bool, error)
	PayArrears(ctx context.Context, p services.Principal, r repayment.Request) (repayment.Payment, bool, error)
	Get(ctx context.Context, p services.Principal, id string) (repayment.Payment, error)
	List(ctx context.Context, p services.Principal, limit int, cursor string) ([]repayment.Payment, string, error)
	RepaymentAccount(ctx context.Context, p services.Principal) (repayment.RepaymentAccount, error)
	ChangeRepaymentAccount(ctx context.Context, p services.Principal, accountID string) (repayment.RepaymentAccount, error)
	Position(ctx context.Context, p services.Principal) (core.LoanPosition, error)
	Repayments(ctx context.Context, p services.Principal, limit int, cursor string) (core.RepaymentPage, error)
	Applications(ctx context.Context, p services.Principal) ([]core.LoanApplication, error)
}

// Loans serves the loan holders' services (issue 21) on the /me group:
// the early-repayment quote and payments (202, applied by the core
// later), the repayment account, arrears, the repayment history and loan
// applications.
type Loans struct {
	Service  LoanUses
	Catalogs *locales.Catalogs
}

// Routes registers the routes. write (the loan_write rate-limit class)
// runs before the writes, stepUp (a recent face check) before the writes
// that move money or change where it comes from; the Idempotency-Key of a
// payment is kept by the service.
func (h Loans) Routes(me fiber.Router, write, stepUp fiber.Handler) {
	me.Get("/loan/prepayment/quote", h.Quote)
	me.Post("/loan/prepayments", stepUp, write, h.Prepay)
	me.Get("/loan/prepayments", h.List)
	me.Get("/loan/prepayments/:id", h.Get)
	me.Get("/loan/repayment-account", h.RepaymentAccount)
	me.Put("/loan/repayment-account", stepUp, write, h.ChangeRepaymentAccount)
	me.Get("/loan/arrears", h.Arrears)
	me.Post("/loan/arrears/payments", stepUp, write, h.PayArrears)
	me.Get("/loan/repayments", h.Repayments)
	me.Get("/loan/applications", h.Applications)
}

// QuoteRowBody is one row of a schedule, numbered as the loan's period.
type QuoteRowBody struct {
	Period       int    `json:"period"`
	DueOn        string `json:"due_on,omitempty"`
	PaymentFen   int64  `json:"payment_fen"`
	PrincipalFen int64  `json:"principal_fen"`
	InterestFen  int64  `json:"interest_fen"`
	RemainingFen int64  `json:"remaining_fen"`
}

// QuoteBody is GET /api/v1/me/loan/prepayment/quote.
type QuoteBody struct {
	AmountFen         int64          `json:"amount_fen"`
	Mode              string         `json:"mode"`
	ModeLabel         string         `json:"mode_label"`
	OwedBeforeFen     int64          `json:"owed_before_fen"`
	OwedAfterFen      int64          `json:"owed_after_fen"`
	Settles           bool           `json:"settles"`
	MonthsBefore      int            `json:"months_before"`
	MonthsAfter       int            `json:"months_after"`
	PaymentBeforeFen  int64          `json:"payment_before_fen"`
	PaymentAfterFen   int64          `json:"payment_after_fen"`
	InterestBeforeFen int64          `json:"interest_before_fen"`
	InterestAfterFen  int64          `json:"interest_after_fen"`
	InterestSavedFen  int64          `json:"interest_saved_fen"`
	EffectiveOn       string         `json:"effective_on"`
	FirstInstalmentOn string         `json:"first_instalment_on"`
	Rows              []QuoteRowBody `json:"rows"`
}

// Quote is GET /api/v1/me/loan/prepayment/quote?amount_fen=&mode=.
func (h Loans) Quote(c *fiber.Ctx) error {
	q := request.NewQuery(c)
	amount := q.Int64("amount_fen", 0, 1, 1_000_000_000, true)
	mode := q.OneOf("mode", "", loan.Modes()...)
	if err := q.Err(); err != nil {
		return err
	}
	if mode == "" {
		return services.Invalid(services.FieldError{Field: "mode", Code: services.FieldRequired, Params: map[string]any{"allowed": loan.Modes()}})
	}
	v, err := h.Service.Quote(c.UserContext(), middleware.PrincipalOf(c), amount, mode)
	if err != nil {
		return err
	}
	t := textsFor(c, h.Catalogs)
	body := QuoteBody{AmountFen: v.AmountFen, Mode: string(v.Mode), ModeLabel: t("loan.mode."+string(v.Mode), nil),
		OwedBeforeFen: v.OwedBeforeFen, OwedAfterFen: v.OwedAfterFen, Settles: v.Settles, MonthsBefore: v.MonthsBefore,
		MonthsAfter: v.MonthsAfter, PaymentBeforeFen: v.PaymentBeforeFen, PaymentAfterFen: v.PaymentAfterFen,
		InterestBeforeFen: v.InterestBeforeFen, InterestAfterFen: v.InterestAfterFen, InterestSavedFen: v.InterestSavedFen,
		EffectiveOn: v.EffectiveOn, FirstInstalmentOn: v.FirstInstalmentOn, Rows: []QuoteRowBody{}}
	for i, r := range v.After.Rows {
		if i == repayment.QuoteRows {
			break
		}
		body.Rows = append(body.Rows, QuoteRowBody{Period: v.FirstPeriod + i, PaymentFen: r.PaymentFen, PrincipalFen: r.PrincipalFen,
			InterestFen: r.InterestFen, RemainingFen: r.RemainingFen})
	}
	return private(c).JSON(body)
}

// PaymentSource says where the money comes from: one of the caller's own
// accounts (by the id GET /me/payout-accounts gives) or the HPF balance.
type PaymentSource struct {
	AccountID  string `json:"account_id"`
	HPFBalance bool   `json:"hpf_balance"`
}

// PrepaymentRequest is POST /api/v1/me/loan/prepayments's body.
type PrepaymentRequest struct {
	AmountFen int64         `json:"amount_fen"`
	Mode      string        `json:"mode"`
	Source    PaymentSource `json:"source"`
}

// ArrearsPaymentRequest is POST /api/v1/me/loan/arrears/payments's body.
type ArrearsPaymentRequest struct {
	Source PaymentSource `json:"source"`
}

// LoanPaymentEventBody is one status a payment took.
type LoanPaymentEventBody struct {
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	Reason      string `json:"reason,omitempty"`
	At          string `json:"at"`
}

// LoanPaymentBody is an early repayment or arrears payment as its person
// sees it: the case, its progress and, once applied, what it changed.
type LoanPaymentBody struct {
	ID               string                 `json:"id"`
	CaseNumber       string                 `json:"case_number"`
	Type             string                 `json:"type"`
	TypeLabel        string                 `json:"type_label"`
	AmountFen        int64                  `json:"amount_fen"`
	Mode             string                 `json:"mode,omitempty"`
	Source           PaymentSource          `json:"source"`
	Status           string                 `json:"status"`
	StatusLabel      string                 `json:"status_label"`
	Reason           string                 `json:"reason,omitempty"`
	ReasonLabel      string                 `json:"reason_label,omitempty"`
	InterestSavedFen int64                  `json:"interest_saved_fen"`
	PenaltyFen       int64                  `json:"penalty_fen"`
	MonthsAfter      int                    `json:"months_after"`
	PaymentAfterFen  int64                  `json:"payment_after_fen"`
	Settled          bool                   `json:"settled"`
	AppliedOn        string                 `json:"applied_on,omitempty"`
	CreatedAt        string                 `json:"created_at"`
	UpdatedAt        string                 `json:"updated_at"`
	DueOn            string                 `json:"due_on"`
	Events           []LoanPaymentEventBody `json:"events,omitempty"`
}

// LoanPaymentListBody is GET /api/v1/me/loan/prepayments.
type LoanPaymentListBody struct {
	Items      []LoanPaymentBody `json:"items"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

// Prepay is POST /api/v1/me/loan/prepayments (Idempotency-Key required).
func (h Loans) Prepay(c *fiber.Ctx) error {
	var req PrepaymentRequest
	return h.pay(c, &req, func(r repayment.Request) (repayment.Payment, bool, error) {
		r.AmountFen, r.Mode, r.SourceAccountID, r.FromHPF = req.AmountFen, req.Mode, req.Source.AccountID, req.Source.HPFBalance
		return h.Service.Prepay(c.UserContext(), middleware.PrincipalOf(c), r)
	})
}

// PayArrears is POST /api/v1/me/loan/arrears/payments (Idempotency-Key
// required): every overdue instalment with its penalty to date.
func (h Loans) PayArrears(c *fiber.Ctx) error {
	var req ArrearsPaymentRequest
	return h.pay(c, &req, func(r repayment.Request) (repayment.Payment, bool, error) {
		r.SourceAccountID, r.FromHPF = req.Source.AccountID, req.Source.HPFBalance
		return h.Service.PayArrears(c.UserContext(), middleware.PrincipalOf(c), r)
	})
}

func (h Loans) pay(c *fiber.Ctx, req any, do func(repayment.Request) (repayment.Payment, bool, error)) error {
	key, hash, err := middleware.IdempotencyKeyOf(c)
	if err != nil {
		return err
	}
	if err := request.DecodeJSON(c, req); err != nil {
		return err
	}
	v, replayed, err := do(repayment.Request{IdempotencyKey: key, RequestHash: hash, Locale: middleware.Lang(c, h.Catalogs)})
	if err != nil {
		return err
	}
	if replayed {
		c.Set(middleware.HeaderIdempotentReplayed, "true")
	}
	c.Set(fiber.HeaderLocation, "/api/v1/me/loan/prepayments/"+v.ID)
	return private(c).Status(fiber.StatusAccepted).JSON(loanPaymentBody(v, textsFor(c, h.Catalogs)))
}

// Get is GET /api/v1/me/loan/prepayments/{id}: the payment and every
// status it took.
func (h Loans) Get(c *fiber.Ctx) error {
	v, err := h.Service.Get(c.UserContext(), middleware.PrincipalOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return private(c).JSON(loanPaymentBody(v, textsFor(c, h.Catalogs)))
}

// List is GET /api/v1/me/loan/prepayments?limit=&cursor=, newest first.
func (h Loans) List(c *fiber.Ctx) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	items, next, err := h.Service.List(c.UserContext(), middleware.PrincipalOf(c), limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	t := textsFor(c, h.Catalogs)
	body := LoanPaymentListBody{Items: make([]LoanPaymentBody, 0, len(items)), NextCursor: next}
	for _, x := range items {
		body.Items = append(body.Items, loanPaymentBody(x, t))
	}
	return private(c).JSON(body)
}

func loanPaymentBody(x repayment.Payment, t translate) LoanPaymentBody {
	b := LoanPaymentBody{ID: x.ID, CaseNumber: x.CaseNumber, Type: "loan_" + x.Kind, TypeLabel: t("loan.payment."+x.Kind, nil),
		AmountFen: x.AmountFen, Mode: x.Mode, Source: PaymentSource{AccountID: x.SourceAccountID, HPFBalance: x.FromHPF},
		Status: x.Status, StatusLabel: t("loan.payment_status."+x.Status, nil), Reason: x.Reason,
		InterestSavedFen: x.InterestSavedFen, PenaltyFen: x.PenaltyFen, MonthsAfter: x.MonthsAfter, PaymentAfterFen: x.PaymentAfterFen,
		Settled: x.Settled, AppliedOn: x.AppliedOn, CreatedAt: services.Instant(x.CreatedAt), UpdatedAt: services.Instant(x.UpdatedAt),
		DueOn: x.DueOn}
	if x.Reason != "" {
		b.ReasonLabel = t("loan.reason."+x.Reason, nil)
	}
	for _, e := range x.Events {
		b.Events = append(b.Events, LoanPaymentEventBody{Status: e.Status, StatusLabel: t("loan.payment_status."+e.Status, nil),
			Reason: e.Reason, At: services.Instant(e.At)})
	}
	return b
}

// RepaymentAccountBody is GET/PUT /api/v1/me/loan/repayment-account: the
// account instalments are taken from, masked, and a change waiting for
// the next cycle.
type RepaymentAccountBody struct {
	Account       PayoutAccountBody  `json:"account"`
	Pending       *PayoutAccountBody `json:"pending,omitempty"`
	EffectiveFrom string             `json:"effective_from,omitempty"`
}

// RepaymentAccountRequest is PUT /api/v1/me/loan/repayment-account's body.
type RepaymentAccountRequest struct {
	AccountID string `json:"account_id"`
}

func repaymentSourceBody(a repayment.AccountView, t translate) PayoutAccountBody {
	return PayoutAccountBody{ID: a.ID, Kind: a.Kind, KindLabel: t("payout.kind."+a.Kind, nil), NumberMasked: a.NumberMasked,
		Institution: a.Institution}
}

func repaymentAccountBody(v repayment.RepaymentAccount, t translate) RepaymentAccountBody {
	b := RepaymentAccountBody{Account: repaymentSourceBody(v.Account, t), EffectiveFrom: v.EffectiveFrom}
	if v.Pending != nil {
		p := repaymentSourceBody(*v.Pending, t)
		b.Pending = &p
	}
	return b
}

// RepaymentAccount is GET /api/v1/me/loan/repayment-account.
func (h Loans) RepaymentAccount(c *fiber.Ctx) error {
	v, err := h.Service.RepaymentAccount(c.UserContext(), middleware.PrincipalOf(c))
	if err != nil {
		return err
	}
	return private(c).JSON(repaymentAccountBody(v, textsFor(c, h.Catalogs)))
}

// ChangeRepaymentAccount is PUT /api/v1/me/loan/repayment-account: one of
// the caller's own accounts, from the next cycle.
func (h Loans) ChangeRepaymentAccount(c *fiber.Ctx) error {
	var req RepaymentAccountRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	v, err := h.Service.ChangeRepaymentAccount(c.UserContext(), middleware.PrincipalOf(c), req.AccountID)
	if err != nil {
		return err
	}
	return private(c).JSON(repaymentAccountBody(v, textsFor(c, h.Catalogs)))
}

// ArrearsBody is GET /api/v1/me/loan/arrears: the overdue instalments and
// their penalty interest to date.
type ArrearsBody struct {
	HasLoan        bool   `json:"has_loan"`
	OverduePeriods int    `json:"overdue_periods"`
	ArrearsFen     int64  `json:"arrears_fen"`
	PenaltyFen     int64  `json:"penalty_fen"`
	TotalFen       int64  `json:"total_fen"`
	OverdueSince   string `json:"overdue_since,omitempty"`
}

// Arrears is GET /api/v1/me/loan/arrears.
func (h Loans) Arrears(c *fiber.Ctx) error {
	pos, err := h.Service.Position(c.UserContext(), middleware.PrincipalOf(c))
	if err != nil {
		return err
	}
	return private(c).JSON(ArrearsBody{HasLoan: pos.HasLoan && !pos.Settled, OverduePeriods: pos.OverduePeriods, ArrearsFen: pos.ArrearsFen,
		PenaltyFen: pos.PenaltyFen, TotalFen: pos.ArrearsFen + pos.PenaltyFen, OverdueSince: pos.OverdueSince})
}

// RepaymentBody is one payment into the loan.
type RepaymentBody struct {
	ID           string `json:"id"`
	PaidOn       string `json:"paid_on"`
	Kind         string `json:"kind"`
	KindLabel    string `json:"kind_label"`
	Period       int    `json:"period,omitempty"`
	AmountFen    int64  `json:"amount_fen"`
	PrincipalFen int64  `json:"principal_fen"`
	InterestFen  int64  `json:"interest_fen"`
	PenaltyFen   int64  `json:"penalty_fen"`
}

// RepaymentListBody is GET /api/v1/me/loan/repayments.
type RepaymentListBody struct {
	Items      []RepaymentBody `json:"items"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

// Repayments is GET /api/v1/me/loan/repayments?limit=&cursor=, newest
// first.
func (h Loans) Repayments(c *fiber.Ctx) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	page, err := h.Service.Repayments(c.UserContext(), middleware.PrincipalOf(c), limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	t := textsFor(c, h.Catalogs)
	body := RepaymentListBody{Items: make([]RepaymentBody, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, r := range page.Items {
		body.Items = append(body.Items, RepaymentBody{ID: r.ID, PaidOn: r.PaidOn, Kind: r.Kind, KindLabel: t("loan.repayment."+r.Kind, nil),
			Period: r.Period, AmountFen: r.AmountFen, PrincipalFen: r.PrincipalFen, InterestFen: r.InterestFen, PenaltyFen: r.PenaltyFen})
	}
	return private(c).JSON(body)
}

// LoanApplicationBody is one loan applied for at a counter.
type LoanApplicationBody struct {
	ID          string `json:"id"`
	AppliedOn   string `json:"applied_on"`
	AmountFen   int64  `json:"amount_fen"`
	Months      int    `json:"months"`
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	UpdatedOn   string `json:"updated_on"`
	Branch      string `json:"branch"`
}

// LoanApplicationListBody is GET /api/v1/me/loan/applications.
type LoanApplicationListBody struct {
	Items []LoanApplicationBody `json:"items"`
}

// Applications is GET /api/v1/me/loan/applications.
func (h Loans) Applications(c *fiber.Ctx) error {
	items, err := h.Service.Applications(c.UserContext(), middleware.PrincipalOf(c))
	if err != nil {
		return err
	}
	t := textsFor(c, h.Catalogs)
	body := LoanApplicationListBody{Items: make([]LoanApplicationBody, 0, len(items))}
	for _, a := range items {
		body.Items = append(body.Items, LoanApplicationBody{ID: a.ApplicationID, AppliedOn: a.AppliedOn, AmountFen: a.AmountFen,
			Months: a.Months, Status: a.Status, StatusLabel: t("loan.application."+a.Status, nil), UpdatedOn: a.UpdatedOn, Branch: a.Branch})
	}
	return private(c).JSON(body)
}
