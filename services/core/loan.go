package core

import (
	"context"
	"net/http"
	"slices"
	"time"

	"handheld/services"
)

// Paths of the loan holders' services (issue 21). A person's loan is the
// one PathLoan describes; these add its policy, early repayments, the
// repayment account (代扣账户), arrears, the repayment history and loan
// applications made at a counter.
const (
	// PathLoanPolicy is the centre's early-repayment and arrears policy:
	// GET → LoanPolicy.
	PathLoanPolicy = "/core/v1/loan-policy"
	// PathLoanPosition is where the person's loan stands: GET →
	// LoanPosition (the schedule in force, periods paid, arrears with
	// penalty to date, the last early repayment).
	PathLoanPosition = "/core/v1/persons/{person_id}/loan/position"
	// PathLoanRepaymentAccount is the account instalments are taken from:
	// GET → RepaymentAccount; PUT RepaymentAccountChange → RepaymentAccount
	// (from the next cycle; idempotent: the same account again answers
	// the same; 404 not_found for an account not held by the person).
	PathLoanRepaymentAccount = "/core/v1/persons/{person_id}/loan/repayment-account"
	// PathLoanRepayments pages the repayment history, newest first: GET
	// ?limit=&cursor= → RepaymentPage.
	PathLoanRepayments = "/core/v1/persons/{person_id}/loan/repayments"
	// PathLoanApplications lists loan applications made at a counter and
	// their progress: GET → LoanApplicationList.
	PathLoanApplications = "/core/v1/persons/{person_id}/loan/applications"
	// PathPrepayment applies an early repayment: PUT Prepayment →
	// PrepaymentStatus (idempotent by prepayment id: 201 the first time,
	// 200 for the same content, 409 conflict for other content); GET →
	// PrepaymentStatus. A refusal by policy is status rejected with a
	// reason, not an HTTP error.
	PathPrepayment = "/core/v1/loan-prepayments/{prepayment_id}"
	// PathArrearsPayment clears every overdue instalment with its penalty:
	// PUT ArrearsPayment → PrepaymentStatus (idempotent as above).
	PathArrearsPayment = "/core/v1/loan-arrears-payments/{payment_id}"
)

// Early repayment modes (the loan package's Mode values).
const (
	ModeShortenTerm      = "shorten_term"
	ModeReduceInstalment = "reduce_instalment"
)

// LoanPolicy is the centre's policy for early repayment and arrears, as
// data: the core enforces it, handheld checks it first so that bad input
// is refused before anything is written.
type LoanPolicy struct {
	// PrepayMinFen is the smallest early repayment that is not the whole
	// loan (a whole repayment is always allowed).
	PrepayMinFen int64 `json:"prepay_min_fen"`
	// PrepayIntervalMonths is how many months must pass between two early
	// repayments (12: once a year); 0: no limit.
	PrepayIntervalMonths int `json:"prepay_interval_months"`
	// PrepayCutoffDay is the last day of a month early repayments are
	// accepted on (1–31; 31: every day).
	PrepayCutoffDay int `json:"prepay_cutoff_day"`
	// PrepayModes are the modes the centre offers.
	PrepayModes []string `json:"prepay_modes"`
	// PrepayFromHPF allows repaying from the person's HPF balance.
	PrepayFromHPF bool `json:"prepay_from_hpf"`
	// PenaltyDailyBP is the penalty interest on an overdue instalment, in
	// basis points a day (5: 万分之五 a day).
	PenaltyDailyBP int `json:"penalty_daily_bp"`
}

