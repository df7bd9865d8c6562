package identity

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"handheld/services"
)

// PasswordPolicy is what an operator's chosen password must meet (house
// rule 13: data, not code). The core keeps only the hash; handheld checks
// the policy before the password leaves it.
type PasswordPolicy struct {
	MinLength  int // characters; 10
	MaxLength  int // characters; 128, what the core accepts
	MinClasses int // of lower case, upper case, digits and symbols; 3
}

// DefaultPasswordPolicy is the policy a centre starts from.
func DefaultPasswordPolicy() PasswordPolicy {
	return PasswordPolicy{MinLength: 10, MaxLength: 128, MinClasses: 3}
}

// Check answers the field errors of newPassword under the policy: too
// short or long, too few character classes, containing the operator id
// (in any case), or the current password again. Every failing rule is
// listed, so the app can show them all at once.
func (p PasswordPolicy) Check(field, newPassword, operatorID, current string) []services.FieldError {
	var out []services.FieldError
	n := utf8.RuneCountInString(newPassword)
	switch {
	case newPassword == "":
		return []services.FieldError{{Field: field, Code: services.FieldRequired}}
	case n > p.MaxLength:
		return []services.FieldError{{Field: field, Code: services.FieldTooLong, Params: map[string]any{"max": p.MaxLength}}}
	case n < p.MinLength:
		out = append(out, services.FieldError{Field: field, Code: services.FieldTooShort, Params: map[string]any{"min": p.MinLength}})
	}
	if classes(newPassword) < p.MinClasses {
		out = append(out, services.FieldError{Field: field, Code: services.FieldTooFewClasses, Params: map[string]any{"min": p.MinClasses}})
	}
	if operatorID != "" && strings.Contains(strings.ToLower(newPassword), strings.ToLower(operatorID)) {
		out = append(out, services.FieldError{Field: field, Code: services.FieldContainsID})
	}
	if newPassword == current {
		out = append(out, services.FieldError{Field: field, Code: services.FieldReused})
	}
	return out
}

// classes counts the character classes in s: lower case, upper case,
// digits, and anything else (symbols, CJK).
func classes(s string) int {
	var lower, upper, digit, other bool
	for _, r := range s {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	n := 0
	for _, b := range []bool{lower, upper, digit, other} {
		if b {
			n++
		}
	}
	return n
}
