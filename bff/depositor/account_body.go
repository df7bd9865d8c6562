package depositor

import (
	"handheld/services"
	"handheld/services/account"
)

// The JSON bodies of the account screens, as bff/openapi.yaml publishes
// them. Labels are localized here from the views' label keys; instants are
// RFC 3339 in Asia/Shanghai; money is fen.

// translate is a label lookup in the caller's language.
type translate func(key string, params map[string]any) string

// AccountHolder is the holder on the account screen, masked per channel.
type AccountHolder struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
}

// AccountBody is GET /api/v1/me/account.
type AccountBody struct {
	Holder             AccountHolder `json:"holder"`
	AccountNumber      string        `json:"account_number"`
	Status             string        `json:"status"`
	StatusLabel        string        `json:"status_label"`
	BalanceFen         int64         `json:"balance_fen"`
	DepositBaseFen     int64         `json:"deposit_base_fen"`
	MonthlyPersonalFen int64         `json:"monthly_personal_fen"`
	MonthlyUnitFen     int64         `json:"monthly_unit_fen"`
	PersonalRateBP     int           `json:"personal_rate_bp"`
	UnitRateBP         int           `json:"unit_rate_bp"`
	EmployerName       string        `json:"employer_name"`
	OpenedOn           string        `json:"opened_on"`
	LastDepositMonth   string        `json:"last_deposit_month,omitempty"`
	CarryOverFen       int64         `json:"carry_over_fen"`
	CurrentYearFen     int64         `json:"current_year_fen"`
	AsOf               string        `json:"as_of"`
	Stale              bool          `json:"stale"`
}

func accountBody(v account.AccountView, t translate) AccountBody {
	return AccountBody{
		Holder:        AccountHolder{Name: v.Holder.Name, IDNumber: v.Holder.IDNumber},
		AccountNumber: v.AccountNumber, Status: v.Status, StatusLabel: t(v.StatusLabelKey, nil),
		BalanceFen: v.BalanceFen, DepositBaseFen: v.DepositBaseFen,
		MonthlyPersonalFen: v.MonthlyPersonalFen, MonthlyUnitFen: v.MonthlyUnitFen,
		PersonalRateBP: v.PersonalRateBP, UnitRateBP: v.UnitRateBP, EmployerName: v.EmployerName,
		OpenedOn: v.OpenedOn, LastDepositMonth: v.LastDepositMonth,
		CarryOverFen: v.CarryOverFen, CurrentYearFen: v.CurrentYearFen,
		AsOf: services.Instant(v.AsOf), Stale: v.Stale,
	}
}

// DepositEntry is one line of the deposit history.
type DepositEntry struct {
	ID              string `json:"id"`
	Month           string `json:"month"`
	PostedOn        string `json:"posted_on"`
	Kind            string `json:"kind"`
	KindLabel       string `json:"kind_label"`
	AmountFen       int64  `json:"amount_fen"`
	BalanceAfterFen int64  `json:"balance_after_fen"`
}

// DepositsBody is GET /api/v1/me/deposits: one page and the range it
// covers, defaults applied.
type DepositsBody struct {
	From       string         `json:"from"`
	To         string         `json:"to"`
	Items      []DepositEntry `json:"items"`
	NextCursor string         `json:"next_cursor,omitempty"`
	AsOf       string         `json:"as_of"`
	Stale      bool           `json:"stale"`
}

func depositsBody(v account.DepositsView, t translate) DepositsBody {
	b := DepositsBody{From: v.From, To: v.To, Items: make([]DepositEntry, 0, len(v.Items)),
		NextCursor: v.NextCursor, AsOf: services.Instant(v.AsOf), Stale: v.Stale}
	for _, e := range v.Items {
		b.Items = append(b.Items, DepositEntry{ID: e.ID, Month: e.Month, PostedOn: e.PostedOn, Kind: e.Kind,
			KindLabel: t(e.KindLabelKey, nil), AmountFen: e.AmountFen, BalanceAfterFen: e.BalanceAfterFen})
	}
	return b
}

// LoanDetails are the loan's figures, present only when there is a loan.
type LoanDetails struct {
	PrincipalFen   int64  `json:"principal_fen"`
	OutstandingFen int64  `json:"outstanding_fen"`
	AnnualRateBP   int    `json:"annual_rate_bp"`
	Months         int    `json:"months"`
	Method         string `json:"method"`
	MethodLabel    string `json:"method_label"`
	StartedOn      string `json:"started_on"`
	NextDueOn      string `json:"next_due_on,omitempty"`
	NextPaymentFen int64  `json:"next_payment_fen"`
	OverduePeriods int    `json:"overdue_periods"`
	// ArrearsFen and PenaltyFen: the overdue instalments and their
	// penalty interest to date (issue 21), 0 without arrears.
	ArrearsFen int64 `json:"arrears_fen"`
	PenaltyFen int64 `json:"penalty_fen"`
	Settled    bool  `json:"settled"`
}

// LoanBody is GET /api/v1/me/loan; without a loan it is only has_loan
// false and the freshness.
type LoanBody struct {
	HasLoan bool `json:"has_loan"`
	*LoanDetails
	AsOf  string `json:"as_of"`
	Stale bool   `json:"stale"`
}

func loanDetails(v account.LoanView, t translate) *LoanDetails {
	if !v.HasLoan {
		return nil
	}
	return &LoanDetails{
		PrincipalFen: v.PrincipalFen, OutstandingFen: v.OutstandingFen, AnnualRateBP: v.AnnualRateBP, Months: v.Months,
		Method: v.Method, MethodLabel: t(v.MethodLabelKey, nil), StartedOn: v.StartedOn, NextDueOn: v.NextDueOn,
		NextPaymentFen: v.NextPaymentFen, OverduePeriods: v.OverduePeriods, ArrearsFen: v.ArrearsFen, PenaltyFen: v.PenaltyFen,
		Settled: v.Settled,
	}
}

func loanBody(v account.LoanView, t translate) LoanBody {
	return LoanBody{HasLoan: v.HasLoan, LoanDetails: loanDetails(v, t), AsOf: services.Instant(v.AsOf), Stale: v.Stale}
}

// Instalment is one row of the repayment plan.
type Instalment struct {
	Period       int    `json:"period"`
	DueOn        string `json:"due_on"`
	PaymentFen   int64  `json:"payment_fen"`
	PrincipalFen int64  `json:"principal_fen"`
	InterestFen  int64  `json:"interest_fen"`
	RemainingFen int64  `json:"remaining_fen"`
	Status       string `json:"status"`
	StatusLabel  string `json:"status_label"`
}

// ScheduleBody is GET /api/v1/me/loan/schedule.
type ScheduleBody struct {
	Items      []Instalment `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
	AsOf       string       `json:"as_of"`
	Stale      bool         `json:"stale"`
}

func scheduleBody(v account.ScheduleView, t translate) ScheduleBody {
	b := ScheduleBody{Items: make([]Instalment, 0, len(v.Items)), NextCursor: v.NextCursor, AsOf: services.Instant(v.AsOf), Stale: v.Stale}
	for _, in := range v.Items {
		b.Items = append(b.Items, Instalment{Period: in.Period, DueOn: in.DueOn, PaymentFen: in.PaymentFen,
			PrincipalFen: in.PrincipalFen, InterestFen: in.InterestFen, RemainingFen: in.RemainingFen,
			Status: in.Status, StatusLabel: t(in.StatusLabelKey, nil)})
	}
	return b
}

// instant writes a time as RFC 3339 with the centre's offset.