// LoanPosition is where a person's loan stands today: the schedule in
// force (the original terms, or those the last early repayment set) and
// how many of its periods are paid; arrears are the overdue instalments
// with their penalty to date.
type LoanPosition struct {
	HasLoan   bool   `json:"has_loan"`
	Settled   bool   `json:"settled"`
	SettledOn string `json:"settled_on,omitempty"`
	// PrincipalFen, Months, AnnualRateBP and Method are the terms of the
	// schedule in force; Paid how many of its periods are paid; FirstPeriod
	// the loan's period number of its first.
	PrincipalFen int64  `json:"principal_fen"`
	Months       int    `json:"months"`
	AnnualRateBP int    `json:"annual_rate_bp"`
	Method       string `json:"method"`
	Paid         int    `json:"paid"`
	FirstPeriod  int    `json:"first_period"`
	OwedFen      int64  `json:"owed_fen"` // principal still owed
	NextDueOn    string `json:"next_due_on,omitempty"`
	// LastPrepaidOn is the date of the last early repayment, "" if none.
	LastPrepaidOn string `json:"last_prepaid_on,omitempty"`
	// OverduePeriods, ArrearsFen (the overdue instalments) and PenaltyFen
	// (their penalty interest to date).
	OverduePeriods int    `json:"overdue_periods"`
	ArrearsFen     int64  `json:"arrears_fen"`
	PenaltyFen     int64  `json:"penalty_fen"`
	OverdueSince   string `json:"overdue_since,omitempty"`
}

// RepaymentAccount is the account instalments are taken from, and a
// change waiting for the next cycle.
type RepaymentAccount struct {
	Account PayoutAccount `json:"account"`
	// Pending is the account a change named, taking effect on
	// EffectiveFrom (the next instalment's due date); nil without one.
	Pending       *PayoutAccount `json:"pending,omitempty"`
	EffectiveFrom string         `json:"effective_from,omitempty"`
}

// RepaymentAccountChange names one of the person's own accounts
// (PayoutAccount.ID) for the instalments from the next cycle on.
type RepaymentAccountChange struct {
	AccountID string `json:"account_id"`
}

// Repayment kinds.
const (
	RepaymentInstalment = "instalment"
	RepaymentPrepayment = "prepayment"
	RepaymentArrears    = "arrears"
)

// Repayment is one payment into the loan.
type Repayment struct {
	ID           string `json:"id"`
	PaidOn       string `json:"paid_on"`
	Kind         string `json:"kind"`
	Period       int    `json:"period,omitempty"` // the instalment's period
	AmountFen    int64  `json:"amount_fen"`
	PrincipalFen int64  `json:"principal_fen"`
	InterestFen  int64  `json:"interest_fen"`
	PenaltyFen   int64  `json:"penalty_fen"`
	// Source is the account (its id) or "hpf" for the HPF balance.
	Source string `json:"source"`
}

