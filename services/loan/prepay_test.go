package loan

import (
	"testing"

	"handheld/services"
)

// zhangWei is the demo loan: 800,000 yuan, 30 years, 2.85 %, annuity, 26
// instalments paid.
var zhangWei = Position{Terms: Terms{PrincipalFen: 80_000_000, Months: 360, AnnualRateBP: 285, Method: Annuity}, Paid: 26}

func TestPrepayReduceInstalmentKeepsTheMonths(t *testing.T) {
	q, err := Prepay(zhangWei, 10_000_000, ReduceInstalment)
	if err != nil {
		t.Fatal(err)
	}
	full, _ := Schedule(zhangWei.Terms)
	owed := full.Rows[25].RemainingFen
	if q.OwedBeforeFen != owed || q.OwedAfterFen != owed-10_000_000 || q.MonthsAfter != 334 || q.MonthsBefore != 334 {
		t.Fatalf("quote %+v, owed %d", q, owed)
	}
	// The new schedule is the calculator's for the new terms, to the fen.
	calc, _ := Schedule(Terms{PrincipalFen: owed - 10_000_000, Months: 334, AnnualRateBP: 285, Method: Annuity})
	if q.After.TotalInterestFen != calc.TotalInterestFen || q.After.Rows[0] != calc.Rows[0] || q.After.Rows[333] != calc.Rows[333] {
		t.Fatalf("after %+v\ncalc %+v", q.After.Rows[0], calc.Rows[0])
	}
	// The old schedule is the rest of the loan's.
	if q.Before.Rows[0].PaymentFen != full.Rows[26].PaymentFen || q.Before.Rows[0].InterestFen != full.Rows[26].InterestFen {
		t.Fatalf("before %+v, full %+v", q.Before.Rows[0], full.Rows[26])
	}
	if q.PaymentAfterFen >= q.PaymentBeforeFen || q.InterestSavedFen != q.Before.TotalInterestFen-calc.TotalInterestFen || q.InterestSavedFen <= 0 {
		t.Fatalf("quote %+v", q)
	}
}

func TestPrepayShortenTermKeepsTheInstalment(t *testing.T) {
	q, err := Prepay(zhangWei, 10_000_000, ShortenTerm)
	if err != nil {
		t.Fatal(err)
	}
	if q.MonthsAfter >= q.MonthsBefore || q.PaymentAfterFen > q.PaymentBeforeFen {
		t.Fatalf("quote: %d → %d months, %d → %d", q.MonthsBefore, q.MonthsAfter, q.PaymentBeforeFen, q.PaymentAfterFen)
	}
	// The fewest months: one month fewer would need a larger instalment.
	fewer, _ := Schedule(Terms{PrincipalFen: q.OwedAfterFen, Months: q.MonthsAfter - 1, AnnualRateBP: 285, Method: Annuity})
	if fewer.Rows[0].PaymentFen <= q.PaymentBeforeFen {
		t.Fatalf("%d months would do at %d", q.MonthsAfter-1, fewer.Rows[0].PaymentFen)
	}
	reduce, _ := Prepay(zhangWei, 10_000_000, ReduceInstalment)
	if q.InterestSavedFen <= reduce.InterestSavedFen {
		t.Fatalf("shortening saves %d, reducing %d", q.InterestSavedFen, reduce.InterestSavedFen)
	}
}

func TestPrepayLinearShortensByTheMonthlyPrincipal(t *testing.T) {
	pos := Position{Terms: Terms{PrincipalFen: 50_000_000, Months: 300, AnnualRateBP: 310, Method: Linear}, Paid: 12}
	q, err := Prepay(pos, 5_000_000, ShortenTerm)
	if err != nil {
		t.Fatal(err)
	}
	part := int64(50_000_000 / 300)
	if want := int((q.OwedAfterFen + part - 1) / part); q.MonthsAfter != want {
		t.Fatalf("months %d, want %d", q.MonthsAfter, want)
	}
}

