package coresim

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Seed parameters shared by the demo and the generator.
const (
	loanPrincipalFen = 80_000_000 // 800,000 yuan
	loanRateBP       = 285        // 2.85%, the 5-year-plus first-home HPF rate of 2024
	loanMonths       = 360
	loanRepaidMonths = 26
	// A settled loan (settledLoan): 300,000 yuan over 10 years at 3.25%,
	// its last instalment paid a year before the last complete month.
	settledPrincipalFen = 30_000_000
	settledRateBP       = 325
	settledMonths       = 120
	settledAgo          = 12
	// A loan in arrears (arrearsLoan): 500,000 yuan over 25 years at
	// 3.10%, linear, started 14 months before the last complete month,
	// the last two instalments due not paid.
	arrearsPrincipalFen = 50_000_000
	arrearsRateBP       = 310
	arrearsMonths       = 300
	arrearsDue          = 14
	arrearsOverdue      = 2
)

// seed writes the demo data into an empty database, once: a meta row
// marks it done, so reopening keeps whatever happened since.
func (s *Sim) seed(ctx context.Context) error {
	done, err := metaValue(ctx, s.wdb, "seeded_at")
	if err != nil {
		return err
	}
	if done != "" {
		if err := s.seedHoldings(ctx); err != nil {
			return err
		}
		return s.seedUnits(ctx)
	}
	units := demoUnits()
	hashes := make([][]byte, len(units))
	for i, u := range units {
		if hashes[i], err = u.hash(s.bcryptCost); err != nil {
			return fmt.Errorf("coresim: hash demo password: %w", err)
		}
	}
	now := s.now()
	last := monthOf(now) - 1 // the last complete month: remittances run up to it
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		for i, u := range units {
			if _, err := tx.ExecContext(ctx, `INSERT INTO units (unit_code, name, account_number, status, unit_rate_bp, personal_rate_bp, paid_up_to)
				VALUES (?, ?, ?, '01', ?, ?, ?)`, u.code(), u.name, u.accountNumber, u.rateBP, u.rateBP, last.String()); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO operators (unit_code, operator_id, name, password_hash) VALUES (?, ?, ?, ?)`,
				u.code(), u.operatorID, u.operatorName, string(hashes[i])); err != nil {
				return err
			}
		}
		stmt, err := tx.PrepareContext(ctx, depositInsert)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for k, p := range demoPeople() {
			if err := seedPerson(ctx, tx, stmt, k, p, units, now); err != nil {
				return fmt.Errorf("seed person %d: %w", k, err)
			}
		}
		if err := setMeta(ctx, tx, "holdings_seeded_at", now.UTC().Format(time.RFC3339)); err != nil {
			return err
		}
		return setMeta(ctx, tx, "seeded_at", now.UTC().Format(time.RFC3339))
	})
	if err != nil {
		return fmt.Errorf("coresim: seed: %w", err)
	}
	s.log.Info("coresim: seeded demo data", "people", len(demoPeople()), "units", len(units))
	return s.seedUnits(ctx)
}

// seedHoldings gives the demo people of a database seeded before payout
// accounts and records existed their holdings, once.
func (s *Sim) seedHoldings(ctx context.Context) error {
	done, err := metaValue(ctx, s.wdb, "holdings_seeded_at")
	if err != nil || done != "" {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for k, p := range demoPeople() {
			personID := demoPersonID(k)
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM persons WHERE person_id = ?`, personID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			accounts, records := p.holdings(personID)
			if err := insertHoldings(ctx, tx, personID, accounts, records); err != nil {
				return fmt.Errorf("coresim: seed holdings: %w", err)
			}
		}
		return setMeta(ctx, tx, "holdings_seeded_at", s.now().UTC().Format(time.RFC3339))
	})
}