// RepaymentPage is one page of the repayment history, newest first.
type RepaymentPage struct {
	Items      []Repayment `json:"items"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// Loan application stages (a counter application's progress).
const (
	LoanAppReceived  = "received"
	LoanAppReviewing = "reviewing"
	LoanAppApproved  = "approved"
	LoanAppContract  = "contract_signed"
	LoanAppDisbursed = "disbursed"
	LoanAppRejected  = "rejected"
)

// LoanApplication is a loan applied for at a counter.
type LoanApplication struct {
	ApplicationID string `json:"application_id"`
	AppliedOn     string `json:"applied_on"`
	AmountFen     int64  `json:"amount_fen"`
	Months        int    `json:"months"`
	Status        string `json:"status"`
	UpdatedOn     string `json:"updated_on"`
	Branch        string `json:"branch"`
}

// LoanApplicationList is a person's loan applications, newest first.
type LoanApplicationList struct {
	Items []LoanApplication `json:"items"`
}

// Prepayment is an early repayment as sent to the core. PrepaymentID is
// the idempotency key. The money comes from SourceAccountID (one of the
// person's own accounts) or, FromHPF, the HPF balance.
type Prepayment struct {
	PrepaymentID    string `json:"prepayment_id"`
	PersonID        string `json:"person_id"`
	AmountFen       int64  `json:"amount_fen"`
	Mode            string `json:"mode"`
	SourceAccountID string `json:"source_account_id,omitempty"`
	FromHPF         bool   `json:"from_hpf,omitempty"`
}

// ArrearsPayment clears every overdue instalment with its penalty to
// date, from one of the person's accounts or the HPF balance.
type ArrearsPayment struct {
	PaymentID       string `json:"payment_id"`
	PersonID        string `json:"person_id"`
	SourceAccountID string `json:"source_account_id,omitempty"`
	FromHPF         bool   `json:"from_hpf,omitempty"`
}

// Statuses of an early repayment or an arrears payment at the core.
const (
	PrepaymentApplied  = "applied"
	PrepaymentRejected = "rejected"
)

// Reasons a prepayment or arrears payment is rejected: the policy's rules,
// the source, the loan.
const (
	ReasonBelowMinimum  = "below_minimum"
	ReasonAboveOwed     = "above_owed"
	ReasonTooSoon       = "too_soon"
	ReasonAfterCutoff   = "after_cutoff"
	ReasonSourceRefused = "source_refused"
	ReasonInArrears     = "in_arrears"
	ReasonNoArrears     = "no_arrears"
	ReasonNoLoan        = "no_loan"
	ReasonModeRefused   = "mode_refused"
)

// PrepaymentStatus is the core's answer: applied (the money taken, the
// schedule changed from the next instalment) or rejected with a reason.
type PrepaymentStatus struct {
	ID               string `json:"id"`
	Status           string `json:"status"`
	Reason           string `json:"reason,omitempty"`
	AmountFen        int64  `json:"amount_fen"`
	PenaltyFen       int64  `json:"penalty_fen"`
	InterestSavedFen int64  `json:"interest_saved_fen"`
	AppliedOn        string `json:"applied_on,omitempty"`
	MonthsAfter      int    `json:"months_after"`
	PaymentAfterFen  int64  `json:"payment_after_fen"`
	Settled          bool   `json:"settled"`
}

const (
	endpointLoanPolicy       = "loan_policy"
	endpointLoanPosition     = "loan_position"
	endpointRepaymentAccount = "loan_repayment_account"
	endpointRepaymentChange  = "loan_repayment_account_change"
	endpointLoanRepayments   = "loan_repayments"
	endpointLoanApplications = "loan_applications"
	endpointPrepayment       = "loan_prepayment"
	endpointPrepaymentStatus = "loan_prepayment_status"
	endpointArrearsPayment   = "loan_arrears_payment"
)

// LoanPolicy is the centre's early-repayment and arrears policy.
func (c *Client) LoanPolicy(ctx context.Context) (LoanPolicy, error) {
	return send[LoanPolicy](ctx, c, request{endpoint: endpointLoanPolicy, method: http.MethodGet, path: PathLoanPolicy,
		notFound: services.CodeNotFound})
}

// LoanPosition is where the person's loan stands today.
func (c *Client) LoanPosition(ctx context.Context, personID string) (LoanPosition, error) {
	p, err := personPath(PathLoanPosition, personID)
	if err != nil {
		return LoanPosition{}, err
	}
	return send[LoanPosition](ctx, c, request{endpoint: endpointLoanPosition, method: http.MethodGet, path: p,
		notFound: services.CodePersonNotFound})
}

// RepaymentAccount is the account the person's instalments are taken
// from; a person without a loan is loan.none.
func (c *Client) RepaymentAccount(ctx context.Context, personID string) (RepaymentAccount, error) {
	p, err := personPath(PathLoanRepaymentAccount, personID)
	if err != nil {
		return RepaymentAccount{}, err
	}
	return send[RepaymentAccount](ctx, c, request{endpoint: endpointRepaymentAccount, method: http.MethodGet, path: p,
		notFound: services.CodeLoanNone})
}

// ChangeRepaymentAccount names another of the person's accounts for the
// instalments from the next cycle. An account not held by the person is
// loan.account_not_owned.
func (c *Client) ChangeRepaymentAccount(ctx context.Context, personID, accountID string) (RepaymentAccount, error) {
	p, err := personPath(PathLoanRepaymentAccount, personID)
	if err != nil {
		return RepaymentAccount{}, err
	}
	return send[RepaymentAccount](ctx, c, request{endpoint: endpointRepaymentChange, method: http.MethodPut, path: p,
		body: RepaymentAccountChange{AccountID: accountID}, notFound: services.CodeLoanAccountNotOwned})
}

// LoanRepayments is one page of the repayment history, newest first.
func (c *Client) LoanRepayments(ctx context.Context, personID string, limit int, cursor string) (RepaymentPage, error) {
	p, err := personPath(PathLoanRepayments, personID)
	if err != nil {
		return RepaymentPage{}, err
	}
	if err := checkLimit(limit); err != nil {
		return RepaymentPage{}, err
	}
	return send[RepaymentPage](ctx, c, request{endpoint: endpointLoanRepayments, method: http.MethodGet, path: p,
		query: pageQuery(limit, cursor), notFound: services.CodePersonNotFound})
}

// LoanApplications lists the person's loan applications made at a counter.
func (c *Client) LoanApplications(ctx context.Context, personID string) (LoanApplicationList, error) {
	p, err := personPath(PathLoanApplications, personID)
	if err != nil {
		return LoanApplicationList{}, err
	}
	return send[LoanApplicationList](ctx, c, request{endpoint: endpointLoanApplications, method: http.MethodGet, path: p,
		notFound: services.CodePersonNotFound})
}

// ApplyPrepayment sends an early repayment; idempotent on PrepaymentID,
// so the outbox may deliver it again after any failure.
func (c *Client) ApplyPrepayment(ctx context.Context, pp Prepayment) (PrepaymentStatus, error) {
	p, err := expand(PathPrepayment, "{prepayment_id}", "prepayment id", pp.PrepaymentID)
	if err != nil {
		return PrepaymentStatus{}, err
	}
	return send[PrepaymentStatus](ctx, c, request{endpoint: endpointPrepayment, method: http.MethodPut, path: p, body: pp,
		notFound: services.CodePersonNotFound})
}

// Prepayment is the core's status of an early repayment.
func (c *Client) Prepayment(ctx context.Context, id string) (PrepaymentStatus, error) {
	p, err := expand(PathPrepayment, "{prepayment_id}", "prepayment id", id)
	if err != nil {
		return PrepaymentStatus{}, err
	}
	return send[PrepaymentStatus](ctx, c, request{endpoint: endpointPrepaymentStatus, method: http.MethodGet, path: p,
		notFound: services.CodeNotFound})
}

// PayArrears sends an arrears payment; idempotent on PaymentID.
func (c *Client) PayArrears(ctx context.Context, ap ArrearsPayment) (PrepaymentStatus, error) {
	p, err := expand(PathArrearsPayment, "{payment_id}", "payment id", ap.PaymentID)
	if err != nil {
		return PrepaymentStatus{}, err
	}
	return send[PrepaymentStatus](ctx, c, request{endpoint: endpointArrearsPayment, method: http.MethodPut, path: p, body: ap,
		notFound: services.CodePersonNotFound})
}

// PrepaymentRule is the first rule of the loan policy an early repayment
// of amount breaks ("" for none), checked in this order: arrears first,
// the mode, the cut-off day, the interval since the last one, the amount.
// The core enforces them; handheld checks the same before accepting a
// request, so that bad input is refused with nothing written.
func PrepaymentRule(policy LoanPolicy, pos LoanPosition, amount int64, mode string, now time.Time) string {
	today := now.In(services.CentreTime)
	switch {
	case !pos.HasLoan || pos.Settled:
		return ReasonNoLoan
	case pos.OverduePeriods > 0:
		return ReasonInArrears
	case !slices.Contains(policy.PrepayModes, mode):
		return ReasonModeRefused
	case today.Day() > policy.PrepayCutoffDay:
		return ReasonAfterCutoff
	case tooSoon(policy, pos.LastPrepaidOn, today):
		return ReasonTooSoon
	case amount > pos.OwedFen:
		return ReasonAboveOwed
	case amount < policy.PrepayMinFen && amount != pos.OwedFen:
		return ReasonBelowMinimum
	}
	return ""
}

func tooSoon(policy LoanPolicy, last string, today time.Time) bool {
	if last == "" || policy.PrepayIntervalMonths <= 0 {
		return false
	}
	t, err := time.ParseInLocation(time.DateOnly, last, services.CentreTime)
	if err != nil {
		return false
	}
	return today.Format(time.DateOnly) < t.AddDate(0, policy.PrepayIntervalMonths, 0).Format(time.DateOnly)
}
