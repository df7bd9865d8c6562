package core

import (
	"context"
	"net/http"

	"handheld/services"
)

// PathReminderFacts answers, for a batch of persons, the few facts the
// reminder rules (services/reminder) decide on, in one call per batch
// rather than three reads per person.
const PathReminderFacts = "/core/v1/persons/reminder-facts"

// MaxReminderFacts is how many person ids one reminder-facts call may name.
const MaxReminderFacts = 500

// ReminderFactsQuery names the persons asked about (1..MaxReminderFacts,
// no duplicates).
type ReminderFactsQuery struct {
	PersonIDs []string `json:"person_ids"`
}

// ReminderFacts is what the core knows of one person that a reminder may
// be about: the account's status and deposits, and the loan's next
// instalment. Dates are Asia/Shanghai. A person without an account has
// HasAccount false and nothing else.
type ReminderFacts struct {
	PersonID   string `json:"person_id"`
	HasAccount bool   `json:"has_account"`
	Status     string `json:"status,omitempty"` // StatusNormal, StatusSealed, ...
	// LastDepositMonth is the latest month remitted for (YYYY-MM), with
	// the date it was posted and its amount; empty when none.
	LastDepositMonth string `json:"last_deposit_month,omitempty"`
	LastDepositOn    string `json:"last_deposit_on,omitempty"`
	LastDepositFen   int64  `json:"last_deposit_fen,omitempty"`
	// ContinuousMonths counts the months deposited without a gap up to
	// LastDepositMonth, as Account does.
	ContinuousMonths int `json:"continuous_months"`
	// NextDueOn and NextPaymentFen are the loan's next instalment; empty
	// without a loan or once it is settled.
	NextDueOn      string `json:"next_due_on,omitempty"`
	NextPaymentFen int64  `json:"next_payment_fen,omitempty"`
}

// ReminderFactsAnswer lists the facts of the persons asked about that the
// core knows, in no particular order; an unknown person id is left out.
type ReminderFactsAnswer struct {
	Items []ReminderFacts `json:"items"`
}

const endpointReminderFacts = "reminder_facts"

// ReminderFacts asks the core about up to MaxReminderFacts persons at once.
// It only reads, so the resilient reader may retry it.
func (c *Client) ReminderFacts(ctx context.Context, personIDs []string) ([]ReminderFacts, error) {
	if len(personIDs) == 0 {
		return nil, nil
	}
	if len(personIDs) > MaxReminderFacts {
		return nil, services.Errorf(services.CodeInternal, "core: %d person ids in one reminder-facts call, at most %d",
			len(personIDs), MaxReminderFacts)
	}
	a, err := send[ReminderFactsAnswer](ctx, c, request{endpoint: endpointReminderFacts, method: http.MethodPost,
		path: PathReminderFacts, body: ReminderFactsQuery{PersonIDs: personIDs}, notFound: services.CodePersonNotFound})
	return a.Items, err
}
