// Package core is the contract between handheld and a centre's core business
// systems: the types exchanged, the HTTP paths (see openapi.yaml beside this
// file), request signing, and the HTTP client. A centre implements the
// contract in front of its core; services/coresim implements it for demos,
// tests and load runs.
package core

import "time"

// Paths of the core API. Path parameters are in braces. All bodies are JSON.
const (
	PathPersonVerify     = "/core/v1/persons/verify"                    // POST RealNameCheck → Person
	PathFaceVerify       = "/core/v1/face/verify"                       // POST FaceCheck → FaceResult
	PathPerson           = "/core/v1/persons/{person_id}"               // GET → Person
	PathAccount          = "/core/v1/persons/{person_id}/account"       // GET → Account
	PathDeposits         = "/core/v1/persons/{person_id}/deposits"      // GET ?from=&to=&limit=&cursor= → DepositPage
	PathLoan             = "/core/v1/persons/{person_id}/loan"          // GET → Loan
	PathLoanSchedule     = "/core/v1/persons/{person_id}/loan/schedule" // GET ?limit=&cursor= → SchedulePage
	PathCertificateFacts = "/core/v1/persons/{person_id}/certificate-facts"
	PathOperatorAuth     = "/core/v1/units/operators/auth"         // POST OperatorLogin → Operator
	PathUnit             = "/core/v1/units/{unit_code}"            // GET → Unit
	PathStaff            = "/core/v1/units/{unit_code}/staff"      // GET ?limit=&cursor= → StaffPage
	PathWithdrawal       = "/core/v1/withdrawals/{application_id}" // PUT Withdrawal (idempotent) / GET → WithdrawalStatus
	// PathWithdrawalCancel withdraws an application the core has not decided
	// yet: POST (no body) → WithdrawalStatus "cancelled"; idempotent; 409
	// conflict once it is approved, rejected or paid; 404 when never received.
	PathWithdrawalCancel = "/core/v1/withdrawals/{application_id}/cancel"
	// PathWithdrawalMaterial takes one uploaded document of an application
	// before the application itself (PUT, the raw bytes, Content-Type
	// application/pdf, image/jpeg or image/png; idempotent by material id:
	// the same bytes again are 200, other bytes 409 conflict).
	PathWithdrawalMaterial = "/core/v1/withdrawals/{application_id}/materials/{material_id}"
	// PathPayoutAccounts lists the bank cards and e-CNY wallets the core
	// holds under the person's name: GET → PayoutAccountList. Money is
	// paid only to one of them.
	PathPayoutAccounts = "/core/v1/persons/{person_id}/payout-accounts"
	// PathEvidenceCheck confirms that references name the person's own
	// records (deeds, diagnoses, ...): POST EvidenceCheck → EvidenceResult.
	PathEvidenceCheck = "/core/v1/persons/{person_id}/evidence/check"
	// PathTransferIn credits the person's account with the funds of a
	// transfer in from another centre (转移接续): PUT TransferIn →
	// TransferInStatus; idempotent by transfer id (201 the first time, 200
	// for the same content, 409 conflict for other content).
	PathTransferIn = "/core/v1/transfers-in/{transfer_id}"
)

// Error codes the core answers with, in ErrorBody.Code.
const (
	ErrNotFound       = "not_found"       // 404: no such person, unit, application
	ErrNoAccount      = "no_account"      // 404: the person exists but has no HPF account
	ErrBadRequest     = "bad_request"     // 400
	ErrBadSignature   = "bad_signature"   // 401: signature, timestamp window or key id wrong
	ErrReplayed       = "replayed"        // 401: nonce already seen
	ErrConflict       = "conflict"        // 409: same application id, different content
	ErrBadCredentials = "bad_credentials" // 401 on operator auth
	ErrMaintenance    = "maintenance"     // 503 with Retry-After: nightly batch window
	ErrUnavailable    = "unavailable"     // 5xx: anything else
)

// ErrorBody is the JSON body of every non-2xx core answer.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Account statuses (JGJ/T 320 codes, see docs/glossary.md).
const (
	StatusNormal           = "01"
	StatusSealed           = "02"
	StatusClosedMerge      = "03"
	StatusClosedTransfer   = "04"
	StatusClosedWithdrawal = "05"
	StatusFrozen           = "06"
	StatusOther            = "99"
)

