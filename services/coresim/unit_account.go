package coresim

import (
	"context"
	"database/sql"
	"net/http"
	"slices"
	"strconv"
	"time"

	"handheld/services/core"
)

// policy answers the contribution policy in force.
func (s *Sim) policyEndpoint(_ context.Context, _ call) (int, any, error) {
	return http.StatusOK, s.policy, nil
}

// unitAccount answers the unit account.
func (s *Sim) unitAccount(ctx context.Context, c call) (int, any, error) {
	code := c.r.PathValue("unit_code")
	if err := s.settleUnit(ctx, code, c.now); err != nil {
		return 0, nil, err
	}
	var a core.UnitAccount
	err := s.readTx(ctx, func(tx querier) error {
		var err error
		a, _, err = s.loadUnitAccount(ctx, tx, code, c.now)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a, nil
}

// loadUnitAccount reads the unit account and the state it derives from.
func (s *Sim) loadUnitAccount(ctx context.Context, q querier, code string, now time.Time) (core.UnitAccount, unitState, error) {
	u, err := loadUnitState(ctx, q, code)
	if err != nil {
		return core.UnitAccount{}, u, err
	}
	a := core.UnitAccount{UnitCode: code, UnitRateBP: u.unitRate, PersonalRateBP: u.personalRate, ActiveCount: u.activeCount, Revision: u.revision}
	err = q.QueryRowContext(ctx, `SELECT u.name, u.account_number, u.status, u.opened_month, u.bank_name, u.bank_account, u.paid_up_to,
			count(a.person_id), coalesce(sum(a.status = '02'), 0), coalesce(sum(a.balance_fen), 0)
		FROM units u LEFT JOIN accounts a ON a.unit_code = u.unit_code WHERE u.unit_code = ? GROUP BY u.unit_code`, code).
		Scan(&a.Name, &a.AccountNumber, &a.Status, &a.OpenedMonth, &a.BankName, &a.BankAccount, &a.PaidUpTo,
			&a.StaffCount, &a.SealedCount, &a.BalanceFen)
	if err != nil {
		return a, u, err
	}
	open := monthOf(now)
	a.OpenMonth = open.String()
	a.MonthlyFen = u.activePersonal + u.activeUn
	if b, ok := u.bills[open]; ok && b.status != core.BillFailed {
		a.MonthlyFen = b.total()
	}
	arr := s.arrears(u, now)
	a.ArrearsMonths, a.ArrearsFen = len(arr.Items), arr.AmountFen
	a.LastPaidMonth = a.PaidUpTo
	for m, b := range u.bills {
		if b.status == core.BillPaid && m.String() > a.LastPaidMonth {
			a.LastPaidMonth = m.String()
		}
	}
	return a, u, nil
}

// unitLedger pages the unit account's ledger, newest first.
func (s *Sim) unitLedger(ctx context.Context, c call) (int, any, error) {
	code := c.r.PathValue("unit_code")
	q := c.r.URL.Query()
	limit, err := pageLimit(q.Get("limit"))
	if err != nil {
		return 0, nil, err
	}
	before, err := decodeIntCursor(cursorUnitLedger, q.Get("cursor"))
	if err != nil {
		return 0, nil, err
	}
	from, to := q.Get("from"), q.Get("to")
	for _, v := range []string{from, to} {
		if _, err := parseMonth(v); v != "" && err != nil {
			return 0, nil, badRequest("from, to: want YYYY-MM")
		}
	}
	if to == "" {
		to = "9999-12"
	}
	if err := s.settleUnit(ctx, code, c.now); err != nil {
		return 0, nil, err
	}
	if before == 0 {
		before = 1 << 62
	}
	page := core.UnitLedgerPage{Items: []core.UnitLedgerEntry{}}
	var seqs []int
	err = s.readTx(ctx, func(tx querier) error {
		if err := unitExists(ctx, tx, code); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT seq, month, posted_on, kind, amount_fen, headcount FROM unit_ledger
			WHERE unit_code = ? AND seq < ? AND month >= ? AND month <= ? ORDER BY seq DESC LIMIT ?`, code, before, from, to, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e core.UnitLedgerEntry
			var seq int
			if err := rows.Scan(&seq, &e.Month, &e.PostedOn, &e.Kind, &e.AmountFen, &e.Headcount); err != nil {
				return err
			}
			e.ID = "UL" + strconv.Itoa(seq)
			page.Items = append(page.Items, e)
			seqs = append(seqs, seq)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, nil, err
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = encodeCursor(cursorUnitLedger, strconv.Itoa(seqs[limit-1]))
	}
	return http.StatusOK, page, nil
}

// arrearsEndpoint answers the unit's unpaid complete months.
func (s *Sim) arrearsEndpoint(ctx context.Context, c call) (int, any, error) {
	code := c.r.PathValue("unit_code")
	if err := s.settleUnit(ctx, code, c.now); err != nil {
		return 0, nil, err
	}
	u, err := loadUnitState(ctx, s.rdb, code)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.arrears(u, c.now), nil
}

// unitCertificateFacts answers, from one snapshot, the unit account and
// its last 12 complete months, newest first.
func (s *Sim) unitCertificateFacts(ctx context.Context, c call) (int, any, error) {
	code := c.r.PathValue("unit_code")
	if err := s.settleUnit(ctx, code, c.now); err != nil {
		return 0, nil, err
	}
	f := core.UnitCertificateFacts{AsOf: c.now.UTC(), Months: []core.RemittanceMonth{}}
	err := s.readTx(ctx, func(tx querier) error {
		a, u, err := s.loadUnitAccount(ctx, tx, code, c.now)
		if err != nil {
			return err
		}
		f.Unit = a
		open := monthOf(c.now)
		for m := open - 1; m >= open-12 && (u.openedMonth == 0 || m >= u.openedMonth); m-- {
			f.Months = append(f.Months, s.remittanceMonth(u, m, open, c.now))
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, f, nil
}

// adjustment changes rates and bases, all or nothing, once per request id.
func (s *Sim) adjustment(ctx context.Context, c call) (int, any, error) {
	var in core.Adjustment
	if err := decodeJSON(c.body, &in); err != nil {
		return 0, nil, err
	}
	code := c.r.PathValue("unit_code")
	if in.RequestID != c.r.PathValue("request_id") {
		return 0, nil, badRequest("request_id must equal the one in the path")
	}
	if in.UnitRateBP < 0 || in.PersonalRateBP < 0 || (in.UnitRateBP == 0 && in.PersonalRateBP == 0 && len(in.Bases) == 0) {
		return 0, nil, badRequest("nothing to adjust, or a negative rate")
	}
	if len(in.Bases) > core.MaxBaseChanges {
		return 0, nil, badRequest("too many bases in one adjustment")
	}
	seen := make(map[string]bool, len(in.Bases))
	for _, b := range in.Bases {
		if b.PersonID == "" || seen[b.PersonID] {
			return 0, nil, badRequest("bases: every person_id once, none empty")
		}
		seen[b.PersonID] = true
	}
	return s.idempotent(ctx, code, in.RequestID, "adjustment", in, func(ctx context.Context, tx *sql.Tx) (any, error) {
		if !inAdjustmentWindow(s.policy, c.now) {
			return nil, refuse(core.ErrOutsideWindow, "outside the annual adjustment window")
		}
		res := core.AdjustmentResult{RequestID: in.RequestID, BasesChanged: len(in.Bases), AppliedAt: c.now.UTC()}
		if err := tx.QueryRowContext(ctx, `SELECT unit_rate_bp, personal_rate_bp FROM units WHERE unit_code = ?`, code).
			Scan(&res.UnitRateBP, &res.PersonalRateBP); err != nil {
			return nil, err
		}
		rates := in.UnitRateBP > 0 || in.PersonalRateBP > 0
		if in.UnitRateBP > 0 {
			res.UnitRateBP = in.UnitRateBP
		}
		if in.PersonalRateBP > 0 {
			res.PersonalRateBP = in.PersonalRateBP
		}
		p := s.policy
		for _, r := range []int{res.UnitRateBP, res.PersonalRateBP} {
			if rates && (r < p.MinRateBP || r > p.MaxRateBP) {
				return nil, invalid(core.ErrRateOutOfRange, "rate outside the policy's range")
			}
		}
		if rates && p.RatesEqual && res.UnitRateBP != res.PersonalRateBP {
			return nil, invalid(core.ErrRateOutOfRange, "the policy wants equal unit and personal rates")
		}
		check, err := tx.PrepareContext(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE unit_code = ? AND person_id = ?)`)
		if err != nil {
			return nil, err
		}
		defer check.Close()
		for _, b := range in.Bases {
			if err := s.checkBase(b.BaseFen); err != nil {
				return nil, err
			}
			var ok bool
			if err := check.QueryRowContext(ctx, code, b.PersonID).Scan(&ok); err != nil {
				return nil, err
			}
			if !ok {
				return nil, notFound("the unit holds no account of a person named")
			}
		}
		if rates {
			for _, q := range []string{`UPDATE units SET unit_rate_bp = ?, personal_rate_bp = ? WHERE unit_code = ?`,
				`UPDATE accounts SET unit_rate_bp = ?, personal_rate_bp = ? WHERE unit_code = ?`} {
				if _, err := tx.ExecContext(ctx, q, res.UnitRateBP, res.PersonalRateBP, code); err != nil {
					return nil, err
				}
			}
		}
		set, err := tx.PrepareContext(ctx, `UPDATE accounts SET deposit_base_fen = ? WHERE person_id = ?`)
		if err != nil {
			return nil, err
		}
		defer set.Close()
		for _, b := range slices.Clone(in.Bases) {
			if _, err := set.ExecContext(ctx, b.BaseFen, b.PersonID); err != nil {
				return nil, err
			}
		}
		return res, bumpRevision(ctx, tx, code)
	})
}
