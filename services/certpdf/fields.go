package certpdf

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"handheld/services/certificate"
)

// kind is what a Document field holds, and so how it can be formatted.
type kind int

const (
	kindText   kind = iota // shown as is; "status", "unit_status" and "date" (YYYY-MM-DD) formats apply
	kindTime               // a time.Time shown as a date
	kindFen                // int64 fen shown as yuan
	kindBool               // shown as the layout's yes / no
	kindCount              // an integer; "percent" reads it as basis points
	kindMonths             // YYYY-MM months shown in month_format, joined
	kindMonth              // one YYYY-MM month shown in month_format ("none" when empty)
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
	// A loan_elsewhere certificate's lending centre ("" on the others).
	"to_centre": kindText, "to_centre_name": kindText,
	// A unit deposit certificate's (Document.Unit; zero values on a
	// person's).
	"unit.name": kindText, "unit.code": kindText, "unit.account_no": kindText, "unit.status": kindText,
	"unit.opened": kindMonth, "unit.staff": kindCount, "unit.staff_total": kindCount,
	"unit.unit_rate": kindCount, "unit.personal_rate": kindCount, "unit.monthly": kindFen,
	"unit.paid_up_to": kindMonth, "unit.in_arrears": kindBool, "unit.arrears_months": kindCount, "unit.arrears": kindFen,
	"unit.period_from": kindMonth, "unit.period_to": kindMonth, "unit.months_shown": kindCount,
}

// formatsByKind lists the formats each kind accepts; "" is the default.
var formatsByKind = map[kind][]string{
	kindText:   {"", "text", "status", "unit_status", "date"},
	kindMonth:  {"", "month"},
	kindTime:   {"", "date"},
	kindFen:    {"", "money"},
	kindBool:   {"", "yesno"},
	kindCount:  {"", "count", "percent"},
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
	case "to_centre":
		return d.ToCentre
	case "to_centre_name":
		return d.ToCentreName
	}
	if strings.HasPrefix(field, "unit.") {
		return unitRaw(d.Unit, field)
	}
	return nil
}

// unitRaw is a unit field's value; a person's document (u nil) has the
// zero value of the field's kind, so a layout shared by both stays valid.
func unitRaw(u *certificate.UnitFacts, field string) any {
	if u == nil {
		u = &certificate.UnitFacts{}
	}
	switch field {
	case "unit.name":
		return u.Name
	case "unit.code":
		return u.Code
	case "unit.account_no":
		return u.AccountNo
	case "unit.status":
		return u.Status
	case "unit.opened":
		return u.OpenedMonth
	case "unit.staff":
		return u.ActiveCount
	case "unit.staff_total":
		return u.StaffCount
	case "unit.unit_rate":
		return u.UnitRateBP
	case "unit.personal_rate":
		return u.PersonalRateBP
	case "unit.monthly":
		return u.MonthlyFen
	case "unit.paid_up_to":
		return u.PaidUpTo
	case "unit.in_arrears":
		return u.InArrears()
	case "unit.arrears_months":
		return u.ArrearsMonths
	case "unit.arrears":
		return u.ArrearsFen
	case "unit.period_from":
		return u.PeriodFrom
	case "unit.period_to":
		return u.PeriodTo
	case "unit.months_shown":
		return len(u.Months)
	}
	return nil
}

// percent writes basis points as a percentage: 500 → 5%, 1250 → 12.5%.
func percent(bp int) string {
	s := strconv.Itoa(bp / 100)
	if frac := bp % 100; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", frac), "0")
	}
	return s + "%"
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
