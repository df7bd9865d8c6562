package coresim

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"slices"

	"handheld/services/core"
)

// reminderFacts answers the reminder facts of up to core.MaxReminderFacts
// persons from one read snapshot; an unknown person is left out, a person
// without an account answers has_account false.
func (s *Sim) reminderFacts(ctx context.Context, c call) (int, any, error) {
	var in core.ReminderFactsQuery
	if err := decodeJSON(c.body, &in); err != nil {
		return 0, nil, err
	}
	switch {
	case len(in.PersonIDs) == 0 || len(in.PersonIDs) > core.MaxReminderFacts:
		return 0, nil, badRequest("person_ids: 1 to 500 ids")
	case len(slices.Compact(slices.Sorted(slices.Values(in.PersonIDs)))) != len(in.PersonIDs):
		return 0, nil, badRequest("person_ids: an id named twice")
	}
	out := core.ReminderFactsAnswer{Items: []core.ReminderFacts{}}
	err := s.readTx(ctx, func(q querier) error {
		for _, id := range in.PersonIDs {
			f, ok, err := reminderFactsOf(ctx, q, id, c)
			if err != nil {
				return err
			}
			if ok {
				out.Items = append(out.Items, f)
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

// reminderFactsOf is one person's facts; ok false for an unknown person.
func reminderFactsOf(ctx context.Context, q querier, personID string, c call) (core.ReminderFacts, bool, error) {
	f := core.ReminderFacts{PersonID: personID}
	a, err := loadAccount(ctx, q, personID, c.now)
	var apiErr *apiError
	switch {
	case errors.As(err, &apiErr) && apiErr.code == core.ErrNoAccount:
		return f, true, nil
	case errors.As(err, &apiErr) && apiErr.status == http.StatusNotFound:
		return f, false, nil
	case err != nil:
		return f, false, err
	}
	f.HasAccount, f.Status, f.LastDepositMonth, f.ContinuousMonths = true, a.Status, a.LastDepositMonth, a.ContinuousMonths
	if a.LastDepositMonth != "" {
		err := q.QueryRowContext(ctx, `SELECT posted_on, amount_fen FROM deposits
			WHERE person_id = ? AND month = ? AND kind IN ('remittance', 'back_payment') ORDER BY seq DESC LIMIT 1`,
			personID, a.LastDepositMonth).Scan(&f.LastDepositOn, &f.LastDepositFen)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return f, false, err
		}
	}
	l, ok, err := loadLoan(ctx, q, personID)
	if err != nil {
		return f, false, err
	}
	if ok {
		if sum := l.summary(c.now); !sum.Settled {
			f.NextDueOn, f.NextPaymentFen = sum.NextDueOn, sum.NextPaymentFen
		}
	}
	return f, true, nil
}
