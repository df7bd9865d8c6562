package repayment

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/loan"
	"handheld/services/outbox"
	"handheld/services/store"
)

// QuoteRows is how many rows of the new schedule a quote shows.
const QuoteRows = 12

// Quote is an early repayment worked out for the person's loan: the
// services/loan quote and the dates it takes effect.
type Quote struct {
	loan.Quote
	// EffectiveOn is the day the money is taken (today);
	// FirstInstalmentOn the due date of the first instalment of the new
	// schedule (the next one).
	EffectiveOn       string
	FirstInstalmentOn string
	// FirstPeriod is the loan's period number of the new schedule's first
	// row.
	FirstPeriod int
}

// Quote works out an early repayment of amountFen in mode on p's loan,
// refusing what the policy would refuse. Nothing is written but the audit
// record.
func (s *Service) Quote(ctx context.Context, p services.Principal, amountFen int64, mode string) (Quote, error) {
	if err := p.Depositor(); err != nil {
		return Quote{}, err
	}
	q, err := s.quote(ctx, p.Subject, amountFen, mode)
	if err := s.audited(ctx, p, ActionQuote, "loan", err); err != nil {
		return Quote{}, err
	}
	return q, nil
}

func (s *Service) quote(ctx context.Context, subject string, amountFen int64, mode string) (Quote, error) {
	if err := checkInput(amountFen, mode); err != nil {
		return Quote{}, err
	}
	personID, err := s.People.PersonID(ctx, subject)
	if err != nil {
		return Quote{}, err
	}
	policy, err := s.Core.LoanPolicy(ctx)
	if err != nil {
		return Quote{}, err
	}
	pos, err := s.Core.LoanPosition(ctx, personID)
	if err != nil {
		return Quote{}, err
	}
	return s.judge(policy, pos, amountFen, mode)
}

// judge applies the policy's rules to pos and works out the quote.
func (s *Service) judge(policy core.LoanPolicy, pos core.LoanPosition, amountFen int64, mode string) (Quote, error) {
	if reason := core.PrepaymentRule(policy, pos, amountFen, mode, s.Now()); reason != "" {
		e := &services.Error{Code: reasonCode(reason), Cause: fmt.Errorf("repayment: %s", reason)}
		switch reason {
		case core.ReasonModeRefused:
			e.Fields = []services.FieldError{{Field: "mode", Code: services.FieldOneOf, Params: map[string]any{"allowed": policy.PrepayModes}}}
		case core.ReasonBelowMinimum:
			e.Params = map[string]any{"min_fen": policy.PrepayMinFen}
		case core.ReasonAboveOwed:
			e.Params = map[string]any{"owed_fen": pos.OwedFen}
		case core.ReasonAfterCutoff:
			e.Params = map[string]any{"day": policy.PrepayCutoffDay}
		case core.ReasonTooSoon:
			e.Params = map[string]any{"months": policy.PrepayIntervalMonths}
		}
		return Quote{}, e
	}
	q, err := loan.Prepay(loan.Position{Terms: loan.Terms{PrincipalFen: pos.PrincipalFen, Months: pos.Months,
		AnnualRateBP: pos.AnnualRateBP, Method: loan.Method(pos.Method)}, Paid: pos.Paid}, amountFen, loan.Mode(mode))
	if err != nil {
		return Quote{}, err
	}
	return Quote{Quote: q, EffectiveOn: s.Now().In(services.CentreTime).Format(time.DateOnly), FirstInstalmentOn: pos.NextDueOn,
		FirstPeriod: pos.FirstPeriod + pos.Paid}, nil
}

