package account

import (
	"time"

	"handheld/services/core"
	"handheld/services/mask"
)

// Views carry label keys (status.account.01, loan.method.annuity, ...)
// rather than texts: the handler knows the caller's language and looks them
// up in the locale catalogues. Masked fields are masked already; a view
// never holds a whole name, ID number, phone or card unless the policy says
// the channel may show it.

// Holder is the account holder, masked per channel.
type Holder struct {
	Name     string
	IDNumber string // empty on the home screen, which does not show it
}

// AccountView is the account screen.
type AccountView struct {
	Holder             Holder
	AccountNumber      string // masked per channel
	Status             string // JGJ/T 320 code, core.Status*
	StatusLabelKey     string
	BalanceFen         int64
	DepositBaseFen     int64
	MonthlyPersonalFen int64
	MonthlyUnitFen     int64
	PersonalRateBP     int
	UnitRateBP         int
	EmployerName       string
	OpenedOn           string // YYYY-MM-DD
	LastDepositMonth   string // YYYY-MM, empty when none
	CarryOverFen       int64
	CurrentYearFen     int64
	core.Freshness
}

// Entry is one line of the deposit history. ID is opaque and stable for
// the person; it is not the core's id, which names the core's customer.
type Entry struct {
	ID              string
	Month           string // YYYY-MM
	PostedOn        string // YYYY-MM-DD
	Kind            string // core.Kind*
	KindLabelKey    string
	AmountFen       int64 // negative when money left the account
	BalanceAfterFen int64
}

// DepositsView is one page of the deposit history, newest first, with the
// range it covers after defaults were applied.
type DepositsView struct {
	From, To   string
	Items      []Entry
	NextCursor string // empty on the last page
	core.Freshness
}

// LoanView is the loan screen; only HasLoan and the freshness are set when
// the person has no HPF loan.
type LoanView struct {
	HasLoan        bool
	PrincipalFen   int64
	OutstandingFen int64
	AnnualRateBP   int
	Months         int
	Method         string // annuity | linear
	MethodLabelKey string
	StartedOn      string
	NextDueOn      string
	NextPaymentFen int64
	OverduePeriods int
	ArrearsFen     int64 // the overdue instalments
	PenaltyFen     int64 // their penalty interest to date
	Settled        bool
	core.Freshness
}

// Instalment is one row of the repayment plan.
type Instalment struct {
	Period         int
	DueOn          string
	PaymentFen     int64
	PrincipalFen   int64
	InterestFen    int64
	RemainingFen   int64
	Status         string // paid | due | overdue
	StatusLabelKey string
}

// ScheduleView is one page of the repayment plan.
type ScheduleView struct {
	Items      []Instalment
	NextCursor string
	core.Freshness
}

// Application is an application in progress, as the home screen lists it.
type Application struct {
	ID          string
	Kind        string // e.g. withdrawal
	Type        string // e.g. rent
	CaseNumber  string
	Status      string
	SubmittedAt time.Time
	DueOn       string // statutory decision date, YYYY-MM-DD
}

// ECard says whether the person can show an e-card now.
type ECard struct {
	Available bool
}

// The parts of the home screen, as named in HomeView.Degraded.
const (
	PartAccount      = "account"
	PartLoan         = "loan"
	PartPerson       = "person"
	PartApplications = "applications"
)

// HomeView is the home screen. A part that failed or missed the screen's
// deadline is nil (ECard follows Account) and named in Degraded.
type HomeView struct {
	Holder       *Holder
	Account      *AccountView
	ECard        *ECard
	Loan         *LoanView
	Applications []Application
	Degraded     []string
	core.Freshness
}

// statusLabels are the account statuses with a label of their own; any
// other code is labelled as "other" (99).
var statusLabels = map[string]bool{
	core.StatusNormal: true, core.StatusSealed: true, core.StatusClosedMerge: true, core.StatusClosedTransfer: true,
	core.StatusClosedWithdrawal: true, core.StatusFrozen: true, core.StatusOther: true,
}

func statusLabelKey(status string) string {
	if statusLabels[status] {
		return "status.account." + status
	}
	return "status.account." + core.StatusOther
}

func kindLabelKey(kind string) string {
	switch kind {
	case core.KindRemittance, core.KindBackPayment, core.KindInterest, core.KindWithdrawal, core.KindTransfer:
		return "deposit.kind." + kind
	}
	return "deposit.kind.other"
}

func methodLabelKey(method string) string {
	switch method {
	case "annuity", "linear":
		return "loan.method." + method
	}
	return "loan.method.other"
}

func instalmentLabelKey(status string) string {
	switch status {
	case "paid", "due", "overdue":
		return "loan.instalment." + status
	}
	return "loan.instalment.other"
}

// ecardAvailable: an e-card proves that an account exists, so any account
// not closed (03, 04, 05) may show one, sealed and frozen ones included.
func ecardAvailable(status string) bool {
	switch status {
	case core.StatusClosedMerge, core.StatusClosedTransfer, core.StatusClosedWithdrawal:
		return false
	}
	return true
}

// accountView shapes a core account for channel.
func accountView(a core.Account, policy mask.Policy, channel string) AccountView {
	return AccountView{
		AccountNumber:      policy.Apply(mask.AccountNumber, channel, a.AccountNumber),
		Status:             a.Status,
		StatusLabelKey:     statusLabelKey(a.Status),
		BalanceFen:         a.BalanceFen,
		DepositBaseFen:     a.DepositBaseFen,
		MonthlyPersonalFen: a.MonthlyPersonal,
		MonthlyUnitFen:     a.MonthlyUnit,
		PersonalRateBP:     a.PersonalRateBP,
		UnitRateBP:         a.UnitRateBP,
		EmployerName:       a.UnitName,
		OpenedOn:           a.OpenedOn,
		LastDepositMonth:   a.LastDepositMonth,
		CarryOverFen:       a.CarryOverFen,
		CurrentYearFen:     a.CurrentYearFen,
	}
}

// loanView shapes a core loan; a person without a loan shows nothing else.
func loanView(l core.Loan) LoanView {
	if !l.HasLoan {
		return LoanView{}
	}
	return LoanView{
		HasLoan:        true,
		PrincipalFen:   l.PrincipalFen,
		OutstandingFen: l.OutstandingFen,
		AnnualRateBP:   l.AnnualRateBP,
		Months:         l.Months,
		Method:         l.Method,
		MethodLabelKey: methodLabelKey(l.Method),
		StartedOn:      l.StartedOn,
		NextDueOn:      l.NextDueOn,
		NextPaymentFen: l.NextPaymentFen,
		OverduePeriods: l.OverduePeriods,
		ArrearsFen:     l.ArrearsFen,
		PenaltyFen:     l.PenaltyFen,
		Settled:        l.Settled,
	}
}
