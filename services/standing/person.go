package standing

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/keyset"
	"handheld/services/store"
	"handheld/services/withdrawal"
)

// SignUp is a person's request for a standing withdrawal.
type SignUp struct {
	Kind            string
	AmountFen       int64
	PayoutAccountID string
	Locale          string
}

// maxPayoutAccountID bounds an account id before it goes anywhere.
const maxPayoutAccountID = 64

// maxLimit bounds a page of List.
const maxLimit = 100

// monthsShown is how many of its latest months Get returns.
const monthsShown = 24

const columns = `id, kind, amount_fen, payout_account_id, status, pause_reason, channel, locale, confirmed_at, created_at, updated_at`

// SignUp signs p up for a standing withdrawal: a kind the policy allows,
// an amount within its caps and the kind's, paid to one of p's own payout
// accounts (asked of the core now). One not stopped per person and kind:
// a second, even two at once, is standing_withdrawal.exists. Audited.
func (s *Service) SignUp(ctx context.Context, p services.Principal, r SignUp) (st Standing, err error) {
	rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionSignUp, Target: "standing_withdrawal"}
	defer func() {
		if st.ID != "" {
			rec.Target = "standing_withdrawal:" + st.ID
		}
		if aerr := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); aerr != nil && err == nil {
			st, err = Standing{}, aerr
		}
	}()
	if err := p.Depositor(); err != nil {
		return Standing{}, err
	}
	pol, k, err := s.policyOf(r.Kind)
	if err != nil {
		return Standing{}, err
	}
	if err := s.validate(pol, k, r); err != nil {
		return Standing{}, err
	}
	held, err := s.held(ctx, p, r.PayoutAccountID)
	if err != nil {
		return Standing{}, err
	}
	if !held {
		return Standing{}, services.E(services.CodeWithdrawalPayoutAccountUnknown)
	}
	now := store.Timestamp(s.Now())
	st = Standing{ID: idKind.New(), Kind: r.Kind, AmountFen: r.AmountFen, PayoutAccountID: r.PayoutAccountID, Status: StatusActive,
		Channel: p.Channel, Locale: r.Locale, ConfirmedAt: now, CreatedAt: now, UpdatedAt: now}
	_, err = s.Store.Exec(ctx, `INSERT INTO standing_withdrawals (`+columns+`, subject)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		st.ID, st.Kind, st.AmountFen, st.PayoutAccountID, st.Status, st.PauseReason, st.Channel, st.Locale,
		st.ConfirmedAt, st.CreatedAt, st.UpdatedAt, p.Subject)
	switch {
	case errors.Is(err, store.ErrConflict):
		return Standing{}, services.Errorf(services.CodeStandingExists, "standing: %s exists: %w", r.Kind, err)
	case err != nil:
		return Standing{}, internal("sign up", err)
	}
	st.ReconfirmBy = reconfirmBy(st, pol)
	return st, nil
}

// policyOf is kind's standing policy and withdrawal policy; a kind that
// allows no standing withdrawal is refused.
func (s *Service) policyOf(kind string) (Policy, withdrawal.Policy, error) {
	pol, ok := s.Policies[kind]
	k, known := s.Kinds.Policy(kind)
	switch {
	case !known:
		return Policy{}, withdrawal.Policy{}, services.Invalid(services.FieldError{Field: "type", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": s.Kinds.KindNames()}})
	case !ok:
		return Policy{}, withdrawal.Policy{}, services.E(services.CodeStandingKindNotAllowed)
	}
	return pol, k, nil
}

// validate checks a sign-up's amount against the caps and the payout
// account id's shape.
func (s *Service) validate(pol Policy, k withdrawal.Policy, r SignUp) error {
	var fields []services.FieldError
	if r.AmountFen < 1 || r.AmountFen > withdrawal.MaxAmountFen {
		fields = append(fields, services.FieldError{Field: "amount_fen", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": s.Kinds.MinPerTransactionFen, "max": maxAmount(pol, k, s.Kinds)}})
	}
	if r.PayoutAccountID == "" {
		fields = append(fields, services.FieldError{Field: "payout_account_id", Code: services.FieldRequired})
	}
	if len(fields) > 0 {
		return services.Invalid(fields...)
	}
	top := maxAmount(pol, k, s.Kinds)
	switch {
	case r.AmountFen < s.Kinds.MinPerTransactionFen:
		return services.Invalid(services.FieldError{Field: "amount_fen", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": s.Kinds.MinPerTransactionFen, "max": top}})
	case r.AmountFen > top:
		return &services.Error{Code: services.CodeWithdrawalAmountOverLimit,
			Params: map[string]any{"max_yuan": services.Yuan(top, ","), "max_amount_fen": top}}
	}
	return nil
}

// held reports whether id is one of p's own payout accounts, as the core
// lists them now; a malformed id never reaches it.
func (s *Service) held(ctx context.Context, p services.Principal, id string) (bool, error) {
	if len(id) > maxPayoutAccountID {
		return false, nil
	}
	for _, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false, nil
		}
	}
	list, err := s.Withdrawals.PayoutAccounts(ctx, p)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(list, func(a withdrawal.PayoutAccount) bool { return a.ID == id }), nil
}

// List is p's standing withdrawals, newest first, paged by cursor.
// Audited (read.standing_withdrawals).
func (s *Service) List(ctx context.Context, p services.Principal, limit int, cursor string) (out []Standing, next string, err error) {
	if err := p.Depositor(); err != nil {
		return nil, "", err
	}
	defer func() {
		rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionRead, Target: "standing_withdrawals"}
		if aerr := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); aerr != nil && err == nil {
			out, next, err = nil, "", aerr
		}
	}()
	limit, cond, args, err := keyset.Page(limit, 20, maxLimit, cursor, idKind.Valid, 2)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.Store.Query(ctx, `SELECT `+columns+` FROM standing_withdrawals WHERE subject = $1`+cond+
		` ORDER BY created_at DESC, id DESC LIMIT `+strconv.Itoa(limit+1), append([]any{p.Subject}, args...)...)
	if err != nil {
		return nil, "", internal("list", err)
	}
	defer rows.Close()
	for rows.Next() {
		st, err := scan(rows)
		if err != nil {
			return nil, "", internal("list", err)
		}
		out = append(out, s.shown(st))
	}
	if err := rows.Err(); err != nil {
		return nil, "", internal("list", err)
	}
	out, next = keyset.Trim(out, limit, func(st Standing) (time.Time, string) { return st.CreatedAt, st.ID })
	return out, next, nil
}

// Get is one of p's standing withdrawals with its latest months; another
// person's id is not_found, like an unknown one. Audited.
func (s *Service) Get(ctx context.Context, p services.Principal, id string) (st Standing, err error) {
	if err := p.Depositor(); err != nil {
		return Standing{}, err
	}
	defer func() {
		rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionRead, Target: "standing_withdrawal:" + idKind.Safe(id)}
		if aerr := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); aerr != nil && err == nil {
			st, err = Standing{}, aerr
		}
	}()
	if st, err = s.own(ctx, s.Store, p.Subject, id); err != nil {
		return Standing{}, err
	}
	st.Months, err = s.months(ctx, id, monthsShown)
	return s.shown(st), err
}

// own reads one of subject's standing withdrawals through q.
func (s *Service) own(ctx context.Context, q interface {
	QueryRow(ctx context.Context, query string, args ...any) *store.Row
}, subject, id string) (Standing, error) {
	if !idKind.Valid(id) {
		return Standing{}, services.Errorf(services.CodeStandingNotFound, "standing: malformed id")
	}
	st, err := scan(q.QueryRow(ctx, `SELECT `+columns+` FROM standing_withdrawals WHERE id = $1 AND subject = $2`, id, subject))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Standing{}, services.Errorf(services.CodeStandingNotFound, "standing: no %s", id)
	case err != nil:
		return Standing{}, internal("get", err)
	}
	return st, nil
}

// months lists a standing withdrawal's latest n months, newest first.
func (s *Service) months(ctx context.Context, id string, n int) ([]Month, error) {
	rows, err := s.Store.Query(ctx, `SELECT month, outcome, application_id, reason, amount_fen, at FROM standing_withdrawal_months
		WHERE standing_id = $1 ORDER BY month DESC LIMIT `+strconv.Itoa(n), id)
	if err != nil {
		return nil, internal("months", err)
	}
	defer rows.Close()
	out := []Month{}
	for rows.Next() {
		var m Month
		if err := rows.Scan(&m.Month, &m.Outcome, &m.ApplicationID, &m.Reason, &m.AmountFen, store.ScanTime(&m.At)); err != nil {
			return nil, internal("months", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("months", err)
	}
	return out, nil
}

// shown fills what is computed from the policy.
func (s *Service) shown(st Standing) Standing {
	st.ReconfirmBy = reconfirmBy(st, s.Policies[st.Kind])
	return st
}

func scan(sc interface{ Scan(dest ...any) error }) (Standing, error) {
	var st Standing
	err := sc.Scan(&st.ID, &st.Kind, &st.AmountFen, &st.PayoutAccountID, &st.Status, &st.PauseReason, &st.Channel, &st.Locale,
		store.ScanTime(&st.ConfirmedAt), store.ScanTime(&st.CreatedAt), store.ScanTime(&st.UpdatedAt))
	return st, err
}
