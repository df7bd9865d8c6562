package repayment

import (
	"context"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/mask"
	"handheld/services/notify"
)

// AccountView is a repayment account as its person sees it: the number
// masked.
type AccountView struct {
	ID           string
	Kind         string
	NumberMasked string
	Institution  string
}

// RepaymentAccount is the account instalments are taken from and a change
// waiting for the next cycle.
type RepaymentAccount struct {
	Account       AccountView
	Pending       *AccountView
	EffectiveFrom string
}

func (s *Service) accountView(channel string, a core.PayoutAccount) AccountView {
	field := mask.BankCard
	if a.Kind == core.PayoutECNY {
		field = mask.ECNYWallet
	}
	return AccountView{ID: a.ID, Kind: a.Kind, NumberMasked: s.Mask.Apply(field, channel, a.Number), Institution: a.Institution}
}

func (s *Service) repaymentView(channel string, ra core.RepaymentAccount) RepaymentAccount {
	out := RepaymentAccount{Account: s.accountView(channel, ra.Account), EffectiveFrom: ra.EffectiveFrom}
	if ra.Pending != nil {
		v := s.accountView(channel, *ra.Pending)
		out.Pending = &v
	}
	return out
}

// RepaymentAccount is p's repayment account, masked; without a loan
// outstanding it is loan.none. Audited.
func (s *Service) RepaymentAccount(ctx context.Context, p services.Principal) (RepaymentAccount, error) {
	if err := p.Depositor(); err != nil {
		return RepaymentAccount{}, err
	}
	var out RepaymentAccount
	personID, err := s.People.PersonID(ctx, p.Subject)
	if err == nil {
		var ra core.RepaymentAccount
		if ra, err = s.Core.RepaymentAccount(ctx, personID); err == nil {
			out = s.repaymentView(p.Channel, ra)
		}
	}
	if err := s.audited(ctx, p, ActionReadAccount, "loan", err); err != nil {
		return RepaymentAccount{}, err
	}
	return out, nil
}

// ChangeRepaymentAccount takes the instalments from another of p's own
// accounts from the next cycle, and sends a security message. An account
// not theirs is loan.account_not_owned, checked here against the
// person's accounts before the core is asked. Audited.
func (s *Service) ChangeRepaymentAccount(ctx context.Context, p services.Principal, accountID string) (RepaymentAccount, error) {
	if err := p.Depositor(); err != nil {
		return RepaymentAccount{}, err
	}
	out, err := s.changeAccount(ctx, p, accountID)
	if err := s.audited(ctx, p, ActionChangeAccount, "loan", err); err != nil {
		return RepaymentAccount{}, err
	}
	return out, nil
}

func (s *Service) changeAccount(ctx context.Context, p services.Principal, accountID string) (RepaymentAccount, error) {
	if accountID == "" || len(accountID) > 64 {
		return RepaymentAccount{}, services.Invalid(services.FieldError{Field: "account_id", Code: services.FieldRequired})
	}
	personID, err := s.People.PersonID(ctx, p.Subject)
	if err != nil {
		return RepaymentAccount{}, err
	}
	before, err := s.Core.RepaymentAccount(ctx, personID)
	if err != nil {
		return RepaymentAccount{}, err
	}
	accounts, err := s.Core.PayoutAccounts(ctx, personID)
	if err != nil {
		return RepaymentAccount{}, err
	}
	owned := false
	for _, a := range accounts.Items {
		owned = owned || a.ID == accountID
	}
	if !owned {
		return RepaymentAccount{}, services.E(services.CodeLoanAccountNotOwned)
	}
	after, err := s.Core.ChangeRepaymentAccount(ctx, personID, accountID)
	if err != nil {
		return RepaymentAccount{}, err
	}
	if pendingID(before) != pendingID(after) {
		if err := s.Notices.Notice(ctx, p.Subject, notify.NoticeRepaymentAccountChanged); err != nil {
			s.Logger.ErrorContext(ctx, "repayment: security message not queued", "subject", p.Subject, "err", err)
		}
	}
	return s.repaymentView(p.Channel, after), nil
}

func pendingID(ra core.RepaymentAccount) string {
	if ra.Pending == nil {
		return ""
	}
	return ra.Pending.ID
}

// Position is where p's loan stands: the arrears with penalty to date
// for the loan and home screens.
func (s *Service) Position(ctx context.Context, p services.Principal) (core.LoanPosition, error) {
	if err := p.Depositor(); err != nil {
		return core.LoanPosition{}, err
	}
	personID, err := s.People.PersonID(ctx, p.Subject)
	if err != nil {
		return core.LoanPosition{}, err
	}
	return s.Core.LoanPosition(ctx, personID)
}

// Repayments is a page of p's repayment history, newest first, as the
// core pages it (limit 1..MaxLimit, 0 for DefaultLimit). Audited.
func (s *Service) Repayments(ctx context.Context, p services.Principal, limit int, cursor string) (core.RepaymentPage, error) {
	if err := p.Depositor(); err != nil {
		return core.RepaymentPage{}, err
	}
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return core.RepaymentPage{}, services.Invalid(services.FieldError{Field: "limit", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": 1, "max": MaxLimit}})
	}
	if len(cursor) > 200 {
		return core.RepaymentPage{}, services.Invalid(services.FieldError{Field: "cursor", Code: services.FieldFormat})
	}
	var page core.RepaymentPage
	personID, err := s.People.PersonID(ctx, p.Subject)
	if err == nil {
		page, err = s.Core.LoanRepayments(ctx, personID, limit, cursor)
		if services.ErrorCode(err) == services.CodeCoreRejected {
			err = services.Invalid(services.FieldError{Field: "cursor", Code: services.FieldFormat})
		}
	}
	if err := s.audited(ctx, p, ActionReadHistory, "loan", err); err != nil {
		return core.RepaymentPage{}, err
	}
	return page, nil
}

// Applications are p's loan applications made at a counter. Audited.
func (s *Service) Applications(ctx context.Context, p services.Principal) ([]core.LoanApplication, error) {
	if err := p.Depositor(); err != nil {
		return nil, err
	}
	var out []core.LoanApplication
	personID, err := s.People.PersonID(ctx, p.Subject)
	if err == nil {
		var list core.LoanApplicationList
		if list, err = s.Core.LoanApplications(ctx, personID); err == nil {
			out = list.Items
		}
	}
	if err := s.audited(ctx, p, ActionReadApps, "loan", err); err != nil {
		return nil, err
	}
	return out, nil
}
