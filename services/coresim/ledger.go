package coresim

import (
	"context"
	"database/sql"
	"sort"
	"time"

	"handheld/services/core"
)

// interestRateBP is the HPF deposit rate, 1.5% a year, credited each 30 June
// for the interest year that ends that day.
const interestRateBP = 150

// ledgerPlan describes an account's history; entries turns it into ledger
// rows with running balances. The seed and the generator both use it, so
// every account's balance is the sum of its entries.
type ledgerPlan struct {
	first     month // first remittance
	lastRemit month // last remittance (earlier than through for sealed accounts)
	through   month // the history runs to the end of this month
	// gapFrom ≤ m < gapTo are months without a remittance (a break in
	// continuity); equal values mean no gap.
	gapFrom, gapTo month
	monthly        int64 // personal + unit share, fen
	withdrawals    []plannedWithdrawal
}

// plannedWithdrawal is a past withdrawal already paid out at the counter.
type plannedWithdrawal struct {
	month  month
	day    int
	kind   string // GLOSSARY reason code
	amount int64  // fen, positive
}

// entry is one ledger row before it gets its person and sequence number.
type entry struct {
	month        month
	posted       time.Time
	kind         string
	wkind        string
	amount       int64
	balanceAfter int64
}

// entries lists the plan's rows in posting order: remittances on the 15th,
// withdrawals on their day, interest on 30 June, computed on the sum of
// month-end balances of the interest year (the "积数" method by month).
func (p ledgerPlan) entries() []entry {
	var out []entry
	var balance, balanceMonths int64
	for m := p.first; m <= p.through; m++ {
		var rows []entry
		if m <= p.lastRemit && (m < p.gapFrom || m >= p.gapTo) {
			rows = append(rows, entry{month: m, posted: m.day(15), kind: core.KindRemittance, amount: p.monthly})
		}
		for _, w := range p.withdrawals {
			if w.month == m {
				rows = append(rows, entry{month: m, posted: m.day(w.day), kind: core.KindWithdrawal, wkind: w.kind, amount: -w.amount})
			}
		}
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].posted.Before(rows[j].posted) })
		for _, r := range rows {
			balance += r.amount
			r.balanceAfter = balance
			out = append(out, r)
		}
		balanceMonths += balance
		if m.month() == time.June {
			// Half up, in integers: no floats for money.
			interest := (balanceMonths*interestRateBP*2 + 120000) / 240000
			balanceMonths = 0
			if interest > 0 {
				balance += interest
				out = append(out, entry{month: m, posted: m.day(30), kind: core.KindInterest, amount: interest, balanceAfter: balance})
			}
		}
	}
	return out
}

// monthlyShares is base × rate for each side, rounded half up to the fen.
func monthlyShares(baseFen int64, personalBP, unitBP int) (personal, unit int64) {
	return (baseFen*int64(personalBP)*2 + 10000) / 20000, (baseFen*int64(unitBP)*2 + 10000) / 20000
}

// depositInsert writes ledger rows; prepared once per transaction.
const depositInsert = `INSERT INTO deposits (person_id, seq, month, posted_on, kind, withdrawal_kind, amount_fen, balance_after_fen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// insertEntries appends rows after seq (the person's last sequence number)
// and returns the closing balance.
func insertEntries(ctx context.Context, stmt *sql.Stmt, personID string, seq int, rows []entry) (int64, error) {
	var balance int64
	for i, r := range rows {
		if _, err := stmt.ExecContext(ctx, personID, seq+i+1, r.month.String(), date(r.posted), r.kind, r.wkind, r.amount, r.balanceAfter); err != nil {
			return 0, err
		}
		balance = r.balanceAfter
	}
	return balance, nil
}

// continuousMonths counts the months with a remittance or back-payment that
// run without a gap back from the most recent one; months lists distinct
// months newest first.
func continuousMonths(months []month) int {
	n := 0
	for i, m := range months {
		if i > 0 && m != months[i-1]-1 {
			break
		}
		n++
	}
	return n
}
