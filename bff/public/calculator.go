// Package public serves what needs no login: the loan calculator, and the
// certificate verify pages and PDFs reached from a certificate's QR code.
package public

import (
	"math"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/request"
	"handheld/services"
	"handheld/services/loan"
)

// Calculator answers GET /api/v1/loan/calculator.
type Calculator struct {
	// DefaultRateBP is the centre's current first-home rate, used when the
	// client sends no annual_rate_bp.
	DefaultRateBP int
}

// Get computes a repayment plan from query parameters.
func (h Calculator) Get(c *fiber.Ctx) error {
	q := request.NewQuery(c)
	terms := loan.Terms{
		PrincipalFen: q.Int64("principal_fen", 0, math.MinInt64, math.MaxInt64, true),
		Months:       int(q.Int64("months", 0, math.MinInt32, math.MaxInt32, true)),
		AnnualRateBP: int(q.Int64("annual_rate_bp", int64(h.DefaultRateBP), math.MinInt32, math.MaxInt32, false)),
		Method:       loan.Method(c.Query("method", string(loan.Annuity))),
	}
	parseErr := q.Err()
	if err := terms.Validate(); err != nil || parseErr != nil {
		return mergeFieldErrors(parseErr, err)
	}
	plan, err := loan.Schedule(terms)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.JSON(plan)
}

// mergeFieldErrors reports a parse error for a field once, and range or
// choice errors for the fields that did parse.
func mergeFieldErrors(parse, validate error) error {
	out := &services.Error{Code: services.CodeInvalid}
	seen := map[string]bool{}
	for _, err := range []error{parse, validate} {
		if err == nil {
			continue
		}
		e := services.AsError(err)
		if e.Code != services.CodeInvalid {
			return err
		}
		for _, f := range e.Fields {
			if !seen[f.Field] {
				seen[f.Field] = true
				out.Fields = append(out.Fields, f)
			}
		}
	}
	return out
}
