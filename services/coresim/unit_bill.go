package coresim

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"handheld/services/core"
)

// unitState is what every remittance answer starts from: the unit's rates,
// coverage and revision, and the bills on record, by month.
type unitState struct {
	code                     string
	unitRate, personalRate   int
	paidUpTo, openedMonth    month // openedMonth 0: unknown
	revision                 int64
	bills                    map[month]billRow
	activeCount              int
	activeBase               int64
	activePersonal, activeUn int64
}

// billRow is a declared bill's header.
type billRow struct {
	kind, status, version, requestID, failure string
	headcount                                 int
	base, personal, unit, interest            int64
	declared, collecting, done                int64 // Unix nanoseconds
}

func (b billRow) total() int64 { return b.personal + b.unit }

// version is the open bills' version: it changes with every staff change
// and adjustment (the revision), so a declaration names what it read.
func (u unitState) version() string { return "r" + strconv.FormatInt(u.revision, 10) }

// status is month m's status seen at open month now.
func (u unitState) status(m, open month) string {
	if b, ok := u.bills[m]; ok {
		return b.status
	}
	switch {
	case m <= u.paidUpTo:
		return core.BillPaid
	case m < open:
		return core.BillOverdue
	default:
		return core.BillOpen
	}
}

// loadUnitState reads a unit in three queries, whatever its size: the
// unit, its bills on record, and the sums of its active staff's shares
// (ShareOf in SQL, per person and side, then summed).
func loadUnitState(ctx context.Context, q querier, code string) (unitState, error) {
	u := unitState{code: code, bills: map[month]billRow{}}
	var paid, opened string
	err := q.QueryRowContext(ctx, `SELECT unit_rate_bp, personal_rate_bp, paid_up_to, opened_month, revision FROM units WHERE unit_code = ?`, code).
		Scan(&u.unitRate, &u.personalRate, &paid, &opened, &u.revision)
	if err == sql.ErrNoRows {
		return u, notFound("no such unit")
	}
	if err != nil {
		return u, err
	}
	if paid != "" {
		if u.paidUpTo, err = parseMonth(paid); err != nil {
			return u, err
		}
	}
	if opened != "" {
		if u.openedMonth, err = parseMonth(opened); err != nil {
			return u, err
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT month, kind, status, version, request_id, failure_reason, headcount, base_total_fen,
		personal_total_fen, unit_total_fen, interest_fen, declared_at, collecting_at, done_at FROM unit_remittances WHERE unit_code = ?`, code)
	if err != nil {
		return u, err
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		var b billRow
		if err := rows.Scan(&m, &b.kind, &b.status, &b.version, &b.requestID, &b.failure, &b.headcount, &b.base,
			&b.personal, &b.unit, &b.interest, &b.declared, &b.collecting, &b.done); err != nil {
			return u, err
		}
		mm, err := parseMonth(m)
		if err != nil {
			return u, err
		}
		u.bills[mm] = b
	}
	if err := rows.Err(); err != nil {
		return u, err
	}
	err = q.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(deposit_base_fen), 0),
			coalesce(sum((deposit_base_fen * personal_rate_bp * 2 + 10000) / 20000), 0),
			coalesce(sum((deposit_base_fen * unit_rate_bp * 2 + 10000) / 20000), 0)
		FROM accounts WHERE unit_code = ? AND status IN ('01', '06')`, code).
		Scan(&u.activeCount, &u.activeBase, &u.activePersonal, &u.activeUn)
	return u, err
}

// arrears are the complete months after paid_up_to neither paid nor being
// collected (at most 36 back), billed at today's roster, with the interest
// a supplement declared today would carry.
func (s *Sim) arrears(u unitState, now time.Time) core.Arrears {
	open := monthOf(now)
	today := now.In(shanghai())
	a := core.Arrears{AsOf: date(now), Items: []core.ArrearsMonth{}}
	for m := max(u.paidUpTo+1, open-36); m < open; m++ {
		st := u.status(m, open)
		if st != core.BillOverdue && st != core.BillFailed {
			continue
		}
		amount := u.activePersonal + u.activeUn
		days := daysLate(m, today)
		interest := core.SupplementInterest(amount, s.policy.SupplementRateBP, days)
		a.Items = append(a.Items, core.ArrearsMonth{Month: m.String(), Status: st, Headcount: u.activeCount,
			AmountFen: amount, DaysLate: days, InterestFen: interest})
		a.AmountFen += amount
		a.InterestFen += interest
	}
	return a
}

// daysLate counts the days from month m's last day (its due date) to
// today, in Shanghai.
func daysLate(m month, today time.Time) int {
	due := (m + 1).firstDay().AddDate(0, 0, -1)
	y, mo, d := today.Date()
	t := time.Date(y, mo, d, 0, 0, 0, 0, shanghai())
	return max(0, int(t.Sub(due).Hours()/24+0.5))
}

// remittances lists a year's months, oldest first, up to the open month.
func (s *Sim) remittances(ctx context.Context, c call) (int, any, error) {
	code := c.r.PathValue("unit_code")
	year, err := strconv.Atoi(c.r.URL.Query().Get("year"))
	if err != nil || year < 1990 || year > 9999 {
		return 0, nil, badRequest("year: want a year such as 2025")
	}
	if err := s.settleUnit(ctx, code, c.now); err != nil {
		return 0, nil, err
	}
	u, err := loadUnitState(ctx, s.rdb, code)
	if err != nil {
		return 0, nil, err
	}
	open := monthOf(c.now)
	out := core.RemittanceYear{Year: year, Items: []core.RemittanceMonth{}}
	for m := max(month(year*12), u.openedMonth); m <= min(month(year*12+11), open); m++ {
		out.Items = append(out.Items, s.remittanceMonth(u, m, open, c.now))
	}
	return http.StatusOK, out, nil
}

// remittanceMonth is month m's line in the calendar; months paid before
// the core's records carry no figures.
func (s *Sim) remittanceMonth(u unitState, m, open month, now time.Time) core.RemittanceMonth {
	rm := core.RemittanceMonth{Month: m.String(), Status: u.status(m, open)}
	if b, ok := u.bills[m]; ok {
		rm.Kind, rm.Headcount, rm.TotalFen, rm.InterestFen = b.kind, b.headcount, b.total(), b.interest
		rm.DeclaredAt = instant(b.declared)
		if b.status == core.BillPaid {
			rm.PaidAt = instant(b.done)
		}
		return rm
	}
	if rm.Status == core.BillPaid {
		return rm
	}
	rm.Kind, rm.Headcount, rm.TotalFen = core.BillRegular, u.activeCount, u.activePersonal+u.activeUn
	if rm.Status == core.BillOverdue {
		rm.Kind = core.BillSupplement
		rm.InterestFen = core.SupplementInterest(rm.TotalFen, s.policy.SupplementRateBP, daysLate(m, now.In(shanghai())))
	}
	return rm
}

func instant(ns int64) *time.Time {
	if ns == 0 {
		return nil
	}
	t := time.Unix(0, ns).UTC()
	return &t
}

// bill answers a month's bill: the frozen lines of a declared one, or the
// current roster's for an open, overdue or failed month, in two queries.
func (s *Sim) bill(ctx context.Context, c call) (int, any, error) {
	code := c.r.PathValue("unit_code")
	m, err := parseMonth(c.r.PathValue("month"))
	if err != nil {
		return 0, nil, badRequest("month: want YYYY-MM")
	}
	if err := s.settleUnit(ctx, code, c.now); err != nil {
		return 0, nil, err
	}
	var b core.Bill
	err = s.readTx(ctx, func(tx querier) error {
		u, err := loadUnitState(ctx, tx, code)
		if err != nil {
			return err
		}
		open := monthOf(c.now)
		if m > open {
			return refuse(core.ErrMonthNotOpen, "the month has not begun")
		}
		b = core.Bill{UnitCode: code, Month: m.String(), Status: u.status(m, open), Kind: core.BillRegular, Lines: []core.BillLine{}}
		var rows *sql.Rows
		if row, ok := u.bills[m]; ok && row.status != core.BillFailed {
			b.Version, b.Kind, b.InterestFen, b.FailureReason = row.version, row.kind, row.interest, row.failure
			b.DeclaredAt = instant(row.declared)
			if row.status == core.BillPaid {
				b.PaidAt = instant(row.done)
			}
			rows, err = tx.QueryContext(ctx, `SELECT l.person_id, p.name, p.id_number, l.base_fen, l.personal_fen, l.unit_fen
				FROM unit_bill_lines l JOIN persons p ON p.person_id = l.person_id WHERE l.unit_code = ? AND l.month = ? ORDER BY l.person_id`, code, m.String())
		} else {
			if b.Status == core.BillPaid {
				return notFound("no bill on record for that month")
			}
			b.Version = u.version()
			if row, ok := u.bills[m]; ok {
				b.FailureReason = row.failure
			}
			if m < open {
				b.Kind = core.BillSupplement
			}
			rows, err = tx.QueryContext(ctx, `SELECT a.person_id, p.name, p.id_number, a.deposit_base_fen,
					(a.deposit_base_fen * a.personal_rate_bp * 2 + 10000) / 20000, (a.deposit_base_fen * a.unit_rate_bp * 2 + 10000) / 20000
				FROM accounts a JOIN persons p ON p.person_id = a.person_id WHERE a.unit_code = ? AND a.status IN ('01', '06') ORDER BY a.person_id`, code)
		}
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l core.BillLine
			if err := rows.Scan(&l.PersonID, &l.Name, &l.IDNumber, &l.BaseFen, &l.PersonalFen, &l.UnitFen); err != nil {
				return err
			}
			b.Lines = append(b.Lines, l)
			b.BaseTotalFen += l.BaseFen
			b.PersonalTotalFen += l.PersonalFen
			b.UnitTotalFen += l.UnitFen
		}
		if err := rows.Err(); err != nil {
			return err
		}
		b.Headcount, b.TotalFen = len(b.Lines), b.PersonalTotalFen+b.UnitTotalFen
		if b.Kind == core.BillSupplement && b.DeclaredAt == nil {
			b.InterestFen = core.SupplementInterest(b.TotalFen, s.policy.SupplementRateBP, daysLate(m, c.now.In(shanghai())))
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, b, nil
}

// declaration and supplement declare a bill for collection, once per
// request id.
func (s *Sim) declaration(ctx context.Context, c call) (int, any, error) {
	return s.declare(ctx, c, core.BillRegular)
}

func (s *Sim) supplement(ctx context.Context, c call) (int, any, error) {
	return s.declare(ctx, c, core.BillSupplement)
}

func (s *Sim) declare(ctx context.Context, c call, kind string) (int, any, error) {
	var in core.Declaration
	if err := decodeJSON(c.body, &in); err != nil {
		return 0, nil, err
	}
	code := c.r.PathValue("unit_code")
	if in.RequestID != c.r.PathValue("request_id") {
		return 0, nil, badRequest("request_id must equal the one in the path")
	}
	m, err := parseMonth(in.Month)
	if err != nil || in.BillVersion == "" {
		return 0, nil, badRequest("month (YYYY-MM) and bill_version are required")
	}
	if err := s.settleUnit(ctx, code, c.now); err != nil {
		return 0, nil, err
	}
	return s.idempotent(ctx, code, in.RequestID, kind, in, func(ctx context.Context, tx *sql.Tx) (any, error) {
		u, err := loadUnitState(ctx, tx, code)
		if err != nil {
			return nil, err
		}
		open := monthOf(c.now)
		switch st := u.status(m, open); {
		case m > open:
			return nil, refuse(core.ErrMonthNotOpen, "the month has not begun")
		case kind == core.BillRegular && m < open:
			return nil, refuse(core.ErrOverdue, "the month is in arrears: supplement it")
		case kind == core.BillSupplement && m == open:
			return nil, refuse(core.ErrNotOverdue, "the month is not in arrears")
		case st == core.BillPending || st == core.BillCollecting || st == core.BillPaid:
			return nil, refuse(core.ErrAlreadyDeclared, "the month is declared, being collected or paid")
		case in.BillVersion != u.version():
			return nil, refuse(core.ErrBillChanged, "the bill changed since that version")
		}
		for _, q := range []string{`DELETE FROM unit_bill_lines WHERE unit_code = ? AND month = ?`,
			`INSERT INTO unit_bill_lines (unit_code, month, person_id, base_fen, personal_fen, unit_fen)
				SELECT unit_code, ?2, person_id, deposit_base_fen,
					(deposit_base_fen * personal_rate_bp * 2 + 10000) / 20000, (deposit_base_fen * unit_rate_bp * 2 + 10000) / 20000
				FROM accounts WHERE unit_code = ?1 AND status IN ('01', '06')`} {
			if _, err := tx.ExecContext(ctx, q, code, m.String()); err != nil {
				return nil, err
			}
		}
		r := billRow{kind: kind, status: core.BillPending, version: in.BillVersion, requestID: in.RequestID,
			headcount: u.activeCount, base: u.activeBase, personal: u.activePersonal, unit: u.activeUn, declared: c.now.UnixNano()}
		if kind == core.BillSupplement {
			r.interest = core.SupplementInterest(r.total(), s.policy.SupplementRateBP, daysLate(m, c.now.In(shanghai())))
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO unit_remittances (unit_code, month, kind, status, version, request_id, headcount,
				base_total_fen, personal_total_fen, unit_total_fen, interest_fen, declared_at) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)`,
			code, m.String(), kind, r.version, r.requestID, r.headcount, r.base, r.personal, r.unit, r.interest, r.declared)
		return core.DeclarationResult{RequestID: in.RequestID, Month: m.String(), Kind: kind, Status: core.BillPending, Version: r.version,
			Headcount: r.headcount, TotalFen: r.total(), InterestFen: r.interest, DeclaredAt: c.now.UTC()}, err
	})
}

// Why a collection failed (Bill.FailureReason).
const (
	FailureInsufficientFunds = "insufficient_funds" // an error fault of the collection group
	FailureBankUnavailable   = "bank_unavailable"   // the collection group is down
)

// settleUnit moves the unit's declared bills along the clock, taking the
// writer only when one is due: pending → collecting after CollectDelay,
// collecting → paid or failed after SettleDelay (plus any collection
// latency fault). Transitions are stamped with when they were due.
func (s *Sim) settleUnit(ctx context.Context, code string, now time.Time) error {
	var due bool
	if err := s.rdb.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM unit_remittances WHERE unit_code = ? AND status IN ('pending', 'collecting'))`,
		code).Scan(&due); err != nil || !due {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		u, err := loadUnitState(ctx, tx, code)
		if err != nil {
			return err
		}
		var extra time.Duration
		faults := s.CurrentFaults()[GroupCollection]
		for _, f := range faults {
			if f.Kind == FaultLatency {
				extra += f.Latency
			}
		}
		// Oldest first, so the ledger's order depends on the data alone.
		for _, m := range slices.Sorted(maps.Keys(u.bills)) {
			b := u.bills[m]
			if b.status == core.BillPending {
				at := time.Unix(0, b.declared).Add(s.collectWait)
				if now.Before(at) {
					continue
				}
				b.status, b.collecting = core.BillCollecting, at.UnixNano()
				if _, err := tx.ExecContext(ctx, `UPDATE unit_remittances SET status = 'collecting', collecting_at = ? WHERE unit_code = ? AND month = ?`,
					b.collecting, code, m.String()); err != nil {
					return err
				}
			}
			if b.status != core.BillCollecting {
				continue
			}
			at := time.Unix(0, b.collecting).Add(s.settleWait + extra)
			if now.Before(at) {
				continue
			}
			if reason := s.collectionFailure(faults); reason != "" {
				if _, err := tx.ExecContext(ctx, `UPDATE unit_remittances SET status = 'failed', done_at = ?, failure_reason = ? WHERE unit_code = ? AND month = ?`,
					at.UnixNano(), reason, code, m.String()); err != nil {
					return err
				}
				continue
			}
			if err := postCollection(ctx, tx, code, m, b, at); err != nil {
				return err
			}
		}
		return advancePaidUpTo(ctx, tx, code)
	})
}

// collectionFailure draws whether a collection fails under the faults.
func (s *Sim) collectionFailure(faults []Fault) string {
	for _, f := range faults {
		switch {
		case f.Kind == FaultDown:
			return FailureBankUnavailable
		case f.Kind == FaultError && s.roll() < f.Rate:
			return FailureInsufficientFunds
		}
	}
	return ""
}

// postCollection books a collected bill: the bill paid, the unit ledger's
// entries, and every line into its person's ledger and balance — two
// set-wise statements, whatever the bill's size.
func postCollection(ctx context.Context, tx *sql.Tx, code string, m month, b billRow, at time.Time) error {
	kind, personal := core.KindRemittance, core.UnitEntryRemittance
	if b.kind == core.BillSupplement {
		kind, personal = core.KindBackPayment, core.UnitEntrySupplement
	}
	if _, err := tx.ExecContext(ctx, `UPDATE unit_remittances SET status = 'paid', done_at = ?, failure_reason = '' WHERE unit_code = ? AND month = ?`,
		at.UnixNano(), code, m.String()); err != nil {
		return err
	}
	var seq int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM unit_ledger WHERE unit_code = ?`, code).Scan(&seq); err != nil {
		return err
	}
	posted := date(at)
	entries := [][2]any{{personal, b.total()}}
	if b.interest > 0 {
		entries = append(entries, [2]any{core.UnitEntryInterest, b.interest})
	}
	for i, e := range entries {
		if _, err := tx.ExecContext(ctx, `INSERT INTO unit_ledger (unit_code, seq, month, posted_on, kind, amount_fen, headcount) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			code, seq+i+1, m.String(), posted, e[0], e[1], b.headcount); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO deposits (person_id, seq, month, posted_on, kind, withdrawal_kind, amount_fen, balance_after_fen, application_id)
		SELECT l.person_id, coalesce((SELECT max(d.seq) FROM deposits d WHERE d.person_id = l.person_id), 0) + 1, ?1, ?2, ?3, '',
			l.personal_fen + l.unit_fen, a.balance_fen + l.personal_fen + l.unit_fen, ''
		FROM unit_bill_lines l JOIN accounts a ON a.person_id = l.person_id WHERE l.unit_code = ?4 AND l.month = ?1`,
		m.String(), posted, kind, code); err != nil {
		return fmt.Errorf("post lines: %w", err)
	}
	_, err := tx.ExecContext(ctx, `UPDATE accounts SET balance_fen = balance_fen + (SELECT l.personal_fen + l.unit_fen FROM unit_bill_lines l
			WHERE l.unit_code = ?1 AND l.month = ?2 AND l.person_id = accounts.person_id)
		WHERE person_id IN (SELECT person_id FROM unit_bill_lines WHERE unit_code = ?1 AND month = ?2)`, code, m.String())
	return err
}

// advancePaidUpTo moves paid_up_to over the paid months that follow it.
func advancePaidUpTo(ctx context.Context, tx *sql.Tx, code string) error {
	u, err := loadUnitState(ctx, tx, code)
	if err != nil {
		return err
	}
	p := u.paidUpTo
	for b, ok := u.bills[p+1]; ok && b.status == core.BillPaid; b, ok = u.bills[p+1] {
		p++
	}
	if p == u.paidUpTo {
		return nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE units SET paid_up_to = ? WHERE unit_code = ?`, p.String(), code)
	return err
}
