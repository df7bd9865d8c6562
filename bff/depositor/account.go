package depositor

import (
	"context"
	"math"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/locales"
	"handheld/services"
	"handheld/services/account"
)

// AccountReads is what the account screens need from services/account;
// *account.Service provides it.
type AccountReads interface {
	Account(ctx context.Context, p services.Principal) (account.AccountView, error)
	Deposits(ctx context.Context, p services.Principal, from, to string, limit int, cursor string) (account.DepositsView, error)
	Loan(ctx context.Context, p services.Principal) (account.LoanView, error)
	Schedule(ctx context.Context, p services.Principal, limit int, cursor string) (account.ScheduleView, error)
	Home(ctx context.Context, p services.Principal) (account.HomeView, error)
}

// Account serves the depositor's own account screens on the /api/v1/me
// group, which admits depositor tokens of every channel (mini-program and
// kiosk citizens alike). The person is always the token's subject: no path
// or query parameter names a person, and parameters a route does not know
// (?person_id=, ?subject=) are ignored like any other unknown parameter,
// so they can select nothing. Every answer is personal data and carries
// Cache-Control: no-store.
type Account struct {
	Service  AccountReads
	Catalogs *locales.Catalogs
	// Messages counts the unread messages the home screen shows
	// (*inbox.Service); nil leaves the count out.
	Messages interface {
		Unread(ctx context.Context, p services.Principal) (int, error)
	}
}

// Routes registers the five screens on the /me group.
func (h Account) Routes(me fiber.Router) {
	me.Get("/home", h.Home)
	me.Get("/account", h.Details)
	me.Get("/deposits", h.Deposits)
	me.Get("/loan", h.Loan)
	me.Get("/loan/schedule", h.Schedule)
}

// Home is GET /api/v1/me/home: the summary screen, partial ("degraded")
// when a core system is slow or down.
func (h Account) Home(c *fiber.Ctx) error {
	v, err := h.Service.Home(c.UserContext(), middleware.PrincipalOf(c))
	if err != nil {
		return err
	}
	body := homeBody(v, h.text(c))
	if h.Messages != nil {
		// The count is a badge: without it the screen still stands.
		if n, err := h.Messages.Unread(c.UserContext(), middleware.PrincipalOf(c)); err == nil {
			body.UnreadMessages = &n
		}
	}
	return private(c).JSON(body)
}

// Details is GET /api/v1/me/account.
func (h Account) Details(c *fiber.Ctx) error {
	v, err := h.Service.Account(c.UserContext(), middleware.PrincipalOf(c))
	if err != nil {
		return err
	}
	return private(c).JSON(accountBody(v, h.text(c)))
}

// Deposits is GET /api/v1/me/deposits?from=&to=&limit=&cursor=.
func (h Account) Deposits(c *fiber.Ctx) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	v, err := h.Service.Deposits(c.UserContext(), middleware.PrincipalOf(c), c.Query("from"), c.Query("to"), limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	return private(c).JSON(depositsBody(v, h.text(c)))
}

// Loan is GET /api/v1/me/loan: {"has_loan": false, ...} without a loan.
func (h Account) Loan(c *fiber.Ctx) error {
	v, err := h.Service.Loan(c.UserContext(), middleware.PrincipalOf(c))
	if err != nil {
		return err
	}
	return private(c).JSON(loanBody(v, h.text(c)))
}

// Schedule is GET /api/v1/me/loan/schedule?limit=&cursor=.
func (h Account) Schedule(c *fiber.Ctx) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	v, err := h.Service.Schedule(c.UserContext(), middleware.PrincipalOf(c), limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	return private(c).JSON(scheduleBody(v, h.text(c)))
}

// limitParam reads ?limit=: the default page size (20) when absent, a
// field error when not a number. The range (1–100) is the service's to
// check, with the other fields; a huge number is passed on as one past it.
func limitParam(c *fiber.Ctx) (int, error) {
	q := request.NewQuery(c)
	n := q.Int64("limit", account.DefaultLimit, math.MinInt64, math.MaxInt64, false)
	if err := q.Err(); err != nil {
		return 0, err
	}
	return int(max(min(n, account.MaxLimit+1), 0)), nil
}

// private marks a response as personal data no cache may keep.
func private(c *fiber.Ctx) *fiber.Ctx {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c
}

// text looks up labels in the request's language, and says which.
func (h Account) text(c *fiber.Ctx) translate { return textsFor(c, h.Catalogs) }

// textsFor looks up labels in the request's language, and says which in
// Content-Language.
func textsFor(c *fiber.Ctx, cat *locales.Catalogs) translate {
	lang := middleware.Lang(c, cat)
	c.Set(fiber.HeaderContentLanguage, lang)
	return func(key string, params map[string]any) string { return cat.T(lang, key, params) }
}