func TestPrepayEverythingSettles(t *testing.T) {
	full, _ := Schedule(zhangWei.Terms)
	owed := full.Rows[25].RemainingFen
	q, err := Prepay(zhangWei, owed, ShortenTerm)
	if err != nil {
		t.Fatal(err)
	}
	if !q.Settles || len(q.After.Rows) != 0 || q.InterestSavedFen != q.Before.TotalInterestFen || q.PaymentAfterFen != 0 {
		t.Fatalf("quote %+v", q)
	}
}

func TestPrepayRefusesBadInput(t *testing.T) {
	full, _ := Schedule(zhangWei.Terms)
	owed := full.Rows[25].RemainingFen
	for name, tc := range map[string]struct {
		pos    Position
		amount int64
		mode   Mode
		want   services.Code
	}{
		"zero":          {zhangWei, 0, ShortenTerm, services.CodeInvalid},
		"negative":      {zhangWei, -100, ShortenTerm, services.CodeInvalid},
		"above owed":    {zhangWei, owed + 1, ShortenTerm, services.CodeLoanPrepaymentAboveOwed},
		"no mode":       {zhangWei, 100, "", services.CodeInvalid},
		"unknown mode":  {zhangWei, 100, "both", services.CodeInvalid},
		"all paid":      {Position{Terms: zhangWei.Terms, Paid: 360}, 100, ShortenTerm, services.CodeLoanNone},
		"negative paid": {Position{Terms: zhangWei.Terms, Paid: -1}, 100, ShortenTerm, services.CodeLoanNone},
		"bad terms":     {Position{Terms: Terms{PrincipalFen: 1, Months: 0, Method: Annuity}}, 1, ShortenTerm, services.CodeInvalid},
	} {
		if _, err := Prepay(tc.pos, tc.amount, tc.mode); services.ErrorCode(err) != tc.want {
			t.Errorf("%s: %v, want %s", name, err, tc.want)
		}
	}
}

// BenchmarkPrepayQuote360 is a quote on a 360-month loan (the old and the
// new schedule and, shortening, the search for the months) against the
// calculator's schedule of the same loan in the same run: make bench
// reports the ratio.
func BenchmarkPrepayQuote360(b *testing.B) {
	pos := Position{Terms: Terms{PrincipalFen: 100_000_000, Months: 360, AnnualRateBP: 310, Method: Annuity}, Paid: 0}
	var calc, quote float64
	b.Run("calculator", func(b *testing.B) {
		for b.Loop() {
			if _, err := Schedule(pos.Terms); err != nil {
				b.Fatal(err)
			}
		}
		calc = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	for _, mode := range []Mode{ReduceInstalment, ShortenTerm} {
		b.Run("quote_"+string(mode), func(b *testing.B) {
			for b.Loop() {
				if _, err := Prepay(pos, 10_000_000, mode); err != nil {
					b.Fatal(err)
				}
			}
			quote = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if calc > 0 {
				b.ReportMetric(quote/calc, "x_calculator")
			}
		})
	}
}

// The months shortening finds are the fewest whose payment fits, checked
// against every n for a spread of loans, amounts and rates.
func TestShortenedIsTheFewestMonths(t *testing.T) {
	for _, rate := range []int{0, 285, 310, 2000} {
		for _, paid := range []int{0, 26, 200, 358} {
			pos := Position{Terms: Terms{PrincipalFen: 80_000_000, Months: 360, AnnualRateBP: rate, Method: Annuity}, Paid: paid}
			full, _ := Schedule(pos.Terms)
			owed := pos.Terms.PrincipalFen
			if paid > 0 {
				owed = full.Rows[paid-1].RemainingFen
			}
			level := annuityPayment(pos.Terms.PrincipalFen, pos.Terms.Months, rate)
			for _, amount := range []int64{1, 1_000_000, owed / 2, owed - 1} {
				if amount < 1 || amount >= owed {
					continue
				}
				got := shortened(pos.Terms, 360-paid, owed-amount)
				want := 360 - paid
				for n := 1; n <= 360-paid; n++ {
					if annuityPayment(owed-amount, n, rate) <= level {
						want = n
						break
					}
				}
				if got != want {
					t.Errorf("rate %d paid %d amount %d: %d months, want %d", rate, paid, amount, got, want)
				}
			}
		}
	}
}
