package coresim

import (
	"context"
	"database/sql"
	"time"

	"handheld/services/core"
	"handheld/services/loan"
)

// Repayment methods (GLOSSARY: 等额本息, 等额本金).
const (
	methodAnnuity = "annuity"
	methodLinear  = "linear"
)

// loanTerms is a loan as the core keeps it: the original terms, the
// schedules early repayments put in force since (segments), the overdue
// periods and the repayment account. The schedule and the summary are
// derived from these and the clock, so they never drift apart; the maths
// is services/loan's, the calculator's.
type loanTerms struct {
	personID  string
	number    string
	principal int64
	rateBP    int
	months    int
	method    string
	startedOn time.Time // the first instalment falls due one month later
	// segments are the schedules in force after early repayments, oldest
	// first; none: the original terms are.
	segments []segment
	// overdueFrom ≤ period < overdueFrom+overdueCount are not paid though
	// due (arrears); overdueCount 0: none.
	overdueFrom, overdueCount int
	lastPrepaidOn             string
	settledOn                 string // set when an early repayment repaid everything
	repayAccount              string // "" : the person's first account
	pendingAccount            string
	pendingFrom               string
}

// segment is a schedule in force from period first on: principal over
// months, at the loan's rate and method.
type segment struct {
	first     int
	principal int64
	months    int
}

// schedule lists every instalment: each period from the segment in force
// for it. An instalment due before today is paid, unless it is overdue
// (arrears); a loan repaid early in full ends at its last paid period.
func (l loanTerms) schedule(now time.Time) []core.Instalment {
	today := date(now)
	segs := append([]segment{{first: 1, principal: l.principal, months: l.months}}, l.segments...)
	var out []core.Instalment
	start := monthOf(l.startedOn)
	for i, sg := range segs {
		plan, err := loan.Schedule(loan.Terms{PrincipalFen: sg.principal, Months: sg.months, AnnualRateBP: l.rateBP, Method: loan.Method(l.method)})
		if err != nil {
			return out
		}
		for k, r := range plan.Rows {
			p := sg.first + k
			if i+1 < len(segs) && p >= segs[i+1].first {
				break
			}
			due := date((start + month(p)).day(l.startedOn.Day()))
			status := "due"
			switch {
			case due < today && l.overdueCount > 0 && p >= l.overdueFrom && p < l.overdueFrom+l.overdueCount:
				status = "overdue"
			case due < today:
				status = "paid"
			}
			out = append(out, core.Instalment{Period: p, DueOn: due, PaymentFen: r.PaymentFen, PrincipalFen: r.PrincipalFen,
				InterestFen: r.InterestFen, RemainingFen: r.RemainingFen, Status: status})
		}
	}
	if l.settledOn != "" {
		// Repaid early in full: the periods after the last paid are gone.
		n := 0
		for _, in := range out {
			if in.Status != "paid" {
				break
			}
			n++
		}
		out = out[:n]
	}
	return out
}

// position is where the loan stands: the segment in force, its periods
// paid or overdue (every period due before today), the principal owed and
// the arrears with penalty to date.
func (l loanTerms) position(now time.Time, penaltyDailyBP int) core.LoanPosition {
	pos := core.LoanPosition{HasLoan: true, AnnualRateBP: l.rateBP, Method: l.method, PrincipalFen: l.principal,
		Months: l.months, FirstPeriod: 1, LastPrepaidOn: l.lastPrepaidOn, SettledOn: l.settledOn}
	if n := len(l.segments); n > 0 {
		sg := l.segments[n-1]
		pos.PrincipalFen, pos.Months, pos.FirstPeriod = sg.principal, sg.months, sg.first
	}
	today := date(now)
	rows := l.schedule(now)
	pos.OwedFen = pos.PrincipalFen
	for _, in := range rows {
		if in.DueOn >= today {
			pos.NextDueOn = in.DueOn
			break
		}
		if in.Period >= pos.FirstPeriod {
			pos.Paid++
			pos.OwedFen = in.RemainingFen
		}
		if in.Status == "overdue" {
			pos.OverduePeriods++
			pos.ArrearsFen += in.PaymentFen
			pos.PenaltyFen += penalty(in.PaymentFen, penaltyDailyBP, in.DueOn, now)
			if pos.OverdueSince == "" {
				pos.OverdueSince = in.DueOn
			}
		}
	}
	// Overdue instalments' principal is still owed.
	for _, in := range rows {
		if in.Status == "overdue" {
			pos.OwedFen += in.PrincipalFen
		}
	}
	if l.settledOn != "" || (len(rows) > 0 && pos.NextDueOn == "" && pos.OverduePeriods == 0) {
		pos.Settled, pos.OwedFen = true, 0
		if pos.SettledOn == "" {
			pos.SettledOn = rows[len(rows)-1].DueOn
		}
	}
	return pos
}

