package loan

import (
	"math"

	"handheld/services"
)

// Mode is what an early repayment (提前还款) shrinks. The values are the
// wire and query names.
type Mode string

// The early-repayment modes HPF centres offer.
const (
	// ShortenTerm keeps the instalment (an annuity's level payment, a
	// linear loan's monthly principal) and repays in fewer months.
	ShortenTerm Mode = "shorten_term"
	// ReduceInstalment keeps the months left and lowers the instalment.
	ReduceInstalment Mode = "reduce_instalment"
)

// Modes lists the modes, for validation messages and policies.
func Modes() []string { return []string{string(ShortenTerm), string(ReduceInstalment)} }

// Position is a loan part-way through: the schedule in force (its terms:
// the principal it started from, its months, rate and method) and how many
// of its periods are paid. A loan repaid early before is in force under
// the schedule that repayment made, so Terms are that schedule's.
type Position struct {
	Terms Terms
	Paid  int
}

// Quote is an early repayment worked out: the schedule it replaces (the
// periods still to pay), the schedule that follows, and what it saves.
// Before and After number their periods from 1; a repayment of everything
// owed (Settles) leaves After empty.
type Quote struct {
	AmountFen         int64
	Mode              Mode
	OwedBeforeFen     int64 // principal owed before the repayment
	OwedAfterFen      int64 // principal owed after it
	Settles           bool
	Before            Plan
	After             Plan
	InterestSavedFen  int64
	MonthsBefore      int
	MonthsAfter       int
	PaymentBeforeFen  int64 // the next instalment under the old schedule
	PaymentAfterFen   int64 // the next instalment under the new one; 0 when settled
	InterestBeforeFen int64
	InterestAfterFen  int64
}

// Prepay works out an early repayment of amountFen from pos under mode,
// with the same rounding rule and the same Schedule as the calculator, so
// the quote a person sees, what the core applies and the calculator's plan
// for the new terms agree to the fen.
//
// Bad input is a request.invalid error naming amount_fen or mode; an
// amount above what is owed is loan.prepayment_above_owed.
func Prepay(pos Position, amountFen int64, mode Mode) (Quote, error) {
	if err := pos.Terms.Validate(); err != nil {
		return Quote{}, err
	}
	if pos.Paid < 0 || pos.Paid >= pos.Terms.Months {
		return Quote{}, services.Errorf(services.CodeLoanNone, "loan: position %d of %d months: nothing left to repay", pos.Paid, pos.Terms.Months)
	}
	switch mode {
	case ShortenTerm, ReduceInstalment:
	default:
		code := services.FieldOneOf
		if mode == "" {
			code = services.FieldRequired
		}
		return Quote{}, services.Invalid(services.FieldError{Field: "mode", Code: code, Params: map[string]any{"allowed": Modes()}})
	}
	current, err := Schedule(pos.Terms)
	if err != nil {
		return Quote{}, err
	}
	owed := pos.Terms.PrincipalFen
	if pos.Paid > 0 {
		owed = current.Rows[pos.Paid-1].RemainingFen
	}
	if amountFen < 1 {
		return Quote{}, services.Invalid(services.FieldError{Field: "amount_fen", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": 1, "max": owed}})
	}
	if amountFen > owed {
		return Quote{}, &services.Error{Code: services.CodeLoanPrepaymentAboveOwed, Params: map[string]any{"owed_fen": owed}}
	}
	q := Quote{AmountFen: amountFen, Mode: mode, OwedBeforeFen: owed, OwedAfterFen: owed - amountFen,
		Before: rest(current, pos.Paid), MonthsBefore: pos.Terms.Months - pos.Paid}
	q.PaymentBeforeFen = q.Before.Rows[0].PaymentFen
	q.InterestBeforeFen = q.Before.TotalInterestFen
	if q.OwedAfterFen == 0 {
		q.Settles = true
		q.After = Plan{Rows: []Row{}, Method: pos.Terms.Method, AnnualRateBP: pos.Terms.AnnualRateBP}
	} else {
		months := q.MonthsBefore
		if mode == ShortenTerm {
			months = shortened(pos.Terms, q.MonthsBefore, q.OwedAfterFen)
		}
		if q.After, err = Schedule(Terms{PrincipalFen: q.OwedAfterFen, Months: months, AnnualRateBP: pos.Terms.AnnualRateBP,
			Method: pos.Terms.Method}); err != nil {
			return Quote{}, err
		}
		q.MonthsAfter = months
		q.PaymentAfterFen = q.After.Rows[0].PaymentFen
		q.InterestAfterFen = q.After.TotalInterestFen
	}
	q.InterestSavedFen = q.InterestBeforeFen - q.InterestAfterFen
	return q, nil
}

// rest is the part of plan from period paid+1 on, renumbered from 1, with
// its own totals.
func rest(plan Plan, paid int) Plan {
	out := Plan{Rows: make([]Row, 0, len(plan.Rows)-paid), Method: plan.Method, AnnualRateBP: plan.AnnualRateBP,
		Months: len(plan.Rows) - paid}
	if paid == 0 {
		out.PrincipalFen = plan.PrincipalFen
	} else {
		out.PrincipalFen = plan.Rows[paid-1].RemainingFen
	}
	for i, r := range plan.Rows[paid:] {
		r.Period = i + 1
		out.Rows = append(out.Rows, r)
		out.TotalInterestFen += r.InterestFen
	}
	out.TotalPaymentFen = out.PrincipalFen + out.TotalInterestFen
	return out
}

// shortened is the fewest months, at most left, in which owed is repaid
// without the instalment growing: for an annuity the first n whose level
// payment is at most the current one; for a linear loan the months the
// current monthly principal part takes to repay owed.
func shortened(t Terms, left int, owed int64) int {
	if t.Method == Linear {
		part := t.PrincipalFen / int64(t.Months)
		if part < 1 {
			return left
		}
		return int(min(int64(left), max(1, (owed+part-1)/part)))
	}
	level := annuityPayment(t.PrincipalFen, t.Months, t.AnnualRateBP)
	fits := func(n int) bool { return annuityPayment(owed, n, t.AnnualRateBP) <= level }
	// The closed form n = −ln(1 − r·owed/level) / ln(1 + r) says where to
	// look; the answer is then found exactly, a step at a time from
	// there (the payment falls as n grows), so floating point only ever
	// saves work and never decides. Usually two exact payments.
	n := left
	if t.AnnualRateBP == 0 {
		n = int((owed + level - 1) / level)
	} else if r := float64(t.AnnualRateBP) / rateDenominator; r*float64(owed) < float64(level) {
		n = int(math.Ceil(-math.Log1p(-r*float64(owed)/float64(level)) / math.Log1p(r)))
	}
	n = min(max(n, 1), left)
	for n > 1 && fits(n-1) {
		n--
	}
	for n < left && !fits(n) {
		n++
	}
	return n
}
