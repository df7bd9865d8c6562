package core

import "time"

// The employer's business at the core: the unit account and its ledger, the
// staff roster, staff changes, base and rate adjustments, the month's
// remittance bill, its declaration and collection by the unit's bank,
// arrears and supplementary payments, and the facts of a unit deposit
// certificate. Money is fen; the rounding rule is ShareOf.
const (
	// PathPolicy is the centre's contribution policy: GET → Policy.
	PathPolicy = "/core/v1/policy"
	// PathUnitAccount is the unit account: GET → UnitAccount.
	PathUnitAccount = "/core/v1/units/{unit_code}/account"
	// PathUnitLedger pages the unit account's ledger, newest first:
	// GET ?from=&to=&limit=&cursor= → UnitLedgerPage.
	PathUnitLedger = "/core/v1/units/{unit_code}/ledger"
	// PathStaffMember is one of the unit's staff: GET → StaffMember; 404
	// not_found for a person whose account is not held by this unit.
	PathStaffMember = "/core/v1/units/{unit_code}/staff/{person_id}"
	// PathStaffChange applies a join, leave or rejoin: PUT StaffChange →
	// StaffChangeResult, idempotent by request id (201 the first time, 200
	// with the same answer for the same content, 409 conflict otherwise).
	PathStaffChange = "/core/v1/units/{unit_code}/staff-changes/{request_id}"
	// PathAdjustment changes bases and rates: PUT Adjustment →
	// AdjustmentResult, idempotent by request id, all or nothing.
	PathAdjustment = "/core/v1/units/{unit_code}/adjustments/{request_id}"
	// PathRemittances lists a year's months: GET ?year= → RemittanceYear.
	PathRemittances = "/core/v1/units/{unit_code}/remittances"
	// PathBill is a month's remittance bill: GET → Bill.
	PathBill = "/core/v1/units/{unit_code}/remittances/{month}"
	// PathDeclaration declares a month's bill for collection by the unit's
	// bank: PUT Declaration → DeclarationResult, idempotent by request id.
	PathDeclaration = "/core/v1/units/{unit_code}/declarations/{request_id}"
	// PathSupplement declares a month in arrears with its interest: PUT
	// Declaration → DeclarationResult, idempotent by request id.
	PathSupplement = "/core/v1/units/{unit_code}/supplements/{request_id}"
	// PathArrears lists the complete months not paid: GET → Arrears.
	PathArrears = "/core/v1/units/{unit_code}/arrears"
	// PathUnitCertificateFacts is what a unit deposit certificate states, in
	// one consistent answer: GET → UnitCertificateFacts.
	PathUnitCertificateFacts = "/core/v1/units/{unit_code}/certificate-facts"
)

// Refusal codes of the unit endpoints, in ErrorBody.Code, with 409 (the
// state forbids it) or 422 (the value breaks the policy). The client turns
// each into its own services code (unit_errors.go).
const (
	ErrInvalidIDNumber   = "invalid_id_number"         // 422: join with an ID number failing GB 11643
	ErrNameMismatch      = "name_mismatch"             // 422: the ID number belongs to a person of another name
	ErrAlreadyEmployed   = "already_employed"          // 409: join of a person whose account this unit holds
	ErrEmployedElsewhere = "employed_elsewhere"        // 409: join of a person still active at another unit
	ErrAlreadySealed     = "already_sealed"            // 409: leave of a sealed account
	ErrNotSealed         = "not_sealed"                // 409: rejoin of an account that is not sealed
	ErrNotActive         = "not_active"                // 409: leave of a frozen or closed account
	ErrBaseOutOfRange    = "base_out_of_range"         // 422: base below the minimum wage or above the cap
	ErrRateOutOfRange    = "rate_out_of_range"         // 422: rate outside the policy, or unequal rates where they must be equal
	ErrOutsideWindow     = "outside_adjustment_window" // 409: an adjustment outside the annual window
	ErrBillChanged       = "bill_changed"              // 409: the bill_version is not the bill's current version
	ErrAlreadyDeclared   = "already_declared"          // 409: the month is declared, being collected or paid
	ErrOverdue           = "overdue"                   // 409: a declaration for a month in arrears (supplement it)
	ErrNotOverdue        = "not_overdue"               // 409: a supplement for a month not in arrears
	ErrMonthNotOpen      = "month_not_open"            // 409: a declaration for a month not begun
)

