package loan

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
)

func TestValidate(t *testing.T) {
	valid := Terms{PrincipalFen: 100_000_000, Months: 360, AnnualRateBP: 310, Method: Annuity}
	principal := services.FieldError{
		Field: "principal_fen", Code: services.FieldOutOfRange,
		Params: map[string]any{"min": int64(1), "max": int64(1_000_000_000)},
	}
	months := services.FieldError{
		Field: "months", Code: services.FieldOutOfRange,
		Params: map[string]any{"min": 1, "max": 360},
	}
	rate := services.FieldError{
		Field: "annual_rate_bp", Code: services.FieldOutOfRange,
		Params: map[string]any{"min": 0, "max": 2000},
	}
	allowed := map[string]any{"allowed": []string{"annuity", "linear"}}
	methodOneOf := services.FieldError{Field: "method", Code: services.FieldOneOf, Params: allowed}
	methodRequired := services.FieldError{Field: "method", Code: services.FieldRequired, Params: allowed}

	tests := []struct {
		name   string
		change func(*Terms)
		want   []services.FieldError // nil: valid
	}{
		{"valid annuity", func(*Terms) {}, nil},
		{"valid linear", func(t *Terms) { t.Method = Linear }, nil},
		{"smallest", func(t *Terms) { t.PrincipalFen, t.Months, t.AnnualRateBP = 1, 1, 0 }, nil},
		{"largest", func(t *Terms) { t.PrincipalFen, t.Months, t.AnnualRateBP = 1_000_000_000, 360, 2000 }, nil},
		{"principal zero", func(t *Terms) { t.PrincipalFen = 0 }, []services.FieldError{principal}},
		{"principal negative", func(t *Terms) { t.PrincipalFen = -5 }, []services.FieldError{principal}},
		{"principal too large", func(t *Terms) { t.PrincipalFen = 1_000_000_001 }, []services.FieldError{principal}},
		{"months zero", func(t *Terms) { t.Months = 0 }, []services.FieldError{months}},
		{"months too many", func(t *Terms) { t.Months = 361 }, []services.FieldError{months}},
		{"rate negative", func(t *Terms) { t.AnnualRateBP = -1 }, []services.FieldError{rate}},
		{"rate too high", func(t *Terms) { t.AnnualRateBP = 2001 }, []services.FieldError{rate}},
		{"method missing", func(t *Terms) { t.Method = "" }, []services.FieldError{methodRequired}},
		{"method unknown", func(t *Terms) { t.Method = "balloon" }, []services.FieldError{methodOneOf}},
		{"method wrong case", func(t *Terms) { t.Method = "Annuity" }, []services.FieldError{methodOneOf}},
		{
			"all at once, in parameter order",
			func(t *Terms) { *t = Terms{PrincipalFen: 0, Months: 999, AnnualRateBP: 5000, Method: "x"} },
			[]services.FieldError{principal, months, rate, methodOneOf},
		},
		{
			"two of four",
			func(t *Terms) { t.Months, t.Method = -1, "" },
			[]services.FieldError{months, methodRequired},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			terms := valid
			tt.change(&terms)
			err := terms.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want nil", terms, err)
				}
				return
			}
			got, ok := err.(*services.Error)
			if !ok {
				t.Fatalf("Validate(%+v) = %T %v, want *services.Error", terms, err, err)
			}
			want := services.Invalid(tt.want...)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Validate(%+v) mismatch (-want +got):\n%s", terms, diff)
			}
		})
	}
}

func TestScheduleRejectsInvalidTerms(t *testing.T) {
	plan, err := Schedule(Terms{PrincipalFen: 100, Months: 0, AnnualRateBP: 310, Method: Linear})
	if got := services.ErrorCode(err); got != services.CodeInvalid {
		t.Fatalf("Schedule error code = %q (%v), want %q", got, err, services.CodeInvalid)
	}
	if diff := cmp.Diff(Plan{}, plan); diff != "" {
		t.Errorf("Schedule returned a plan with an error (-want +got):\n%s", diff)
	}
}
