package certpdf

import (
	"fmt"
	"strings"
	"time"

	"handheld/services/certificate"
)

// kind is what a Document field holds, and so how it can be formatted.
type kind int

const (
	kindText   kind = iota // shown as is; "status" and "date" (YYYY-MM-DD) formats apply
	kindTime               // a time.Time shown as a date
	kindFen                // int64 fen shown as yuan
	kindBool               // shown as the layout's yes / no
	kindCount              // an integer
	kindMonths             // YYYY-MM months shown in month_format, joined
)

// fieldKinds names the Document fields a layout can show, as a row's field
// or a {placeholder}. The table is read-only.
var fieldKinds = map[string]kind{
	"number": kindText, "purpose": kindText, "centre": kindText,
	"holder_name": kindText, "id_number": kindText, "account_no": kindText,
	"status": kindText, "unit_name": kindText, "opened_on": kindText,
	"base": kindFen, "personal": kindFen, "unit": kindFen, "monthly": kindFen, "balance": kindFen,
	"continuous": kindCount, "months_shown": kindCount, "gaps": kindMonths,
	"loan.has_loan": kindBool, "loan.principal": kindFen, "loan.outstanding": kindFen,
	"loan.settled": kindBool, "loan.repaid": kindFen,
	"issued_on": kindTime, "valid_until": kindTime,
	"verify_url": kindText, "verify_code": kindText,
}

// formatsByKind lists the formats each kind accepts; "" is the default.
var formatsByKind = map[kind][]string{
	kindText:   {"", "text", "status", "date"},
	kindTime:   {"", "date"},
	kindFen:    {"", "money"},
	kindBool:   {"", "yesno"},
	kindCount:  {"", "count"},
	kindMonths: {"", "months"},
}

// checkFormat reports a field a layout names that does not exist, or a
// format that does not fit it.
func checkFormat(field, format string) error {
	k, ok := fieldKinds[field]
	if !ok {
		return fmt.Errorf("unknown field %q", field)
	}
	for _, f := range formatsByKind[k] {
		if f == format {
			return nil
		}
	}
	return fmt.Errorf("field %q cannot take format %q", field, format)
}

// raw is the field's value: string, time.Time, int64, bool, int or []string.
func raw(d *certificate.Document, field string) any {
	switch field {
	case "number":
		return d.Number
	case "purpose":
		return d.Purpose
	case "centre":
		return d.CentreName
	case "holder_name":
		return d.HolderName
	case "id_number":
		return d.IDNumber
	case "account_no":
		return d.AccountNo
	case "status":
		return d.StatusCode
	case "unit_name":
		return d.UnitName
	case "opened_on":
		return d.OpenedOn
	case "base":
		return d.BaseFen
	case "personal":
		return d.PersonalFen
	case "unit":
		return d.UnitFen
	case "monthly":
		return d.PersonalFen + d.UnitFen
	case "balance":
		return d.BalanceFen
	case "continuous":
		return d.Continuous
	case "months_shown":
		return len(d.Months)
	case "gaps":
		return d.Gaps
	case "loan.has_loan":
		return d.Loan.HasLoan
	case "loan.principal":
		return d.Loan.PrincipalFen
	case "loan.outstanding":
		return d.Loan.OutstandingFen
	case "loan.repaid":
		return d.Loan.PrincipalFen - d.Loan.OutstandingFen
	case "loan.settled":
		return d.Loan.Settled
	case "issued_on":
		return d.IssuedAt
	case "valid_until":
		return d.ExpiresAt
	case "verify_url":
		return d.VerifyURL
	case "verify_code":
		return d.VerifyCode
	}
	return nil
}

// truthy decides a section's or row's If: false, zero and empty are out.
func truthy(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v) != ""
	case bool:
		return v
	case int64:
		return v != 0
	case int:
		return v != 0
	case []string:
		return len(v) > 0
	case time.Time:
		return !v.IsZero()
	}
	return false
}

// reformat parses value with the layout from and writes it with to; a value
// that does not parse is shown as it came, rather than hidden.
func reformat(value, from, to string) string {
	t, err := time.Parse(from, value)
	if err != nil {
		return value
	}
	return t.Format(to)
}