// Staff change kinds and outcomes.
const (
	ChangeJoin   = "join"   // open an account, or transfer one in from another unit of the city
	ChangeLeave  = "leave"  // seal the account (封存)
	ChangeRejoin = "rejoin" // unseal it (启封)

	OutcomeOpened        = "opened"         // a new account
	OutcomeTransferredIn = "transferred_in" // a sealed account of another unit moved here
	OutcomeSealed        = "sealed"
	OutcomeUnsealed      = "unsealed"
)

// Leave reasons.
const (
	LeaveResigned      = "resigned"
	LeaveContractEnded = "contract_ended"
	LeaveRetired       = "retired"
	LeaveDismissed     = "dismissed"
	LeaveOther         = "other"
)

// Remittance month statuses: a month is open (this month, not declared),
// overdue (a complete month neither paid nor being paid: arrears), pending
// (declared, waiting for the bank), collecting (the bank is collecting),
// paid, or failed (the bank could not collect; declare it again).
const (
	BillOpen       = "open"
	BillOverdue    = "overdue"
	BillPending    = "pending"
	BillCollecting = "collecting"
	BillPaid       = "paid"
	BillFailed     = "failed"
)

// Bill kinds and unit ledger entry kinds.
const (
	BillRegular    = "regular"    // declared in its month
	BillSupplement = "supplement" // declared late, with interest (补缴)

	UnitEntryRemittance = "remittance" // a month's regular remittance collected
	UnitEntrySupplement = "supplement" // a month in arrears collected
	UnitEntryInterest   = "interest"   // the interest collected with a supplement
)

// ShareOf is the rounding rule of every contribution: base × rate, rounded
// half up to the fen, for each person and each side (personal, unit)
// separately. Totals are sums of rounded lines, so they add up exactly.
func ShareOf(baseFen int64, rateBP int) int64 {
	return (baseFen*int64(rateBP)*2 + 10_000) / 20_000
}

// SupplementInterest is the interest on a month paid late: amount × the
// policy's annual rate × days late / 360, rounded half up to the fen.
func SupplementInterest(amountFen int64, annualBP, daysLate int) int64 {
	if daysLate <= 0 {
		return 0
	}
	const denom = 10_000 * 360
	return (amountFen*int64(annualBP)*int64(daysLate)*2 + denom) / (2 * denom)
}

// Policy is the centre's contribution policy, data rather than code: the
// bounds a base and the rates must keep, and the supplement interest rule.
type Policy struct {
	MinRateBP  int   `json:"min_rate_bp"`  // 500: 5%
	MaxRateBP  int   `json:"max_rate_bp"`  // 1200: 12%
	RatesEqual bool  `json:"rates_equal"`  // unit and personal rate must be equal
	MinBaseFen int64 `json:"min_base_fen"` // the local minimum wage
	MaxBaseFen int64 `json:"max_base_fen"` // three times last year's average wage
	// AdjustmentFrom and AdjustmentTo (MM-DD, inclusive, Asia/Shanghai)
	// bound the annual window for adjustments; both empty: all year.
	AdjustmentFrom string `json:"adjustment_from,omitempty"`
	AdjustmentTo   string `json:"adjustment_to,omitempty"`
	// SupplementRateBP is the annual rate of SupplementInterest.
	SupplementRateBP int `json:"supplement_rate_bp"`
}

