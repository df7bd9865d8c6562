package loan

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"handheld/services"
)

// checkPlan asserts what must hold for every valid schedule, whatever the
// terms: the rounding rule row by row, and sums that close to the fen.
func checkPlan(t testing.TB, terms Terms, plan Plan) {
	t.Helper()
	if plan.PrincipalFen != terms.PrincipalFen || plan.Months != terms.Months ||
		plan.AnnualRateBP != terms.AnnualRateBP || plan.Method != terms.Method {
		t.Fatalf("plan header %+v does not echo terms %+v", plan, terms)
	}
	if len(plan.Rows) != terms.Months {
		t.Fatalf("%+v: %d rows, want %d", terms, len(plan.Rows), terms.Months)
	}
	level := plan.Rows[0].PaymentFen
	if terms.Method == Annuity && terms.Months > 1 {
		// The first row is never cut short (round(P/n) ≤ P), so it carries
		// the level payment; compare it with the float formula.
		if want := floatAnnuity(terms); math.Abs(float64(level)-want) > 1 {
			t.Fatalf("%+v: level payment %d fen, float reference %.4f", terms, level, want)
		}
	}
	remaining := terms.PrincipalFen
	var sumPrincipal, sumInterest, sumPayment int64
	for i, row := range plan.Rows {
		last := i == len(plan.Rows)-1
		wantInterest := (2*remaining*int64(terms.AnnualRateBP) + rateDenominator) / (2 * rateDenominator)
		switch {
		case row.Period != i+1:
			t.Fatalf("%+v row %d: period %d", terms, i, row.Period)
		case row.InterestFen != wantInterest:
			t.Fatalf("%+v row %d: interest %d, want round(%d × %d / 120000) = %d",
				terms, i, row.InterestFen, remaining, terms.AnnualRateBP, wantInterest)
		case row.PaymentFen != row.PrincipalFen+row.InterestFen:
			t.Fatalf("%+v row %d: payment %d ≠ principal %d + interest %d",
				terms, i, row.PaymentFen, row.PrincipalFen, row.InterestFen)
		case row.PrincipalFen < 0 || row.PrincipalFen > remaining:
			t.Fatalf("%+v row %d: principal part %d outside [0, %d]", terms, i, row.PrincipalFen, remaining)
		case row.RemainingFen != remaining-row.PrincipalFen:
			t.Fatalf("%+v row %d: remaining %d, want %d − %d", terms, i, row.RemainingFen, remaining, row.PrincipalFen)
		case last && row.PrincipalFen != remaining:
			t.Fatalf("%+v: last row repays %d of %d remaining", terms, row.PrincipalFen, remaining)
		}
		// Before the last row a principal part differs from the method's
		// only when it is cut to what remains (the loan is then repaid).
		if !last && row.RemainingFen > 0 {
			switch terms.Method {
			case Annuity:
				if row.PaymentFen != level {
					t.Fatalf("%+v row %d: payment %d, want level %d", terms, i, row.PaymentFen, level)
				}
			case Linear:
				if want := terms.PrincipalFen / int64(terms.Months); row.PrincipalFen != want {
					t.Fatalf("%+v row %d: principal part %d, want %d", terms, i, row.PrincipalFen, want)
				}
			}
		}
		remaining = row.RemainingFen
		sumPrincipal += row.PrincipalFen
		sumInterest += row.InterestFen
		sumPayment += row.PaymentFen
	}
	if remaining != 0 || sumPrincipal != terms.PrincipalFen {
		t.Fatalf("%+v: ends with %d remaining, principal parts sum to %d", terms, remaining, sumPrincipal)
	}
	if plan.TotalInterestFen != sumInterest || plan.TotalPaymentFen != sumPayment {
		t.Fatalf("%+v: totals interest %d payment %d, rows sum to %d and %d",
			terms, plan.TotalInterestFen, plan.TotalPaymentFen, sumInterest, sumPayment)
	}
}

// randomTerms draws valid terms, skewed towards the edges where rounding
// bites: tiny principals, one month, zero and extreme rates.
func randomTerms(rng *rand.Rand) Terms {
	terms := Terms{
		PrincipalFen: 1 + rng.Int64N(maxPrincipalFen),
		Months:       1 + rng.IntN(maxMonths),
		AnnualRateBP: rng.IntN(maxAnnualRateBP + 1),
		Method:       Annuity,
	}
	if rng.IntN(2) == 0 {
		terms.Method = Linear
	}
	switch rng.IntN(8) {
	case 0:
		terms.PrincipalFen = 1 + rng.Int64N(1000)
	case 1:
		terms.Months = 1 + rng.IntN(3)
	case 2:
		terms.AnnualRateBP = 0
	case 3:
		terms.AnnualRateBP = maxAnnualRateBP
	}
	return terms
}

func TestScheduleInvariantsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(20240630, 12329))
	n := 5000
	if testing.Short() {
		n = 500
	}
	for range n {
		terms := randomTerms(rng)
		plan, err := Schedule(terms)
		if err != nil {
			t.Fatalf("Schedule(%+v): %v", terms, err)
		}
		checkPlan(t, terms, plan)
	}
}

// foldTerms maps any input into the valid range, so that every fuzz input
// also exercises a real schedule, not only validation.
func foldTerms(principal int64, months, rate int, method string) Terms {
	m := Annuity
	if len(method)%2 == 1 {
		m = Linear
	}
	return Terms{
		PrincipalFen: 1 + int64(uint64(principal)%maxPrincipalFen),
		Months:       1 + int(uint(months)%maxMonths),
		AnnualRateBP: int(uint(rate) % (maxAnnualRateBP + 1)),
		Method:       m,
	}
}

func FuzzSchedule(f *testing.F) {
	f.Add(int64(100_000_000), 360, 310, "annuity")
	f.Add(int64(100_000_000), 360, 310, "linear")
	f.Add(int64(9), 6, 0, "annuity")
	f.Add(int64(1), 1, 2000, "linear")
	f.Add(int64(1_000_000_000), 360, 2000, "annuity")
	f.Add(int64(0), 0, -1, "")
	f.Add(int64(math.MinInt64), math.MaxInt, math.MinInt, "balloon")
	f.Fuzz(func(t *testing.T, principal int64, months, rate int, method string) {
		raw := Terms{PrincipalFen: principal, Months: months, AnnualRateBP: rate, Method: Method(method)}
		plan, err := Schedule(raw)
		if raw.Validate() == nil {
			if err != nil {
				t.Fatalf("Schedule(%+v) on valid terms: %v", raw, err)
			}
			checkPlan(t, raw, plan)
		} else {
			var e *services.Error
			if !errors.As(err, &e) || e.Code != services.CodeInvalid || len(e.Fields) == 0 {
				t.Fatalf("Schedule(%+v) on invalid terms: %v, want request.invalid with fields", raw, err)
			}
		}

		folded := foldTerms(principal, months, rate, method)
		plan, err = Schedule(folded)
		if err != nil {
			t.Fatalf("Schedule(%+v) on folded terms: %v", folded, err)
		}
		checkPlan(t, folded, plan)
	})
}
