package loan

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The expected values below were computed independently of this package,
// with Python's fractions.Fraction applying the rounding rule literally.

func TestScheduleKnownValues(t *testing.T) {
	tests := []struct {
		name          string
		terms         Terms
		first, last   Row
		totalInterest int64
	}{
		{
			// 1,000,000 yuan over 30 years at 3.10%: 4270.16 yuan a month.
			// The payment rounds 427016.399 down, so the last period
			// absorbs the accumulated 2.43 yuan.
			name:          "annuity 30y 3.10%",
			terms:         Terms{PrincipalFen: 100_000_000, Months: 360, AnnualRateBP: 310, Method: Annuity},
			first:         Row{Period: 1, PaymentFen: 427016, PrincipalFen: 168683, InterestFen: 258333, RemainingFen: 99831317},
			last:          Row{Period: 360, PaymentFen: 427259, PrincipalFen: 426158, InterestFen: 1101, RemainingFen: 0},
			totalInterest: 53726003,
		},
		{
			// 100,000,000 / 360 = 277777.7…, truncated; first interest
			// 258333.3… rounds to 258333.
			name:          "linear 30y 3.10%",
			terms:         Terms{PrincipalFen: 100_000_000, Months: 360, AnnualRateBP: 310, Method: Linear},
			first:         Row{Period: 1, PaymentFen: 536110, PrincipalFen: 277777, InterestFen: 258333, RemainingFen: 99722223},
			last:          Row{Period: 360, PaymentFen: 278775, PrincipalFen: 278057, InterestFen: 718, RemainingFen: 0},
			totalInterest: 46629295,
		},
		{
			name:          "annuity 20y 2.85%",
			terms:         Terms{PrincipalFen: 100_000_000, Months: 240, AnnualRateBP: 285, Method: Annuity},
			first:         Row{Period: 1, PaymentFen: 547119, PrincipalFen: 309619, InterestFen: 237500, RemainingFen: 99690381},
			last:          Row{Period: 240, PaymentFen: 547046, PrincipalFen: 545750, InterestFen: 1296, RemainingFen: 0},
			totalInterest: 31308487,
		},
		{
			name:          "annuity at the limits",
			terms:         Terms{PrincipalFen: 1_000_000_000, Months: 360, AnnualRateBP: 2000, Method: Annuity},
			first:         Row{Period: 1, PaymentFen: 16710187, PrincipalFen: 43520, InterestFen: 16666667, RemainingFen: 999956480},
			last:          Row{Period: 360, PaymentFen: 16706829, PrincipalFen: 16432947, InterestFen: 273882, RemainingFen: 0},
			totalInterest: 5015663962,
		},
		{
			// Interest-free: 50,000,000 / 120 = 416666.6… rounds up; the
			// last period takes what is left.
			name:          "annuity 0%",
			terms:         Terms{PrincipalFen: 50_000_000, Months: 120, AnnualRateBP: 0, Method: Annuity},
			first:         Row{Period: 1, PaymentFen: 416667, PrincipalFen: 416667, InterestFen: 0, RemainingFen: 49583333},
			last:          Row{Period: 120, PaymentFen: 416627, PrincipalFen: 416627, InterestFen: 0, RemainingFen: 0},
			totalInterest: 0,
		},
		{
			name:          "linear 0%",
			terms:         Terms{PrincipalFen: 50_000_000, Months: 120, AnnualRateBP: 0, Method: Linear},
			first:         Row{Period: 1, PaymentFen: 416666, PrincipalFen: 416666, InterestFen: 0, RemainingFen: 49583334},
			last:          Row{Period: 120, PaymentFen: 416746, PrincipalFen: 416746, InterestFen: 0, RemainingFen: 0},
			totalInterest: 0,
		},
		{
			// One month: both methods repay everything with one month's
			// interest, 31893.1… fen.
			name:          "annuity 1 month",
			terms:         Terms{PrincipalFen: 12_345_678, Months: 1, AnnualRateBP: 310, Method: Annuity},
			first:         Row{Period: 1, PaymentFen: 12377571, PrincipalFen: 12345678, InterestFen: 31893, RemainingFen: 0},
			last:          Row{Period: 1, PaymentFen: 12377571, PrincipalFen: 12345678, InterestFen: 31893, RemainingFen: 0},
			totalInterest: 31893,
		},
		{
			name:          "linear 1 month",
			terms:         Terms{PrincipalFen: 12_345_678, Months: 1, AnnualRateBP: 310, Method: Linear},
			first:         Row{Period: 1, PaymentFen: 12377571, PrincipalFen: 12345678, InterestFen: 31893, RemainingFen: 0},
			last:          Row{Period: 1, PaymentFen: 12377571, PrincipalFen: 12345678, InterestFen: 31893, RemainingFen: 0},
			totalInterest: 31893,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Schedule(tt.terms)
			if err != nil {
				t.Fatalf("Schedule(%+v): %v", tt.terms, err)
			}
			got := []any{plan.Rows[0], plan.Rows[len(plan.Rows)-1], plan.TotalInterestFen, plan.TotalPaymentFen}
			want := []any{tt.first, tt.last, tt.totalInterest, tt.terms.PrincipalFen + tt.totalInterest}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Schedule(%+v) first, last, interest, payment (-want +got):\n%s", tt.terms, diff)
			}
			checkPlan(t, tt.terms, plan)
		})
	}
}