// RealNameCheck asks whether a name and ID number belong to one person.
type RealNameCheck struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
}

// Person is the core's record of a natural person. PersonID is the core's
// customer number; it is not personal data by itself but is never shown.
type Person struct {
	PersonID   string `json:"person_id"`
	Name       string `json:"name"`
	IDNumber   string `json:"id_number"`
	Phone      string `json:"phone"`
	BankCard   string `json:"bank_card"`
	HasAccount bool   `json:"has_account"`
}

// FaceCheck asks whether a face-verification result (a token issued by the
// centre's liveness service to a kiosk) belongs to the named person.
type FaceCheck struct {
	Name      string `json:"name"`
	IDNumber  string `json:"id_number"`
	FaceToken string `json:"face_token"`
}

// FaceResult is the answer to a FaceCheck.
type FaceResult struct {
	Match    bool   `json:"match"`
	PersonID string `json:"person_id,omitempty"`
}

// Account is a personal HPF account.
type Account struct {
	AccountNumber    string `json:"account_number"`
	Status           string `json:"status"`
	BalanceFen       int64  `json:"balance_fen"`
	DepositBaseFen   int64  `json:"deposit_base_fen"`
	PersonalRateBP   int    `json:"personal_rate_bp"` // basis points: 1200 = 12%
	UnitRateBP       int    `json:"unit_rate_bp"`
	MonthlyPersonal  int64  `json:"monthly_personal_fen"`
	MonthlyUnit      int64  `json:"monthly_unit_fen"`
	UnitCode         string `json:"unit_code"`
	UnitName         string `json:"unit_name"`
	OpenedOn         string `json:"opened_on"`          // YYYY-MM-DD
	LastDepositMonth string `json:"last_deposit_month"` // YYYY-MM, empty if none
	CarryOverFen     int64  `json:"carry_over_fen"`     // balance at the start of the year
	CurrentYearFen   int64  `json:"current_year_fen"`   // deposits this year
	ContinuousMonths int    `json:"continuous_months"`  // months deposited without a gap up to the last
}

// Deposit entry kinds.
const (
	KindRemittance  = "remittance"
	KindBackPayment = "back_payment"
	KindInterest    = "interest"
	KindWithdrawal  = "withdrawal"
	KindTransfer    = "transfer"
)

// Deposit is one entry in the deposit history; AmountFen is negative for
// money leaving the account.
type Deposit struct {
	ID              string `json:"id"`
	Month           string `json:"month"`     // YYYY-MM the entry belongs to
	PostedOn        string `json:"posted_on"` // YYYY-MM-DD
	Kind            string `json:"kind"`
	AmountFen       int64  `json:"amount_fen"`
	BalanceAfterFen int64  `json:"balance_after_fen"`
	// WithdrawalKind is the reason code (GLOSSARY, e.g. "07" rent) of a
	// withdrawal entry, empty for other kinds: eligibility rules such as
	// "one rent withdrawal per quarter" need it.
	WithdrawalKind string `json:"withdrawal_kind,omitempty"`
	// ApplicationID names the application a withdrawal entry paid, empty
	// for other entries and for withdrawals made elsewhere: it tells the
	// applicant's side which of its applications the ledger shows, so an
	// amount is reserved until then and never counted twice.
	ApplicationID string `json:"application_id,omitempty"`
}