// penalty is the penalty interest on an overdue instalment: payment ×
// daily rate × days overdue, rounded half up to the fen.
func penalty(paymentFen int64, dailyBP int, dueOn string, now time.Time) int64 {
	due, err := time.ParseInLocation(time.DateOnly, dueOn, shanghai())
	if err != nil {
		return 0
	}
	today, _ := time.ParseInLocation(time.DateOnly, date(now), shanghai())
	days := int64(today.Sub(due).Hours() / 24)
	if days <= 0 {
		return 0
	}
	return (paymentFen*int64(dailyBP)*days*2 + 10000) / 20000
}

// summary is the loan as of now: what is still owed and what comes next.
func (l loanTerms) summary(now time.Time) core.Loan {
	loan := core.Loan{
		HasLoan: true, LoanNumber: l.number, PrincipalFen: l.principal, OutstandingFen: l.principal,
		AnnualRateBP: l.rateBP, Months: l.months, Method: l.method, StartedOn: date(l.startedOn),
	}
	var overduePrincipal int64
	for _, in := range l.schedule(now) {
		switch in.Status {
		case "paid":
			loan.OutstandingFen = in.RemainingFen
			continue
		case "overdue":
			loan.OutstandingFen = in.RemainingFen
			overduePrincipal += in.PrincipalFen
			loan.OverduePeriods++
			continue
		}
		loan.NextDueOn, loan.NextPaymentFen = in.DueOn, in.PaymentFen
		break
	}
	loan.OutstandingFen += overduePrincipal
	if loan.NextDueOn == "" && loan.OverduePeriods == 0 {
		loan.OutstandingFen = 0
	}
	loan.Settled = loan.OutstandingFen == 0
	return loan
}

// loadLoan reads a person's loan terms; ok false when there is none.
func loadLoan(ctx context.Context, q querier, personID string) (loanTerms, bool, error) {
	l := loanTerms{personID: personID}
	var started string
	err := q.QueryRowContext(ctx, `SELECT loan_number, principal_fen, annual_rate_bp, months, method, started_on, overdue_from, overdue_count,
		last_prepaid_on, settled_on, repay_account_id, pending_account_id, pending_from FROM loans WHERE person_id = ?`, personID).
		Scan(&l.number, &l.principal, &l.rateBP, &l.months, &l.method, &started, &l.overdueFrom, &l.overdueCount,
			&l.lastPrepaidOn, &l.settledOn, &l.repayAccount, &l.pendingAccount, &l.pendingFrom)
	if err == sql.ErrNoRows {
		return l, false, nil
	}
	if err != nil {
		return l, false, err
	}
	if l.startedOn, err = time.ParseInLocation(time.DateOnly, started, shanghai()); err != nil {
		return l, false, err
	}
	rows, err := q.QueryContext(ctx, `SELECT first_period, principal_fen, months FROM loan_segments WHERE person_id = ? ORDER BY first_period`, personID)
	if err != nil {
		return l, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var sg segment
		if err := rows.Scan(&sg.first, &sg.principal, &sg.months); err != nil {
			return l, false, err
		}
		l.segments = append(l.segments, sg)
	}
	return l, true, rows.Err()
}
