package services

import (
	"errors"
	"strings"
	"time"
)

// Why an identifier was refused. Each wraps either ErrIDFormatRule or
// ErrIDChecksumRule, so a caller needs only FieldCode to pick the field code
// and errors.Is for anything finer.
var (
	// ErrIDFormatRule is wrapped by every rule except the check character:
	// the input is not shaped like an identifier at all.
	ErrIDFormatRule = errors.New("identifier format")
	// ErrIDChecksumRule is wrapped when only the check character is wrong,
	// which is usually a typo and deserves its own message.
	ErrIDChecksumRule = errors.New("identifier check character")

	ErrIDLength    = &IDError{What: "id number", Rule: "length is not 18", base: ErrIDFormatRule}
	ErrIDFormat    = &IDError{What: "id number", Rule: "not 17 digits and a digit or X", base: ErrIDFormatRule}
	ErrIDRegion    = &IDError{What: "id number", Rule: "region code starts with 0", base: ErrIDFormatRule}
	ErrIDBirthDate = &IDError{What: "id number", Rule: "birth date invalid or in the future", base: ErrIDFormatRule}
	ErrIDChecksum  = &IDError{What: "id number", Rule: "check digit mismatch", base: ErrIDChecksumRule}

	ErrUnitLength   = &IDError{What: "unit code", Rule: "length is not 18", base: ErrIDFormatRule}
	ErrUnitFormat   = &IDError{What: "unit code", Rule: "character outside 0-9 and ABCDEFGHJKLMNPQRTUWXY", base: ErrIDFormatRule}
	ErrUnitChecksum = &IDError{What: "unit code", Rule: "check character mismatch", base: ErrIDChecksumRule}
)

// IDError names the identifier and the rule it broke. The values are the
// Err* sentinels above, compared with errors.Is; they never quote the input,
// so they are safe to log.
type IDError struct {
	What string // "id number" or "unit code"
	Rule string
	base error
}

func (e *IDError) Error() string { return e.What + ": " + e.Rule }

// Unwrap lets errors.Is(err, ErrIDChecksumRule) classify the error.
func (e *IDError) Unwrap() error { return e.base }

// FieldCode maps a validation error to the field code the client sees:
// FieldChecksum when only the check character is wrong, FieldFormat for any
// other rule, "" for nil.
func FieldCode(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrIDChecksumRule):
		return FieldChecksum
	default:
		return FieldFormat
	}
}

// idCheckChars maps the weighted sum mod 11 to the check character.
const idCheckChars = "10X98765432"

// IDCheckDigit computes the GB 11643 check character ('0'-'9' or 'X') of the
// first 17 characters of an ID number; false unless they are 17 digits.
func IDCheckDigit(first17 string) (byte, bool) {
	if len(first17) != 17 {
		return 0, false
	}
	// ISO 7064 MOD 11-2: position i (from 0) weighs 2^(17-i) mod 11, so
	// walk from the right doubling the weight: 2, 4, 8, 5, 10, ...
	sum, w := 0, 1
	for i := 16; i >= 0; i-- {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		w = w * 2 % 11
		sum += int(c-'0') * w
	}
	return idCheckChars[sum%11], true
}

// ValidateIDNumber checks a resident ID number (GB 11643): 18 characters,
// a region code not starting with 0, a real birth date from 1900 on and not
// after now (in Asia/Shanghai), and the MOD 11-2 check character. Only an
// upper-case X is accepted; callers normalise input with strings.ToUpper.
func ValidateIDNumber(s string, now time.Time) error {
	if len(s) != 18 {
		return ErrIDLength
	}
	check, ok := IDCheckDigit(s[:17])
	if !ok || !(s[17] >= '0' && s[17] <= '9' || s[17] == 'X') {
		return ErrIDFormat
	}
	if s[0] == '0' {
		return ErrIDRegion
	}
	birth, err := time.ParseInLocation("20060102", s[6:14], CentreTime)
	if err != nil || birth.Year() < 1900 {
		return ErrIDBirthDate
	}
	y, m, d := now.In(CentreTime).Date()
	if birth.After(time.Date(y, m, d, 0, 0, 0, 0, CentreTime)) {
		return ErrIDBirthDate
	}
	if s[17] != check {
		return ErrIDChecksum
	}
	return nil
}

// unitAlphabet is the GB 32100 character set: digits and the upper-case
// letters except I, O, Z, S, V. A character's value is its index.
const unitAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// UnitCheckChar computes the GB 32100 check character of the first 17
// characters of a unified social credit code; false unless all 17 are in
// the code's alphabet.
func UnitCheckChar(first17 string) (byte, bool) {
	if len(first17) != 17 {
		return 0, false
	}
	// Position i weighs 3^i mod 31: 1, 3, 9, 27, 19, 26, ...
	sum, w := 0, 1
	for i := range 17 {
		v := strings.IndexByte(unitAlphabet, first17[i])
		if v < 0 {
			return 0, false
		}
		sum += v * w
		w = w * 3 % 31
	}
	return unitAlphabet[(31-sum%31)%31], true
}

// ValidateUnitCode checks a unified social credit code (GB 32100): 18
// characters from the code's alphabet and the mod-31 check character.
func ValidateUnitCode(s string) error {
	if len(s) != 18 {
		return ErrUnitLength
	}
	check, ok := UnitCheckChar(s[:17])
	if !ok || strings.IndexByte(unitAlphabet, s[17]) < 0 {
		return ErrUnitFormat
	}
	if s[17] != check {
		return ErrUnitChecksum
	}
	return nil
}

// Crockford is Crockford's base32 alphabet: digits and capitals without
// I, L, O and U, so that a code read aloud or typed from paper survives
// the usual confusions (verify codes, case numbers).
const Crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