// DepositPage is one page of deposits, newest first.
type DepositPage struct {
	Items      []Deposit `json:"items"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// Loan is an HPF loan summary. HasLoan false means the other fields are zero.
type Loan struct {
	HasLoan        bool   `json:"has_loan"`
	LoanNumber     string `json:"loan_number,omitempty"`
	PrincipalFen   int64  `json:"principal_fen,omitempty"`
	OutstandingFen int64  `json:"outstanding_fen,omitempty"`
	AnnualRateBP   int    `json:"annual_rate_bp,omitempty"`
	Months         int    `json:"months,omitempty"`
	Method         string `json:"method,omitempty"` // annuity | linear
	StartedOn      string `json:"started_on,omitempty"`
	NextDueOn      string `json:"next_due_on,omitempty"`
	NextPaymentFen int64  `json:"next_payment_fen,omitempty"`
	OverduePeriods int    `json:"overdue_periods,omitempty"`
	Settled        bool   `json:"settled,omitempty"`
	// ArrearsFen are the overdue instalments and PenaltyFen their penalty
	// interest to date (the loan policy's daily rate), 0 when none.
	ArrearsFen int64 `json:"arrears_fen,omitempty"`
	PenaltyFen int64 `json:"penalty_fen,omitempty"`
}

// Instalment is one row of a repayment schedule.
type Instalment struct {
	Period       int    `json:"period"`
	DueOn        string `json:"due_on"`
	PaymentFen   int64  `json:"payment_fen"`
	PrincipalFen int64  `json:"principal_fen"`
	InterestFen  int64  `json:"interest_fen"`
	RemainingFen int64  `json:"remaining_fen"`
	Status       string `json:"status"` // paid | due | overdue
}

// SchedulePage is one page of a repayment schedule.
type SchedulePage struct {
	Items      []Instalment `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// CertificateFacts are what a deposit-and-use certificate states.
type CertificateFacts struct {
	Person   Person    `json:"person"`
	Account  Account   `json:"account"`
	Deposits []Deposit `json:"deposits"` // the last 24 months of remittances, newest first
	Loan     Loan      `json:"loan"`
	AsOf     time.Time `json:"as_of"`
}

// OperatorLogin is an employer operator's credentials.
type OperatorLogin struct {
	UnitCode   string `json:"unit_code"`
	OperatorID string `json:"operator_id"`
	Password   string `json:"password"`
}

// Operator is an authenticated employer operator: their role (admin or
// clerk) and whether the password they signed in with is a temporary one
// to be changed before anything else.
type Operator struct {
	UnitCode           string `json:"unit_code"`
	OperatorID         string `json:"operator_id"`
	Name               string `json:"name"`
	Role               string `json:"role"`
	MustChangePassword bool   `json:"must_change_password"`
}

// Unit is an employer (缴存单位).
type Unit struct {
	UnitCode       string `json:"unit_code"`
	Name           string `json:"name"`
	AccountNumber  string `json:"account_number"`
	Status         string `json:"status"`
	StaffCount     int    `json:"staff_count"`
	UnitRateBP     int    `json:"unit_rate_bp"`
	PersonalRateBP int    `json:"personal_rate_bp"`
	PaidUpTo       string `json:"paid_up_to"` // YYYY-MM of the last remittance
}

// StaffMember is one of a unit's depositors: the account's status (normal,
// sealed, frozen, ...), base, rates and monthly amounts (ShareOf).
type StaffMember struct {
	PersonID           string `json:"person_id"`
	Name               string `json:"name"`
	IDNumber           string `json:"id_number"`
	AccountNumber      string `json:"account_number"`
	Status             string `json:"status"`
	DepositBaseFen     int64  `json:"deposit_base_fen"`
	PersonalRateBP     int    `json:"personal_rate_bp"`
	UnitRateBP         int    `json:"unit_rate_bp"`
	MonthlyPersonalFen int64  `json:"monthly_personal_fen"`
	MonthlyUnitFen     int64  `json:"monthly_unit_fen"`
	OpenedOn           string `json:"opened_on"`              // YYYY-MM-DD
	SealedMonth        string `json:"sealed_month,omitempty"` // sealed: the last month remitted
	SealReason         string `json:"seal_reason,omitempty"`  // sealed: one of the Leave* values
}

// StaffPage is one page of staff; Total counts every match of the query.
type StaffPage struct {
	Items      []StaffMember `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
	Total      int           `json:"total"`
}

// Withdrawal statuses at the core.
const (
	WithdrawalSubmitted = "submitted"
	WithdrawalApproved  = "approved"
	WithdrawalRejected  = "rejected"
	WithdrawalPaid      = "paid"
	WithdrawalCancelled = "cancelled"
)

// Withdrawal is an application as sent to the core. ApplicationID is the
// idempotency key: sending the same application again returns its status.
type Withdrawal struct {
	ApplicationID string `json:"application_id"`
	PersonID      string `json:"person_id"`
	Kind          string `json:"kind"` // GLOSSARY reason code, e.g. "07" rent
	AmountFen     int64  `json:"amount_fen"`
	PayoutMethod  string `json:"payout_method"`  // bank_card | ecny
	PayoutAccount string `json:"payout_account"` // the card or wallet number
	// PayoutAccountID is the PayoutAccount.ID the person chose; the core
	// refuses an application whose account is not held by the applicant
	// (status rejected, reason payout_account_unknown).
	PayoutAccountID string `json:"payout_account_id"`
	// EvidenceRefs name the documents the core confirms for kinds that
	// need them (a property registration for a purchase, a diagnosis for
	// a critical illness).
	EvidenceRefs []string `json:"evidence_refs,omitempty"`
	// SharedEvidence are facts the government data-sharing exchange gave
	// with the person's consent: the core checks them by their reference
	// with the exchange, never receiving the document.
	SharedEvidence []SharedEvidence `json:"shared_evidence,omitempty"`
	// Materials are the documents the person uploaded, each sent before
	// the application to PathWithdrawalMaterial; the core's review finds
	// them by id and checks their digest.
	Materials []MaterialRef `json:"materials,omitempty"`
	// CloseAccount asks the core to close the account when it pays: the
	// amount is then the whole balance (retirement, leaving the city,
	// closing).
	CloseAccount bool `json:"close_account,omitempty"`
}

// SharedEvidence is one fact of the data-sharing exchange an application
// rests on: what it is evidence of (an Evidence* category or another
// evidence name of the centre's policy), the source and fact asked
// ("real_estate", "deed"), the exchange's reference for the answer, and
// the consent it was asked under.
type SharedEvidence struct {
	Evidence   string `json:"evidence"`
	Source     string `json:"source"`
	Fact       string `json:"fact"`
	Reference  string `json:"reference"`
	ConsentRef string `json:"consent_ref"`
}

// MaterialRef names an uploaded document of an application: the evidence
// it stands for, its kind as uploaded, its media type, size and SHA-256
// (hex) of the bytes sent to PathWithdrawalMaterial.
type MaterialRef struct {
	ID        string `json:"id"`
	Evidence  string `json:"evidence"`
	Kind      string `json:"kind"`
	MediaType string `json:"media_type"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
}

// Payout account kinds.
const (
	PayoutBankCard = "bank_card"
	PayoutECNY     = "ecny"
)

// PayoutAccount is a bank card or an e-CNY wallet the core holds under a
// person's name. ID is the core's opaque handle, safe to show and to send
// back; Number is personal data, shown masked.
type PayoutAccount struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"` // bank_card | ecny
	Number      string `json:"number"`
	Institution string `json:"institution"` // the bank or the wallet's operator
}

