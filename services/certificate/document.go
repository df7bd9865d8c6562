// Package certificate issues the personal deposit-and-use certificate
// (个人住房公积金缴存使用证明): a stateful, signed and verifiable document.
package certificate

import "time"

// TypeDepositUse is the only certificate type so far.
const TypeDepositUse = "deposit_use"

// Document is everything a rendered certificate shows. It is the holder's
// own document, so name and ID number are in full here; verify pages never
// show them.
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
