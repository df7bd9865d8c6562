package coresim

import (
	"context"
	"database/sql"
	"math/big"
	"time"

	"handheld/services/core"
)

// Repayment methods (GLOSSARY: 等额本息, 等额本金).
const (
	methodAnnuity = "annuity"
	methodLinear  = "linear"
)

// loanTerms is a loan as the core keeps it; the schedule and the summary
// are derived from the terms and the clock, so they never drift apart.
type loanTerms struct {
	number    string
	principal int64
	rateBP    int
	months    int
	method    string
	startedOn time.Time // the first instalment falls due one month later
}

// annuityPayment is the equal monthly instalment P·r·(1+r)^n / ((1+r)^n − 1)
// with r = rateBP/120000, computed exactly with integers and rounded half
// up to the fen.
func annuityPayment(principal int64, rateBP, months int) int64 {
	if rateBP == 0 {
		return (principal + int64(months) - 1) / int64(months)
	}
	b := big.NewInt(120000)
	a := big.NewInt(int64(120000 + rateBP))
	an := new(big.Int).Exp(a, big.NewInt(int64(months)), nil)
	bn := new(big.Int).Exp(b, big.NewInt(int64(months)), nil)
	num := new(big.Int).Mul(big.NewInt(principal), big.NewInt(int64(rateBP)))
	num.Mul(num, an)
	den := new(big.Int).Sub(an, bn)
	den.Mul(den, b)
	// (2·num + den) / (2·den) rounds half up.
	num.Lsh(num, 1).Add(num, den)
	den.Lsh(den, 1)
	return num.Quo(num, den).Int64()
}

// schedule lists every instalment. Interest each month is the remaining
// principal × rate/12, half up; the last instalment clears the remainder.
// An instalment due before today is paid (the demo borrowers pay on time).
func (l loanTerms) schedule(now time.Time) []core.Instalment {
	out := make([]core.Instalment, 0, l.months)
	today := date(now)
	remaining := l.principal
	payment := annuityPayment(l.principal, l.rateBP, l.months)
	start := monthOf(l.startedOn)
	for p := 1; p <= l.months; p++ {
		interest := (remaining*int64(l.rateBP)*2 + 120000) / 240000
		var principal int64
		switch {
		case p == l.months:
			principal = remaining
		case l.method == methodLinear:
			principal = l.principal / int64(l.months)
		default:
			principal = payment - interest
		}
		remaining -= principal
		due := date((start + month(p)).day(l.startedOn.Day()))
		status := "due"
		if due < today {
			status = "paid"
		}
		out = append(out, core.Instalment{
			Period: p, DueOn: due, PaymentFen: principal + interest, PrincipalFen: principal,
			InterestFen: interest, RemainingFen: remaining, Status: status,
		})
	}
	return out
}

// summary is the loan as of now: what is still owed and what comes next.
func (l loanTerms) summary(now time.Time) core.Loan {
	loan := core.Loan{
		HasLoan: true, LoanNumber: l.number, PrincipalFen: l.principal, OutstandingFen: l.principal,
		AnnualRateBP: l.rateBP, Months: l.months, Method: l.method, StartedOn: date(l.startedOn),
	}
	for _, in := range l.schedule(now) {
		if in.Status == "paid" {
			loan.OutstandingFen = in.RemainingFen
			continue
		}
		loan.NextDueOn, loan.NextPaymentFen = in.DueOn, in.PaymentFen
		break
	}
	loan.Settled = loan.OutstandingFen == 0
	return loan
}

// loadLoan reads a person's loan terms; ok false when there is none.
func loadLoan(ctx context.Context, q querier, personID string) (loanTerms, bool, error) {
	var l loanTerms
	var started string
	err := q.QueryRowContext(ctx, `SELECT loan_number, principal_fen, annual_rate_bp, months, method, started_on FROM loans WHERE person_id = ?`, personID).
		Scan(&l.number, &l.principal, &l.rateBP, &l.months, &l.method, &started)
	if err == sql.ErrNoRows {
		return l, false, nil
	}
	if err != nil {
		return l, false, err
	}
	l.startedOn, err = time.ParseInLocation(time.DateOnly, started, shanghai())
	return l, err == nil, err
}
