package loan

import "math/big"

// rateDenominator turns annual basis points into the exact monthly rate:
// r = bp / (10000 bp per unit × 12 months).
const rateDenominator = 120_000

// Plan is a whole repayment schedule with its totals, so a client can show
// "total interest" without summing rows itself and can never disagree with
// the rows it was sent.
type Plan struct {
	Rows             []Row  `json:"rows"`
	TotalPaymentFen  int64  `json:"total_payment_fen"`
	TotalInterestFen int64  `json:"total_interest_fen"`
	PrincipalFen     int64  `json:"principal_fen"`
	Method           Method `json:"method"`
	Months           int    `json:"months"`
	AnnualRateBP     int    `json:"annual_rate_bp"`
}

// Row is one month of a schedule. RemainingFen is the principal still owed
// after this payment, which is what a depositor compares with a bank
// statement when thinking about early repayment.
type Row struct {
	Period       int   `json:"period"`
	PaymentFen   int64 `json:"payment_fen"`
	PrincipalFen int64 `json:"principal_fen"`
	InterestFen  int64 `json:"interest_fen"`
	RemainingFen int64 `json:"remaining_fen"`
}

// Schedule computes the repayment plan under the rounding rule in the
// package documentation. It validates first, so callers may pass raw request
// terms and get a request.invalid error back. Exact arithmetic is used once,
// for the annuity payment; every row is then int64 arithmetic, which keeps a
// 30-year schedule in the microseconds.
func Schedule(t Terms) (Plan, error) {
	if err := t.Validate(); err != nil {
		return Plan{}, err
	}
	plan := Plan{
		Rows:         make([]Row, t.Months),
		PrincipalFen: t.PrincipalFen,
		Method:       t.Method,
		Months:       t.Months,
		AnnualRateBP: t.AnnualRateBP,
	}
	var level int64 // the annuity's level payment
	if t.Method == Annuity {
		level = annuityPayment(t.PrincipalFen, t.Months, t.AnnualRateBP)
	}
	linearPart := t.PrincipalFen / int64(t.Months) // truncated to the fen
	last := t.Months - 1
	remaining := t.PrincipalFen
	for i := range plan.Rows {
		interest := monthlyInterest(remaining, t.AnnualRateBP)
		var principal int64
		switch {
		case i == last:
			principal = remaining
		case t.Method == Annuity:
			// Never negative: remaining ≤ P, so remaining·r < the exact
			// payment, and half-up rounding keeps the order.
			principal = level - interest
		default:
			principal = linearPart
		}
		principal = min(principal, remaining)
		remaining -= principal
		plan.Rows[i] = Row{
			Period:       i + 1,
			PaymentFen:   principal + interest,
			PrincipalFen: principal,
			InterestFen:  interest,
			RemainingFen: remaining,
		}
		plan.TotalInterestFen += interest
	}
	plan.TotalPaymentFen = plan.PrincipalFen + plan.TotalInterestFen
	return plan, nil
}

// monthlyInterest is remaining × bp / 120000 rounded half-up. Within the
// validated limits the product is at most 2·10¹², far inside int64.
func monthlyInterest(remainingFen int64, annualRateBP int) int64 {
	return roundHalfUp(remainingFen*int64(annualRateBP), rateDenominator)
}

// annuityPayment is P·r·(1+r)^n / ((1+r)^n − 1) rounded half-up, computed
// exactly. With r = bp/D and (1+r) = a/d in lowest terms it is
// P·bp·a^n / (D·(a^n − d^n)); a^n has at most a few thousand bits.
func annuityPayment(principalFen int64, months, annualRateBP int) int64 {
	if annualRateBP == 0 {
		return roundHalfUp(principalFen, int64(months))
	}
	g := gcd(annualRateBP, rateDenominator)
	a := big.NewInt(int64((rateDenominator + annualRateBP) / g))
	d := big.NewInt(int64(rateDenominator / g))
	n := big.NewInt(int64(months))

	var an, dn, num, den big.Int
	an.Exp(a, n, nil)
	dn.Exp(d, n, nil)
	den.Sub(&an, &dn)
	den.Mul(&den, big.NewInt(rateDenominator))
	num.Mul(&an, big.NewInt(principalFen*int64(annualRateBP)))
	// Half-up for positive values: ⌊(2·num + den) / (2·den)⌋.
	num.Lsh(&num, 1)
	num.Add(&num, &den)
	den.Lsh(&den, 1)
	num.Quo(&num, &den)
	return num.Int64()
}

// roundHalfUp is x/d rounded half-up, for x ≥ 0 and d > 0.
func roundHalfUp(x, d int64) int64 {
	return (2*x + d) / (2 * d)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
