package core

import (
	"net/http"

	"handheld/services"
)

// unitRefusals maps the unit endpoints' refusal codes (409 or 422) to
// handheld's codes. invalid_id_number is a field error, like the BFF's own
// check of the same rule.
func unitRefusals() map[string]services.Code {
	return map[string]services.Code{
		ErrNameMismatch:      services.CodeStaffNameMismatch,
		ErrAlreadyEmployed:   services.CodeStaffAlreadyEmployed,
		ErrEmployedElsewhere: services.CodeStaffEmployedElsewhere,
		ErrAlreadySealed:     services.CodeStaffAlreadySealed,
		ErrNotSealed:         services.CodeStaffNotSealed,
		ErrNotActive:         services.CodeStaffNotActive,
		ErrBaseOutOfRange:    services.CodeBaseOutOfRange,
		ErrRateOutOfRange:    services.CodeRateOutOfRange,
		ErrOutsideWindow:     services.CodeOutsideWindow,
		ErrBillChanged:       services.CodeBillChanged,
		ErrAlreadyDeclared:   services.CodeBillDeclared,
		ErrOverdue:           services.CodeMonthOverdue,
		ErrNotOverdue:        services.CodeMonthNotOverdue,
		ErrMonthNotOpen:      services.CodeMonthNotOpen,
		ErrOperatorExists:    services.CodeOperatorExists,
		ErrLastAdmin:         services.CodeOperatorLastAdmin,
	}
}

// unitRefusal translates a unit endpoint's refusal; ok is false for any
// other answer, which statusError then handles as before.
func unitRefusal(status int, code string, cause error) (*services.Error, bool) {
	if status != http.StatusConflict && status != http.StatusUnprocessableEntity {
		return nil, false
	}
	if code == ErrInvalidIDNumber {
		e := services.Invalid(services.FieldError{Field: "id_number", Code: services.FieldChecksum})
		e.Cause = cause
		return e, true
	}
	c, ok := unitRefusals()[code]
	if !ok {
		return nil, false
	}
	return &services.Error{Code: c, Cause: cause}, true
}