// seedPerson writes one demo person, their account, ledger and loan.
func seedPerson(ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, k int, p demoPerson, units []demoUnit, now time.Time) error {
	personID := demoPersonID(k)
	if _, err := tx.ExecContext(ctx, `INSERT INTO persons (person_id, name, id_number, phone, bank_card, face_token) VALUES (?, ?, ?, ?, ?, ?)`,
		personID, p.name, withIDCheck(p.id17), p.phone, p.cardOnFile(), p.face); err != nil {
		return err
	}
	accounts, records := p.holdings(personID)
	if err := insertHoldings(ctx, tx, personID, accounts, records); err != nil {
		return err
	}
	if p.unit < 0 {
		return nil
	}
	u := units[p.unit]
	last := monthOf(now) - 1
	plan := ledgerPlan{through: last, lastRemit: last - month(p.lastAgo)}
	if p.lastAbs != "" {
		m, err := parseMonth(p.lastAbs)
		if err != nil {
			return err
		}
		plan.lastRemit = min(m, last)
	}
	plan.first = plan.lastRemit - month(p.months) + 1
	if p.gapAgo != [2]int{} {
		plan.gapFrom, plan.gapTo = last-month(p.gapAgo[0]), last-month(p.gapAgo[1])+1
		plan.first -= plan.gapTo - plan.gapFrom // keep p.months remittances
	}
	base := p.baseYuan * 100
	personal, unit := monthlyShares(base, u.rateBP, u.rateBP)
	plan.monthly = personal + unit
	for _, ago := range p.rentAgo {
		plan.withdrawals = append(plan.withdrawals, plannedWithdrawal{month: last - month(ago), day: 20, kind: "07", amount: p.rentYuan * 100})
	}
	balance, err := insertEntries(ctx, stmt, personID, 0, plan.entries())
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (person_id, account_number, status, unit_code, deposit_base_fen,
			personal_rate_bp, unit_rate_bp, opened_on, balance_fen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		personID, fmt.Sprintf("330101%06d", k+101), p.status, u.code(), base, u.rateBP, u.rateBP,
		date(plan.first.day(3)), balance); err != nil {
		return err
	}
	if p.loanApplication {
		applied := last.day(12)
		if _, err := tx.ExecContext(ctx, `INSERT INTO loan_applications (application_id, person_id, applied_on, amount_fen, months, status,
			updated_on, branch) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, fmt.Sprintf("DS3301%s%04d", applied.Format("200601"), k+1), personID,
			date(applied), 60_000_000, 300, "reviewing", date(applied.AddDate(0, 0, 3)), "杭州市住房公积金管理中心 西湖分中心"); err != nil {
			return err
		}
	}
	if p.arrearsLoan {
		// The first instalment falls due a month after the start: with
		// the start arrearsDue months before the last complete month,
		// arrearsDue instalments are due by now, the last two unpaid.
		started := (last - arrearsDue).day(5)
		due := 0
		for _, in := range (loanTerms{principal: arrearsPrincipalFen, rateBP: arrearsRateBP, months: arrearsMonths, method: methodLinear,
			startedOn: started}).schedule(now) {
			if in.Status == "paid" {
				due++
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO loans (person_id, loan_number, principal_fen, annual_rate_bp, months, method, started_on,
			overdue_from, overdue_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, personID, fmt.Sprintf("DK3301%s%04d", started.Format("200601"), k+1),
			arrearsPrincipalFen, arrearsRateBP, arrearsMonths, methodLinear, date(started), due-arrearsOverdue+1, arrearsOverdue)
		return err
	}
	if p.settledLoan {
		started := (last - settledAgo - settledMonths).day(20)
		_, err = tx.ExecContext(ctx, `INSERT INTO loans (person_id, loan_number, principal_fen, annual_rate_bp, months, method, started_on)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, personID, fmt.Sprintf("DK3301%s%04d", started.Format("200601"), k+1),
			settledPrincipalFen, settledRateBP, settledMonths, methodAnnuity, date(started))
		return err
	}
	if !p.loan {
		return nil
	}
	started := (last - loanRepaidMonths + 1).day(20)
	_, err = tx.ExecContext(ctx, `INSERT INTO loans (person_id, loan_number, principal_fen, annual_rate_bp, months, method, started_on)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, personID, fmt.Sprintf("DK3301%s%04d", started.Format("200601"), k+1),
		loanPrincipalFen, loanRateBP, loanMonths, methodAnnuity, date(started))
	return err
}
