// Package certificate issues the personal deposit-and-use certificate
// (个人住房公积金缴存使用证明) and the unit deposit certificate
// (单位住房公积金缴存证明): stateful, signed and verifiable documents, made
// by one pipeline (facts from the core, a Document, the PDF, its signature,
// the stored record, downloads, verification and revocation) whoever the
// holder is.
package certificate

import "time"

// The certificate types: a person's, issued to the depositor, and a unit's,
// issued to one of the employer's operators for the unit. A person's
// certificate for a loan elsewhere (异地贷款职工住房公积金缴存使用证明) is
// addressed to one lending centre on the national platform.
const (
	TypeDepositUse    = "deposit_use"
	TypeUnitDeposit   = "unit_deposit"
	TypeLoanElsewhere = "loan_elsewhere"
	// TypeLoanSettled is the settled-loan certificate (贷款结清证明): the
	// holder's HPF loan with this centre is repaid in full. Only a
	// settled loan gets one (loan.not_settled otherwise).
	TypeLoanSettled = "loan_settled"
)

// Document is everything a rendered certificate shows. It is the holder's
// own document, so name and ID number (or the unit's code) are in full
// here; verify pages never show them. A person's certificate fills the
// person's fields and leaves Unit nil; a unit's fills the common fields
// (type, number, purpose, centre, dates, verification) and Unit.
type Document struct {
	Type        string
	Number      string // certificate number, e.g. 330100-2026-000123
	Purpose     string // optional, what the holder needs it for
	CentreName  string
	HolderName  string
	IDNumber    string
	AccountNo   string
	StatusCode  string // core account status, e.g. "01"
	UnitName    string
	OpenedOn    string // YYYY-MM-DD
	BaseFen     int64  // deposit base
	PersonalFen int64  // monthly personal deposit
	UnitFen     int64  // monthly unit deposit
	BalanceFen  int64
	Months      []MonthRow // the last 12 or more months, newest first
	Continuous  int        // months deposited without a gap up to the last
	Gaps        []string   // months without a remittance within Months (YYYY-MM)
	Loan        LoanUse
	IssuedAt    time.Time
	ExpiresAt   time.Time
	VerifyURL   string // the QR code's target: <public base>/verify/<code>
	VerifyCode  string
	Signature   string // the JWS over the claims, embedded in the PDF metadata
	// ToCentre and ToCentreName are the lending centre a loan_elsewhere
	// certificate is addressed to (platform code and name); empty on
	// every other type (and then absent from the stored JSON).
	ToCentre     string `json:",omitempty"`
	ToCentreName string `json:",omitempty"`
	// Unit is what a unit deposit certificate states; nil on a person's
	// (and then absent from the stored JSON, which stays as it was).
	Unit *UnitFacts `json:",omitempty"`
}

// UnitFacts are what a unit deposit certificate states about the unit, as
// the core had them when it was issued. A unit in arrears gets its
// certificate all the same, stating the arrears: that is what a bank or a
// tender asks the certificate for.
type UnitFacts struct {
	Name      string
	Code      string // unified social credit code
	AccountNo string // the unit's HPF account
	Status    string // core unit status, e.g. "01"
	// OpenedMonth is when the unit account was opened (YYYY-MM); the core
	// keeps the month, not the day.
	OpenedMonth    string
	StaffCount     int // every account the unit holds
	ActiveCount    int // the staff deposited for (normal and frozen)
	UnitRateBP     int
	PersonalRateBP int
	MonthlyFen     int64  // the current month's remittance, both sides
	PaidUpTo       string // YYYY-MM: every month up to it is paid
	ArrearsMonths  int    // complete months not paid
	ArrearsFen     int64  // what they owe, without interest
	// PeriodFrom and PeriodTo (YYYY-MM) bound the months listed; both
	// empty when the unit has no complete month yet.
	PeriodFrom, PeriodTo string
	Months               []UnitMonthRow // newest first
}

// InArrears reports whether the unit owes any complete month.
func (u UnitFacts) InArrears() bool { return u.ArrearsMonths > 0 }

// UnitMonthRow is one complete month of the unit's remittances.
type UnitMonthRow struct {
	Month     string // YYYY-MM
	Status    string // paid | overdue | failed | pending | collecting (core.Bill*)
	Headcount int
	AmountFen int64 // the month's bill: paid, or owed
}

// MonthRow is one month's remittance.
type MonthRow struct {
	Month     string // YYYY-MM
	AmountFen int64  // 0 for a gap
}

// LoanUse is the HPF loan part of the certificate.
type LoanUse struct {
	HasLoan        bool
	PrincipalFen   int64
	OutstandingFen int64
	Settled        bool
}