// PayoutAccountList is a person's payout accounts, in the core's order.
type PayoutAccountList struct {
	Items []PayoutAccount `json:"items"`
}

// Evidence categories: what kind of record a reference must name.
const (
	EvidencePropertyRegistration = "property_registration" // deed or purchase contract
	EvidenceDiagnosis            = "diagnosis"             // hospital diagnosis of a critical illness
	EvidenceTenancy              = "tenancy"               // registered lease
	EvidenceClosingCertificate   = "closing_certificate"   // proof of settling abroad, deregistration, ...
)

// EvidenceCheck asks whether every reference names a record of the person
// in one of the categories.
type EvidenceCheck struct {
	Categories []string `json:"categories"`
	Refs       []string `json:"refs"`
}

// EvidenceResult lists the references that do not: unknown, another
// person's, or of another category. Empty means all are confirmed.
type EvidenceResult struct {
	Unknown []string `json:"unknown"`
}

// WithdrawalStatus is the core's view of an application.
type WithdrawalStatus struct {
	ApplicationID string    `json:"application_id"`
	Status        string    `json:"status"`
	Reason        string    `json:"reason,omitempty"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// PathHealth answers 200 when the core is up (signed like every other call).
const PathHealth = "/core/v1/health"

// Freshness says how current a read is: AsOf is when the core answered;
// Stale is set when the core could not be reached (outage, open breaker,
// maintenance window) and a remembered answer stands in for it.
type Freshness struct {
	AsOf  time.Time
	Stale bool
	// MaintenanceUntil is set when the remembered answer stands in for the
	// core's maintenance window: when the window ends, from the core's
	// Retry-After, so screens can say when live figures return.
	MaintenanceUntil time.Time
}