// checkInput refuses a malformed amount or mode before any call.
func checkInput(amountFen int64, mode string) error {
	var fields []services.FieldError
	if amountFen < 1 || amountFen > 1_000_000_000 {
		fields = append(fields, services.FieldError{Field: "amount_fen", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": 1, "max": 1_000_000_000}})
	}
	if !slices.Contains(loan.Modes(), mode) {
		code := services.FieldOneOf
		if mode == "" {
			code = services.FieldRequired
		}
		fields = append(fields, services.FieldError{Field: "mode", Code: code, Params: map[string]any{"allowed": loan.Modes()}})
	}
	if len(fields) > 0 {
		return services.Invalid(fields...)
	}
	return nil
}

// Request is a payment as the person asks for it: an early repayment
// (AmountFen, Mode) or, for arrears, neither; the money from one of their
// own accounts (SourceAccountID) or the HPF balance (FromHPF).
type Request struct {
	AmountFen       int64
	Mode            string
	SourceAccountID string
	FromHPF         bool
	IdempotencyKey  string
	RequestHash     string
	Locale          string
}

// Prepay accepts an early repayment: checked against the policy and the
// person's own accounts, stored with its outbox row in one transaction.
// replayed is true when the same request was accepted before under the
// same key. Audited.
func (s *Service) Prepay(ctx context.Context, p services.Principal, r Request) (Payment, bool, error) {
	return s.accept(ctx, p, KindPrepayment, ActionPrepay, r)
}

// PayArrears accepts a payment of every overdue instalment with its
// penalty to date, as Prepay does.
func (s *Service) PayArrears(ctx context.Context, p services.Principal, r Request) (Payment, bool, error) {
	return s.accept(ctx, p, KindArrears, ActionPayArrears, r)
}

func (s *Service) accept(ctx context.Context, p services.Principal, kind, action string, r Request) (pay Payment, replayed bool, err error) {
	defer func() {
		target := "loan"
		if pay.ID != "" {
			target = "loan_payment:" + pay.ID
		}
		if aerr := s.audited(ctx, p, action, target, err); aerr != nil && err == nil {
			pay, replayed, err = Payment{}, false, aerr
		}
	}()
	if err := p.Depositor(); err != nil {
		return Payment{}, false, err
	}
	if err := checkSource(r); err != nil {
		return Payment{}, false, err
	}
	if kind == KindPrepayment {
		if err := checkInput(r.AmountFen, r.Mode); err != nil {
			return Payment{}, false, err
		}
	}
	if pay, ok, err := s.byKey(ctx, p.Subject, r); ok || err != nil {
		return pay, ok, err
	}
	row, err := s.check(ctx, p, kind, r)
	if err != nil {
		return Payment{}, false, err
	}
	if err := s.insert(ctx, row, r); err != nil {
		if prev, ok, kerr := s.byKey(ctx, p.Subject, r); ok || kerr != nil {
			return prev, ok, kerr
		}
		return Payment{}, false, err
	}
	s.Wake()
	return s.view(row, nil), false, nil
}

// checkSource admits exactly one source of the money.
func checkSource(r Request) error {
	switch {
	case r.SourceAccountID == "" && !r.FromHPF:
		return services.Invalid(services.FieldError{Field: "source", Code: services.FieldRequired})
	case r.SourceAccountID != "" && r.FromHPF:
		return services.Invalid(services.FieldError{Field: "source", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": []string{"account_id", "hpf_balance"}}})
	case len(r.SourceAccountID) > 64:
		return services.Invalid(services.FieldError{Field: "source.account_id", Code: services.FieldFormat})
	}
	return nil
}

// check asks the core what the rules need (the policy, the loan's
// position, the person's accounts, the HPF balance) and judges the
// request; it returns the row to store.
func (s *Service) check(ctx context.Context, p services.Principal, kind string, r Request) (row, error) {
	personID, err := s.People.PersonID(ctx, p.Subject)
	if err != nil {
		return row{}, err
	}
	policy, err := s.Core.LoanPolicy(ctx)
	if err != nil {
		return row{}, err
	}
	pos, err := s.Core.LoanPosition(ctx, personID)
	if err != nil {
		return row{}, err
	}
	now := store.Timestamp(s.Now())
	t := row{ID: idKind.New(), CaseNumber: newCaseNumber(now), Subject: p.Subject, Kind: kind, Mode: r.Mode,
		SourceAccountID: r.SourceAccountID, FromHPF: r.FromHPF, Status: StatusAccepted, Locale: r.Locale, Channel: p.Channel,
		CreatedAt: now, UpdatedAt: now, DueOn: s.dueOn(now)}
	switch kind {
	case KindPrepayment:
		if _, err := s.judge(policy, pos, r.AmountFen, r.Mode); err != nil {
			return row{}, err
		}
		t.AmountFen = r.AmountFen
	default:
		switch {
		case !pos.HasLoan || pos.Settled:
			return row{}, services.E(services.CodeLoanNone)
		case pos.OverduePeriods == 0:
			return row{}, services.E(services.CodeLoanNoArrears)
		}
		t.AmountFen, t.PenaltyFen = pos.ArrearsFen+pos.PenaltyFen, pos.PenaltyFen
	}
	if r.FromHPF {
		if kind == KindPrepayment && !policy.PrepayFromHPF {
			return row{}, services.Errorf(services.CodeLoanPrepaymentSourceRefused, "repayment: the policy does not allow the HPF balance")
		}
		a, err := s.Core.Account(ctx, personID)
		if err != nil {
			return row{}, err
		}
		if a.Status != core.StatusNormal || a.BalanceFen < t.AmountFen {
			return row{}, &services.Error{Code: services.CodeLoanPrepaymentSourceRefused, Params: map[string]any{"balance_fen": a.BalanceFen}}
		}
		return t, nil
	}
	accounts, err := s.Core.PayoutAccounts(ctx, personID)
	if err != nil {
		return row{}, err
	}
	if !slices.ContainsFunc(accounts.Items, func(a core.PayoutAccount) bool { return a.ID == r.SourceAccountID }) {
		return row{}, services.E(services.CodeLoanAccountNotOwned)
	}
	return t, nil
}

// insert stores the row, its first status and its outbox row in one
// transaction; a second payment in flight is loan.prepayment_in_flight.
func (s *Service) insert(ctx context.Context, t row, r Request) error {
	err := s.Store.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO loan_prepayments (id, case_number, subject, kind, amount_fen, mode, source_account_id,
			from_hpf, status, penalty_fen, idempotency_key, request_hash, locale, channel, created_at, updated_at, due_on)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			t.ID, t.CaseNumber, t.Subject, t.Kind, t.AmountFen, t.Mode, t.SourceAccountID, t.FromHPF, t.Status, t.PenaltyFen,
			r.IdempotencyKey, r.RequestHash, t.Locale, t.Channel, t.CreatedAt, t.UpdatedAt, t.DueOn); err != nil {
			return err
		}
		if _, err := outbox.Enqueue(ctx, tx, outbox.Message{ID: string(TopicApply) + ":" + t.ID, Topic: TopicApply,
			Payload: []byte(t.ID)}, t.CreatedAt); err != nil {
			return err
		}
		return s.recordStatus(ctx, tx, t, StatusAccepted, "", t.CreatedAt)
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return services.Errorf(services.CodeLoanPrepaymentInFlight, "repayment: in flight: %w", err)
	case err != nil:
		return services.Errorf(services.CodeInternal, "repayment: store: %w", err)
	}
	return nil
}

// byKey finds the payment this subject asked for under r's key: the same
// request gets it again (as first accepted), another is
// idempotency.key_reused.
func (s *Service) byKey(ctx context.Context, subject string, r Request) (Payment, bool, error) {
	t, hash, err := s.load(ctx, `subject = $1 AND idempotency_key = $2`, subject, r.IdempotencyKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Payment{}, false, nil
	case err != nil:
		return Payment{}, false, services.Errorf(services.CodeInternal, "repayment: by key: %w", err)
	case hash != r.RequestHash:
		return Payment{}, false, services.E(services.CodeIdempotencyKeyReused)
	}
	t.Status, t.Reason, t.UpdatedAt = StatusAccepted, "", t.CreatedAt
	return s.view(t, nil), true, nil
}

// Apply is the outbox handler of TopicApply: it sends the payment to the
// core under its id (a second delivery is answered with the first answer)
// and records what the core decided. Any error is retried by the outbox.
func (s *Service) Apply(ctx context.Context, m outbox.Message) error {
	t, _, err := s.load(ctx, `id = $1`, string(m.Payload))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outbox.Permanent(fmt.Errorf("repayment: no payment %s", m.Payload))
	case err != nil:
		return err
	case t.Status != StatusAccepted:
		return nil // a repeated delivery
	}
	personID, err := s.People.PersonID(ctx, t.Subject)
	if err != nil {
		return err
	}
	var st core.PrepaymentStatus
	if t.Kind == KindPrepayment {
		st, err = s.Core.ApplyPrepayment(ctx, core.Prepayment{PrepaymentID: t.ID, PersonID: personID, AmountFen: t.AmountFen,
			Mode: t.Mode, SourceAccountID: t.SourceAccountID, FromHPF: t.FromHPF})
	} else {
		st, err = s.Core.PayArrears(ctx, core.ArrearsPayment{PaymentID: t.ID, PersonID: personID,
			SourceAccountID: t.SourceAccountID, FromHPF: t.FromHPF})
	}
	if err != nil {
		if services.ErrorCode(err) == services.CodeCoreRejected {
			return outbox.Permanent(err)
		}
		return err
	}
	to := StatusRejected
	if st.Status == core.PrepaymentApplied {
		to = StatusApplied
	}
	now := store.Timestamp(s.Now())
	err = s.Store.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE loan_prepayments SET status = $1, reason = $2, interest_saved_fen = $3, months_after = $4,
			payment_after_fen = $5, settled = $6, applied_on = $7, amount_fen = $8, penalty_fen = $9, updated_at = $10
			WHERE id = $11 AND status = 'accepted'`,
			to, st.Reason, st.InterestSavedFen, st.MonthsAfter, st.PaymentAfterFen, st.Settled, st.AppliedOn,
			cmp.Or(st.AmountFen, t.AmountFen), st.PenaltyFen, now, t.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return s.recordStatus(ctx, tx, t, to, st.Reason, now)
	})
	if err != nil {
		return err
	}
	s.Wake()
	return nil
}
