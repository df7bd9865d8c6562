package depositor

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/locales"
	"handheld/services"
	"handheld/services/platform"
)

// ElsewhereReads is what the accounts-elsewhere route needs from
// services/platform; *platform.Service provides it.
type ElsewhereReads interface {
	AccountsElsewhere(ctx context.Context, p services.Principal) (platform.ElsewhereView, error)
}

// Elsewhere serves the person's accounts at other centres, read through
// the national HPF platform (issue 18). The person is the token's
// subject: no parameter names a person, and the platform is asked with the
// ID number and name of the core's person record.
type Elsewhere struct {
	Service  ElsewhereReads
	Catalogs *locales.Catalogs
}

// Routes registers GET /me/accounts-elsewhere behind guards (the
// platform_read limit and the platform service switch).
func (h Elsewhere) Routes(me fiber.Router, guards ...fiber.Handler) {
	me.Get("/accounts-elsewhere", append(append([]fiber.Handler{}, guards...), h.List)...)
}

// AccountElsewhereBody is one account at another centre. AccountRef is
// masked as an account number; BalanceFen is present only where the
// centre shares balances over the platform (BalanceShared).
type AccountElsewhereBody struct {
	Centre           string `json:"centre"`
	CentreName       string `json:"centre_name"`
	AccountRef       string `json:"account_ref"`
	Status           string `json:"status"`
	StatusLabel      string `json:"status_label"`
	BalanceShared    bool   `json:"balance_shared"`
	BalanceFen       *int64 `json:"balance_fen,omitempty"`
	LastDepositMonth string `json:"last_deposit_month,omitempty"`
	UnitName         string `json:"unit_name,omitempty"`
	OpenedOn         string `json:"opened_on,omitempty"`
}

// ElsewhereBody is GET /api/v1/me/accounts-elsewhere's answer. Complete
// is false when some centres did not answer (Unanswered): the list may
// then miss accounts there.
type ElsewhereBody struct {
	Items      []AccountElsewhereBody `json:"items"`
	Complete   bool                   `json:"complete"`
	Unanswered []string               `json:"unanswered"`
	Reference  string                 `json:"reference"`
	AsOf       string                 `json:"as_of"`
}

// List is GET /api/v1/me/accounts-elsewhere.
func (h Elsewhere) List(c *fiber.Ctx) error {
	v, err := h.Service.AccountsElsewhere(c.UserContext(), middleware.PrincipalOf(c))
	if err != nil {
		return err
	}
	t := textsFor(c, h.Catalogs)
	body := ElsewhereBody{Items: make([]AccountElsewhereBody, 0, len(v.Items)), Complete: len(v.Unanswered) == 0,
		Unanswered: v.Unanswered, Reference: v.Reference, AsOf: services.Instant(v.AsOf)}
	for _, a := range v.Items {
		body.Items = append(body.Items, AccountElsewhereBody{Centre: a.Centre, CentreName: a.CentreName, AccountRef: a.AccountRefMasked,
			Status: a.Status, StatusLabel: t("platform.status."+a.Status, nil), BalanceShared: a.BalanceShared, BalanceFen: a.BalanceFen,
			LastDepositMonth: a.LastDepositMonth, UnitName: a.UnitName, OpenedOn: a.OpenedOn})
	}
	if body.Unanswered == nil {
		body.Unanswered = []string{}
	}
	return private(c).JSON(body)
}
