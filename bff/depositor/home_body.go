package depositor

import (
	"strings"

	"handheld/services"
	"handheld/services/account"
)

// HomeHolder greets the person by their masked name.
type HomeHolder struct {
	Name string `json:"name"`
}

// HomeAccount is the account summary on the home screen.
type HomeAccount struct {
	AccountNumber     string `json:"account_number"`
	Status            string `json:"status"`
	StatusLabel       string `json:"status_label"`
	BalanceFen        int64  `json:"balance_fen"`
	MonthlyDepositFen int64  `json:"monthly_deposit_fen"` // personal and unit shares together
	LastDepositMonth  string `json:"last_deposit_month,omitempty"`
}

// HomeECard says whether the e-card can be shown.
type HomeECard struct {
	Available bool `json:"available"`
}

// HomeLoan is the loan summary on the home screen.
type HomeLoan struct {
	HasLoan bool `json:"has_loan"`
	*LoanDetails
}

// HomeApplication is an application in progress.
type HomeApplication struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Type        string `json:"type"`
	CaseNumber  string `json:"case_number"`
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	SubmittedAt string `json:"submitted_at"`
	DueOn       string `json:"due_on"`
}

// HomeBody is GET /api/v1/me/home. A part named in degraded is absent
// (ecard goes with account); notice then tells the person, in their
// language, what cannot be shown.
type HomeBody struct {
	Holder       *HomeHolder       `json:"holder,omitempty"`
	Account      *HomeAccount      `json:"account,omitempty"`
	ECard        *HomeECard        `json:"ecard,omitempty"`
	Loan         *HomeLoan         `json:"loan,omitempty"`
	Applications []HomeApplication `json:"applications"`
	Degraded     []string          `json:"degraded"`
	Notice       string            `json:"notice,omitempty"`
	AsOf         string            `json:"as_of"`
	Stale        bool              `json:"stale"`
	Maintenance  *HomeMaintenance  `json:"maintenance,omitempty"`
	// UnreadMessages is the message centre's unread count, absent only
	// when it cannot be read.
	UnreadMessages *int `json:"unread_messages,omitempty"`
}

// HomeMaintenance says, during the core's maintenance window, when live
// figures return: Until from the core's Retry-After, and Message in the
// person's language, so the screen need not compose it.
type HomeMaintenance struct {
	Until   string `json:"until"`
	Message string `json:"message"`
}

func homeBody(v account.HomeView, t translate) HomeBody {
	b := HomeBody{Applications: make([]HomeApplication, 0, len(v.Applications)), Degraded: []string{},
		AsOf: services.Instant(v.AsOf), Stale: v.Stale}
	if v.Holder != nil {
		b.Holder = &HomeHolder{Name: v.Holder.Name}
	}
	if a := v.Account; a != nil {
		b.Account = &HomeAccount{AccountNumber: a.AccountNumber, Status: a.Status, StatusLabel: t(a.StatusLabelKey, nil),
			BalanceFen: a.BalanceFen, MonthlyDepositFen: a.MonthlyPersonalFen + a.MonthlyUnitFen, LastDepositMonth: a.LastDepositMonth}
	}
	if v.ECard != nil {
		b.ECard = &HomeECard{Available: v.ECard.Available}
	}
	if v.Loan != nil {
		b.Loan = &HomeLoan{HasLoan: v.Loan.HasLoan, LoanDetails: loanDetails(*v.Loan, t)}
	}
	for _, a := range v.Applications {
		b.Applications = append(b.Applications, HomeApplication{ID: a.ID, Kind: a.Kind, Type: a.Type, CaseNumber: a.CaseNumber,
			Status: a.Status, StatusLabel: t(a.Kind+".status."+a.Status, nil), SubmittedAt: services.Instant(a.SubmittedAt), DueOn: a.DueOn})
	}
	if len(v.Degraded) > 0 {
		b.Degraded = v.Degraded
		labels := make([]string, 0, len(v.Degraded))
		for _, part := range v.Degraded {
			labels = append(labels, t("home.part."+part, nil))
		}
		b.Notice = t("home.degraded", map[string]any{"parts": strings.Join(labels, t("list.separator", nil))})
	}
	if !v.MaintenanceUntil.IsZero() {
		b.Maintenance = &HomeMaintenance{Until: services.Instant(v.MaintenanceUntil),
			Message: t("home.maintenance", map[string]any{"time": v.MaintenanceUntil.In(services.CentreTime).Format("15:04")})}
	}
	return b
}