// UnitAccount is the unit account (单位账户) as the employer app shows it.
type UnitAccount struct {
	UnitCode       string `json:"unit_code"`
	Name           string `json:"name"`
	AccountNumber  string `json:"account_number"`
	Status         string `json:"status"`
	OpenedMonth    string `json:"opened_month,omitempty"` // YYYY-MM
	BankName       string `json:"bank_name"`              // the bank that collects the remittances
	BankAccount    string `json:"bank_account"`           // the unit's account at it; personal data of a kind: mask it
	UnitRateBP     int    `json:"unit_rate_bp"`
	PersonalRateBP int    `json:"personal_rate_bp"`
	StaffCount     int    `json:"staff_count"`  // every account the unit holds
	ActiveCount    int    `json:"active_count"` // normal and frozen: those remitted for
	SealedCount    int    `json:"sealed_count"`
	BalanceFen     int64  `json:"balance_fen"`     // the sum of its staff's balances
	MonthlyFen     int64  `json:"monthly_fen"`     // the open month's bill total
	PaidUpTo       string `json:"paid_up_to"`      // YYYY-MM: every month up to it is paid
	ArrearsMonths  int    `json:"arrears_months"`  // complete months not paid
	ArrearsFen     int64  `json:"arrears_fen"`     // what they owe, without interest
	Revision       int64  `json:"revision"`        // bumped by every staff change and adjustment
	OpenMonth      string `json:"open_month"`      // the month a declaration is for now
	LastPaidMonth  string `json:"last_paid_month"` // the latest month paid, "" if none
}

// UnitLedgerEntry is one entry of the unit account's ledger.
type UnitLedgerEntry struct {
	ID        string `json:"id"`
	Month     string `json:"month"`     // the month paid for
	PostedOn  string `json:"posted_on"` // YYYY-MM-DD
	Kind      string `json:"kind"`      // remittance | supplement | interest
	AmountFen int64  `json:"amount_fen"`
	Headcount int    `json:"headcount"`
}