func TestScheduleWholeSmallPlans(t *testing.T) {
	tests := []struct {
		name  string
		terms Terms
		want  []Row
	}{
		{
			// round(9/6) = 2 repays the loan in period 5: that payment is
			// cut to the 1 fen owed and period 6 is empty.
			name:  "payment rounded up repays early",
			terms: Terms{PrincipalFen: 9, Months: 6, AnnualRateBP: 0, Method: Annuity},
			want: []Row{
				{1, 2, 2, 0, 7}, {2, 2, 2, 0, 5}, {3, 2, 2, 0, 3},
				{4, 2, 2, 0, 1}, {5, 1, 1, 0, 0}, {6, 0, 0, 0, 0},
			},
		},
		{
			// The payment rounds to 0 fen; the last period repays the fen.
			name:  "one fen at 20%",
			terms: Terms{PrincipalFen: 1, Months: 3, AnnualRateBP: 2000, Method: Annuity},
			want:  []Row{{1, 0, 0, 0, 1}, {2, 0, 0, 0, 1}, {3, 1, 1, 0, 0}},
		},
		{
			name:  "annuity 1,000 yuan 12 months 3.25%",
			terms: Terms{PrincipalFen: 100_000, Months: 12, AnnualRateBP: 325, Method: Annuity},
			want: []Row{
				{1, 8481, 8210, 271, 91790}, {2, 8481, 8232, 249, 83558}, {3, 8481, 8255, 226, 75303},
				{4, 8481, 8277, 204, 67026}, {5, 8481, 8299, 182, 58727}, {6, 8481, 8322, 159, 50405},
				{7, 8481, 8344, 137, 42061}, {8, 8481, 8367, 114, 33694}, {9, 8481, 8390, 91, 25304},
				{10, 8481, 8412, 69, 16892}, {11, 8481, 8435, 46, 8457}, {12, 8480, 8457, 23, 0},
			},
		},
		{
			name:  "linear 1,000 yuan 12 months 3.25%",
			terms: Terms{PrincipalFen: 100_000, Months: 12, AnnualRateBP: 325, Method: Linear},
			want: []Row{
				{1, 8604, 8333, 271, 91667}, {2, 8581, 8333, 248, 83334}, {3, 8559, 8333, 226, 75001},
				{4, 8536, 8333, 203, 66668}, {5, 8514, 8333, 181, 58335}, {6, 8491, 8333, 158, 50002},
				{7, 8468, 8333, 135, 41669}, {8, 8446, 8333, 113, 33336}, {9, 8423, 8333, 90, 25003},
				{10, 8401, 8333, 68, 16670}, {11, 8378, 8333, 45, 8337}, {12, 8360, 8337, 23, 0},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Schedule(tt.terms)
			if err != nil {
				t.Fatalf("Schedule(%+v): %v", tt.terms, err)
			}
			if diff := cmp.Diff(tt.want, plan.Rows); diff != "" {
				t.Errorf("Schedule(%+v) rows (-want +got):\n%s", tt.terms, diff)
			}
			checkPlan(t, tt.terms, plan)
		})
	}
}

// floatAnnuity is the textbook formula in float64: good to far better than
// a fen within the calculator's limits, so it cross-checks the exact code.
func floatAnnuity(t Terms) float64 {
	p, n := float64(t.PrincipalFen), float64(t.Months)
	if t.AnnualRateBP == 0 {
		return p / n
	}
	r := float64(t.AnnualRateBP) / rateDenominator
	g := math.Pow(1+r, n)
	return p * r * g / (g - 1)
}

func TestAnnuityPaymentAgreesWithFloat(t *testing.T) {
	for _, terms := range []Terms{
		{PrincipalFen: 100_000_000, Months: 360, AnnualRateBP: 310},
		{PrincipalFen: 100_000_000, Months: 360, AnnualRateBP: 1},
		{PrincipalFen: 1_000_000_000, Months: 360, AnnualRateBP: 2000},
		{PrincipalFen: 1_000_000_000, Months: 1, AnnualRateBP: 1999},
		{PrincipalFen: 7, Months: 7, AnnualRateBP: 0},
		{PrincipalFen: 60_000_000, Months: 300, AnnualRateBP: 275},
	} {
		got := annuityPayment(terms.PrincipalFen, terms.Months, terms.AnnualRateBP)
		if want := floatAnnuity(terms); math.Abs(float64(got)-want) > 1 {
			t.Errorf("annuityPayment(%+v) = %d fen, float reference %.4f", terms, got, want)
		}
	}
}

func BenchmarkSchedule360(b *testing.B) {
	for _, method := range []Method{Annuity, Linear} {
		b.Run(string(method), func(b *testing.B) {
			terms := Terms{PrincipalFen: 100_000_000, Months: 360, AnnualRateBP: 310, Method: method}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Schedule(terms); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
