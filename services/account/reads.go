package account

import (
	"context"
	"sync"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/mask"
)

// Account is the account screen: the account with its holder, masked for
// p's channel. A person without an account gets account.not_found.
func (s *Service) Account(ctx context.Context, p services.Principal) (AccountView, error) {
	personID, err := s.personID(ctx, p)
	if err != nil {
		return AccountView{}, err
	}
	v, err := s.account(ctx, p, personID)
	if err := s.audited(ctx, p, ActionAccount, err); err != nil {
		return AccountView{}, err
	}
	return v, nil
}

// account reads the account and the holder side by side: the screen needs
// both and neither waits for the other.
func (s *Service) account(ctx context.Context, p services.Principal, personID string) (AccountView, error) {
	var (
		wg      sync.WaitGroup
		acc     core.Account
		accF    core.Freshness
		accErr  error
		person  core.Person
		personF core.Freshness
	)
	wg.Go(func() { acc, accF, accErr = s.Reader.Account(ctx, personID) })
	person, personF, personErr := s.Reader.Person(ctx, personID)
	wg.Wait()
	switch {
	case accErr != nil:
		return AccountView{}, accErr
	case personErr != nil:
		return AccountView{}, personErr
	}
	v := accountView(acc, s.Mask, p.Channel)
	v.Holder = Holder{
		Name:     s.Mask.Apply(mask.Name, p.Channel, person.Name),
		IDNumber: s.Mask.Apply(mask.IDNumber, p.Channel, person.IDNumber),
	}
	v.Freshness = s.stamped(freshness(accF, personF))
	return v, nil
}

// Deposits is one page of the deposit history between two months
// (YYYY-MM, inclusive; see depositQuery for defaults and limits). cursor is
// a previous page's NextCursor.
func (s *Service) Deposits(ctx context.Context, p services.Principal, from, to string, limit int, cursor string) (DepositsView, error) {
	if err := p.Depositor(); err != nil {
		return DepositsView{}, err
	}
	q, err := s.depositQuery(p.Subject, from, to, limit, cursor)
	if err != nil {
		return DepositsView{}, err
	}
	personID, err := s.personID(ctx, p)
	if err != nil {
		return DepositsView{}, err
	}
	page, f, err := s.Reader.Deposits(ctx, personID, q)
	if err := s.audited(ctx, p, ActionDeposits, err); err != nil {
		return DepositsView{}, err
	}
	v := DepositsView{From: q.From, To: q.To, Items: make([]Entry, 0, len(page.Items)),
		NextCursor: s.seal.cursor(listDeposits, p.Subject, page.NextCursor), Freshness: s.stamped(f)}
	for _, d := range page.Items {
		v.Items = append(v.Items, Entry{
			ID: s.seal.entryID(p.Subject, d.ID), Month: d.Month, PostedOn: d.PostedOn, Kind: d.Kind,
			KindLabelKey: kindLabelKey(d.Kind), AmountFen: d.AmountFen, BalanceAfterFen: d.BalanceAfterFen,
		})
	}
	return v, nil
}

// Loan is the loan screen; a person without an HPF loan gets HasLoan false.
func (s *Service) Loan(ctx context.Context, p services.Principal) (LoanView, error) {
	personID, err := s.personID(ctx, p)
	if err != nil {
		return LoanView{}, err
	}
	l, f, err := s.Reader.Loan(ctx, personID)
	if err := s.audited(ctx, p, ActionLoan, err); err != nil {
		return LoanView{}, err
	}
	v := loanView(l)
	v.Freshness = s.stamped(f)
	return v, nil
}

// Schedule is one page of the repayment plan, limit rows (1–MaxLimit) from
// cursor; no loan is an empty plan.
func (s *Service) Schedule(ctx context.Context, p services.Principal, limit int, cursor string) (ScheduleView, error) {
	if err := p.Depositor(); err != nil {
		return ScheduleView{}, err
	}
	var fields []services.FieldError
	if f, ok := checkLimit(limit); !ok {
		fields = append(fields, f)
	}
	coreCursor, err := s.seal.open(listSchedule, p.Subject, cursor)
	if err != nil {
		fields = append(fields, services.FieldError{Field: "cursor", Code: services.FieldFormat})
	}
	if len(fields) > 0 {
		return ScheduleView{}, services.Invalid(fields...)
	}
	personID, err := s.personID(ctx, p)
	if err != nil {
		return ScheduleView{}, err
	}
	page, f, err := s.Reader.LoanSchedule(ctx, personID, limit, coreCursor)
	if err := s.audited(ctx, p, ActionLoanSchedule, err); err != nil {
		return ScheduleView{}, err
	}
	v := ScheduleView{Items: make([]Instalment, 0, len(page.Items)),
		NextCursor: s.seal.cursor(listSchedule, p.Subject, page.NextCursor), Freshness: s.stamped(f)}
	for _, in := range page.Items {
		v.Items = append(v.Items, Instalment{
			Period: in.Period, DueOn: in.DueOn, PaymentFen: in.PaymentFen, PrincipalFen: in.PrincipalFen,
			InterestFen: in.InterestFen, RemainingFen: in.RemainingFen, Status: in.Status,
			StatusLabelKey: instalmentLabelKey(in.Status),
		})
	}
	return v, nil
}
