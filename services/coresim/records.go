package coresim

import (
	"context"
	"database/sql"
	"maps"
	"net/http"
	"slices"
	"time"

	"handheld/services/core"
)

// loadPersonBy reads a person by person_id or id_number (column is one of
// the two constants the callers pass, never input).
func loadPersonBy(ctx context.Context, q querier, column, value string) (core.Person, error) {
	var p core.Person
	err := q.QueryRowContext(ctx, `SELECT p.person_id, p.name, p.id_number, p.phone, p.bank_card, a.person_id IS NOT NULL
		FROM persons p LEFT JOIN accounts a ON a.person_id = p.person_id WHERE `+column+` = ?`, value).
		Scan(&p.PersonID, &p.Name, &p.IDNumber, &p.Phone, &p.BankCard, &p.HasAccount)
	if err == sql.ErrNoRows {
		return p, notFound("no such person")
	}
	return p, err
}

// loadAccount reads an account and derives what the contract reports from
// its ledger: the last deposit month, the unbroken run of months up to it,
// the balance at the start of the year and this year's deposits. It tells
// an unknown person (not_found) from a person without an account
// (no_account).
func loadAccount(ctx context.Context, q querier, personID string, now time.Time) (core.Account, error) {
	var a core.Account
	err := q.QueryRowContext(ctx, `SELECT a.account_number, a.status, a.balance_fen, a.deposit_base_fen, a.personal_rate_bp,
			a.unit_rate_bp, a.unit_code, u.name, a.opened_on
		FROM accounts a JOIN units u ON u.unit_code = a.unit_code WHERE a.person_id = ?`, personID).
		Scan(&a.AccountNumber, &a.Status, &a.BalanceFen, &a.DepositBaseFen, &a.PersonalRateBP,
			&a.UnitRateBP, &a.UnitCode, &a.UnitName, &a.OpenedOn)
	if err == sql.ErrNoRows {
		if _, err := loadPersonBy(ctx, q, "p.person_id", personID); err != nil {
			return a, err
		}
		return a, &apiError{status: http.StatusNotFound, code: core.ErrNoAccount, msg: "the person has no HPF account"}
	}
	if err != nil {
		return a, err
	}
	a.MonthlyPersonal, a.MonthlyUnit = monthlyShares(a.DepositBaseFen, a.PersonalRateBP, a.UnitRateBP)

	rows, err := q.QueryContext(ctx, `SELECT month, posted_on, kind, amount_fen, balance_after_fen
		FROM deposits WHERE person_id = ? ORDER BY seq DESC`, personID)
	if err != nil {
		return a, err
	}
	defer rows.Close()
	year := monthOf(now).year()
	yearStart := time.Date(year, time.January, 1, 0, 0, 0, 0, shanghai()).Format(time.DateOnly)
	carryFound := false
	seen := map[month]bool{}
	for rows.Next() {
		var m, posted, kind string
		var amount, after int64
		if err := rows.Scan(&m, &posted, &kind, &amount, &after); err != nil {
			return a, err
		}
		if !carryFound && posted < yearStart {
			a.CarryOverFen, carryFound = after, true
		}
		if kind != core.KindRemittance && kind != core.KindBackPayment {
			continue
		}
		mm, err := parseMonth(m)
		if err != nil {
			return a, err
		}
		if mm.year() == year {
			a.CurrentYearFen += amount
		}
		seen[mm] = true
	}
	if err := rows.Err(); err != nil {
		return a, err
	}
	// A back-payment may be posted long after its month: order by month.
	depositMonths := slices.SortedFunc(maps.Keys(seen), func(x, y month) int { return int(y - x) })
	if len(depositMonths) > 0 {
		a.LastDepositMonth = depositMonths[0].String()
		a.ContinuousMonths = continuousMonths(depositMonths)
	}
	return a, nil
}
