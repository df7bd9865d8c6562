package reminder

import (
	"slices"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/core"
)

// Hit is a person a rule matches, with what its message says.
type Hit struct {
	Subject   string
	AmountFen int64
	Values    map[string]string
}

// Facts are what a rule is decided on for one person: the core's facts
// and, for certificate_expiring, the earliest expiry of their
// certificates due (zero for none).
type Facts struct {
	Core    core.ReminderFacts
	Expires time.Time
}

// Match decides whether r tells a person with facts f at now, and with
// which values. It is pure: the table tests and the dry run use it as the
// job does.
func (r Rule) Match(f Facts, now time.Time) (amountFen int64, values map[string]string, ok bool) {
	c := f.Core
	today := dayOf(now)
	thisMonth := monthIndex(now.In(services.CentreTime).Format("2006-01"))
	switch r.When {
	case LoanInstalmentDue:
		due, err := time.ParseInLocation(time.DateOnly, c.NextDueOn, services.CentreTime)
		if err != nil {
			return 0, nil, false
		}
		days := int(due.Sub(today).Hours() / 24)
		if days < 0 || days > r.Params.DaysBefore {
			return 0, nil, false
		}
		return c.NextPaymentFen, map[string]string{"due_on": c.NextDueOn, "days": strconv.Itoa(days)}, true
	case DepositArrived:
		if !c.HasAccount || monthIndex(c.LastDepositMonth) != thisMonth-1 {
			return 0, nil, false
		}
		return c.LastDepositFen, map[string]string{"month": c.LastDepositMonth}, true
	case CertificateExpiring:
		if f.Expires.IsZero() || !f.Expires.After(now) {
			return 0, nil, false
		}
		days := int(dayOf(f.Expires).Sub(today).Hours() / 24)
		if days > r.Params.DaysBefore {
			return 0, nil, false
		}
		return 0, map[string]string{"expires_on": f.Expires.In(services.CentreTime).Format(time.DateOnly),
			"days": strconv.Itoa(days)}, true
	case RentEligible:
		// Deposited up to last month, the run just long enough.
		if c.Status != core.StatusNormal || monthIndex(c.LastDepositMonth) != thisMonth-1 ||
			c.ContinuousMonths < r.Params.MinContinuousMonths || c.ContinuousMonths > r.Params.MaxContinuousMonths {
			return 0, nil, false
		}
		return 0, map[string]string{"months": strconv.Itoa(c.ContinuousMonths)}, true
	case AccountSealed:
		last := monthIndex(c.LastDepositMonth)
		if c.Status != core.StatusSealed || last == 0 {
			return 0, nil, false
		}
		months := thisMonth - last - 1 // complete months without a deposit
		if months < r.Params.SealedMonths {
			return 0, nil, false
		}
		return 0, map[string]string{"months": strconv.Itoa(months), "month": c.LastDepositMonth}, true
	case PolicyChange:
		if !c.HasAccount || !slices.ContainsFunc(r.Params.AccountStatuses, func(s string) bool { return statusCodes[s] == c.Status }) {
			return 0, nil, false
		}
		return 0, map[string]string{}, true
	}
	return 0, nil, false
}

// dayOf is the start of t's day in the centre's time.
func dayOf(t time.Time) time.Time {
	y, m, d := t.In(services.CentreTime).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, services.CentreTime)
}

// monthIndex is a YYYY-MM month as a count of months; 0 for none.
func monthIndex(s string) int {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return 0
	}
	return t.Year()*12 + int(t.Month()) - 1
}
