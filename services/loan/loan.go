// Package loan computes HPF loan repayment schedules (还款计划) exactly to the
// fen, so that what a depositor sees in the app agrees with what the centre's
// core will debit, and so that two runs of the calculator never disagree.
//
// Rounding rule. All money is int64 fen and no floating point is used:
//
//   - The monthly rate is the annual rate divided by 12, kept as the exact
//     fraction annual_rate_bp / 120000.
//   - Interest for a period is the principal remaining before that period
//     times the monthly rate, rounded half-up to the fen.
//   - Annuity (等额本息): the level payment is P·r·(1+r)^n / ((1+r)^n − 1),
//     computed exactly and rounded half-up to the fen; at a 0% rate it is
//     P / n, rounded half-up to the fen. Each period's principal part is the
//     payment minus that period's interest.
//   - Linear (等额本金): each period's principal part is P / n truncated to
//     the fen; the payment is the principal part plus that period's interest.
//   - The last period repays exactly the principal still remaining, which
//     absorbs every rounding difference: principal parts sum to P and the
//     remaining principal ends at 0. Its payment is that principal plus its
//     interest, so it may differ from the level payment by a few fen.
//   - A principal part never exceeds the principal remaining. For tiny loans
//     a payment rounded up can repay the loan before the last period; that
//     period's payment is then cut to what is owed and later periods are 0.
//
// Here P is principal_fen, n is months and r is the monthly rate.
package loan

import "handheld/services"

// Method is how a loan is repaid. The values are the wire and query names, so
// a request parameter converts to a Method without a lookup table.
type Method string

// The repayment methods HPF centres offer.
const (
	// Annuity (等额本息) keeps the monthly payment level: early payments are
	// mostly interest, so it costs more interest but starts cheaper.
	Annuity Method = "annuity"
	// Linear (等额本金) repays the same principal every month: payments start
	// high and fall, and total interest is lower.
	Linear Method = "linear"
)

// Limits of the calculator's input. They sit well beyond any HPF loan (10
// million yuan, 30 years, 20% a year) and exist to bound the arithmetic:
// remaining × rate stays far inside int64.
const (
	minPrincipalFen = 1
	maxPrincipalFen = 1_000_000_000
	minMonths       = 1
	maxMonths       = 360
	minAnnualRateBP = 0
	maxAnnualRateBP = 2000
)

// Terms are what a depositor enters in the calculator. The field names of
// validation errors are the query parameter names, so the client can put
// each message beside the input it belongs to.
type Terms struct {
	PrincipalFen int64
	Months       int
	AnnualRateBP int // basis points a year: 310 is 3.10%; 0 is interest-free
	Method       Method
}

// Validate reports every bad field at once, not just the first, so a form
// can mark all its mistakes in one round trip. The error is a
// request.invalid *services.Error whose field Params (min, max, allowed)
// fill the localized messages.
func (t Terms) Validate() error {
	var fields []services.FieldError
	if t.PrincipalFen < minPrincipalFen || t.PrincipalFen > maxPrincipalFen {
		fields = append(fields, outOfRange("principal_fen", int64(minPrincipalFen), int64(maxPrincipalFen)))
	}
	if t.Months < minMonths || t.Months > maxMonths {
		fields = append(fields, outOfRange("months", minMonths, maxMonths))
	}
	if t.AnnualRateBP < minAnnualRateBP || t.AnnualRateBP > maxAnnualRateBP {
		fields = append(fields, outOfRange("annual_rate_bp", minAnnualRateBP, maxAnnualRateBP))
	}
	switch t.Method {
	case Annuity, Linear:
	case "":
		fields = append(fields, methodError(services.FieldRequired))
	default:
		fields = append(fields, methodError(services.FieldOneOf))
	}
	if len(fields) > 0 {
		return services.Invalid(fields...)
	}
	return nil
}

func outOfRange[N int | int64](field string, lo, hi N) services.FieldError {
	return services.FieldError{
		Field:  field,
		Code:   services.FieldOutOfRange,
		Params: map[string]any{"min": lo, "max": hi},
	}
}

func methodError(code string) services.FieldError {
	return services.FieldError{
		Field:  "method",
		Code:   code,
		Params: map[string]any{"allowed": []string{string(Annuity), string(Linear)}},
	}
}