// UnitLedgerPage is one page of the unit ledger, newest first.
type UnitLedgerPage struct {
	Items      []UnitLedgerEntry `json:"items"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

// LedgerQuery selects a page of the unit ledger, like DepositQuery.
type LedgerQuery struct {
	From, To string // YYYY-MM, inclusive, either may be empty
	Limit    int
	Cursor   string
}

// RosterQuery selects a page of staff: Status one account status or "";
// Q a name prefix, or 4 to 18 trailing characters of the ID number (digits,
// a final X); the core searches.
type RosterQuery struct {
	Status string
	Q      string
	Limit  int
	Cursor string
}

// StaffChange is a join, leave or rejoin as sent to the core. RequestID is
// the idempotency key.
type StaffChange struct {
	RequestID string `json:"request_id"`
	Kind      string `json:"kind"`                // join | leave | rejoin
	PersonID  string `json:"person_id,omitempty"` // leave, rejoin
	Name      string `json:"name,omitempty"`      // join
	IDNumber  string `json:"id_number,omitempty"` // join
	// BaseFen is the deposit base: required to join, optional to rejoin
	// (zero keeps the base the account had).
	BaseFen int64 `json:"base_fen,omitempty"`
	// Month is, to join, the first month remitted for; to leave, the last.
	Month  string `json:"month,omitempty"`
	Reason string `json:"reason,omitempty"` // leave: one of the Leave* values
}

// StaffChangeResult is what a staff change did.
type StaffChangeResult struct {
	RequestID     string    `json:"request_id"`
	Kind          string    `json:"kind"`
	Outcome       string    `json:"outcome"` // opened | transferred_in | sealed | unsealed
	PersonID      string    `json:"person_id"`
	AccountNumber string    `json:"account_number"`
	FromUnitCode  string    `json:"from_unit_code,omitempty"` // transferred_in: the unit it came from
	AppliedAt     time.Time `json:"applied_at"`
}

// BaseChange is one person's new deposit base.
type BaseChange struct {
	PersonID string `json:"person_id"`
	BaseFen  int64  `json:"base_fen"`
}

// Adjustment changes the unit's rates (zero: unchanged) and any number of
// its staff's bases, all or nothing. RequestID is the idempotency key.
type Adjustment struct {
	RequestID      string       `json:"request_id"`
	UnitRateBP     int          `json:"unit_rate_bp,omitempty"`
	PersonalRateBP int          `json:"personal_rate_bp,omitempty"`
	Bases          []BaseChange `json:"bases,omitempty"`
}

// MaxBaseChanges is the most bases one Adjustment may carry.
const MaxBaseChanges = 1000

// AdjustmentResult is what an adjustment did.
type AdjustmentResult struct {
	RequestID      string    `json:"request_id"`
	UnitRateBP     int       `json:"unit_rate_bp"`
	PersonalRateBP int       `json:"personal_rate_bp"`
	BasesChanged   int       `json:"bases_changed"`
	AppliedAt      time.Time `json:"applied_at"`
}

// RemittanceMonth is one month of the unit's remittance calendar.
type RemittanceMonth struct {
	Month       string     `json:"month"`
	Status      string     `json:"status"` // open | overdue | pending | collecting | paid | failed
	Kind        string     `json:"kind,omitempty"`
	Headcount   int        `json:"headcount"`
	TotalFen    int64      `json:"total_fen"`
	InterestFen int64      `json:"interest_fen"`
	DeclaredAt  *time.Time `json:"declared_at,omitempty"`
	PaidAt      *time.Time `json:"paid_at,omitempty"`
}

// RemittanceYear is a year's months, oldest first, up to the open month.
type RemittanceYear struct {
	Year  int               `json:"year"`
	Items []RemittanceMonth `json:"items"`
}

// BillLine is one person's part of a bill.
type BillLine struct {
	PersonID    string `json:"person_id"`
	Name        string `json:"name"`
	IDNumber    string `json:"id_number"`
	BaseFen     int64  `json:"base_fen"`
	PersonalFen int64  `json:"personal_fen"`
	UnitFen     int64  `json:"unit_fen"`
}

// Bill is a month's remittance bill: every person remitted for, with
// totals that are the exact sums of the lines (TotalFen = PersonalTotalFen
// + UnitTotalFen). Version changes whenever the bill would; a declaration
// names it, so a bill that changed since it was read is refused.
type Bill struct {
	UnitCode         string     `json:"unit_code"`
	Month            string     `json:"month"`
	Version          string     `json:"version"`
	Status           string     `json:"status"`
	Kind             string     `json:"kind"` // regular | supplement
	Headcount        int        `json:"headcount"`
	BaseTotalFen     int64      `json:"base_total_fen"`
	PersonalTotalFen int64      `json:"personal_total_fen"`
	UnitTotalFen     int64      `json:"unit_total_fen"`
	TotalFen         int64      `json:"total_fen"`
	InterestFen      int64      `json:"interest_fen"` // supplement interest as of now (or as declared)
	DeclaredAt       *time.Time `json:"declared_at,omitempty"`
	PaidAt           *time.Time `json:"paid_at,omitempty"`
	FailureReason    string     `json:"failure_reason,omitempty"`
	Lines            []BillLine `json:"lines"`
}

// Declaration asks the unit's bank to collect a month's bill as read:
// BillVersion is Bill.Version.
type Declaration struct {
	RequestID   string `json:"request_id"`
	Month       string `json:"month"`
	BillVersion string `json:"bill_version"`
}

// DeclarationResult is the declared bill's header.
type DeclarationResult struct {
	RequestID   string    `json:"request_id"`
	Month       string    `json:"month"`
	Kind        string    `json:"kind"`
	Status      string    `json:"status"` // pending the first time; a repeat answers the same
	Version     string    `json:"version"`
	Headcount   int       `json:"headcount"`
	TotalFen    int64     `json:"total_fen"`
	InterestFen int64     `json:"interest_fen"`
	DeclaredAt  time.Time `json:"declared_at"`
}

// ArrearsMonth is one complete month not paid.
type ArrearsMonth struct {
	Month       string `json:"month"`
	Status      string `json:"status"` // overdue | failed
	Headcount   int    `json:"headcount"`
	AmountFen   int64  `json:"amount_fen"`
	DaysLate    int    `json:"days_late"` // since the month's last day
	InterestFen int64  `json:"interest_fen"`
}

// Arrears are the unit's unpaid complete months, oldest first, with the
// interest a supplement declared today would carry.
type Arrears struct {
	AsOf        string         `json:"as_of"` // YYYY-MM-DD
	Items       []ArrearsMonth `json:"items"`
	AmountFen   int64          `json:"amount_fen"`
	InterestFen int64          `json:"interest_fen"`
}

// UnitCertificateFacts are what a unit deposit certificate (单位住房公积金缴存
// 证明) states: the account, and the last 12 complete months.
type UnitCertificateFacts struct {
	Unit   UnitAccount       `json:"unit"`
	Months []RemittanceMonth `json:"months"` // newest first
	AsOf   time.Time         `json:"as_of"`
}
