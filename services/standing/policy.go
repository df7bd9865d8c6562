package standing

import (
	"fmt"
	"maps"
	"slices"

	"handheld/services/withdrawal"
)

// Policy is what a centre allows for one kind's standing withdrawal
// (policy as data: standing_withdrawals.<kind> in the configuration).
type Policy struct {
	// CapPerMonthFen caps each month's application; a sign-up above it,
	// or above the kind's own caps, is refused.
	CapPerMonthFen int64 `yaml:"cap_per_month_fen"`
	// DayOfMonth is the first day of a month (1..28, Asia/Shanghai) on
	// which the month's application is made.
	DayOfMonth int `yaml:"day_of_month"`
	// ReconfirmEveryMonths: the person confirms the standing withdrawal
	// again so many months after the last confirmation (sign-up counts);
	// past due it pauses, with a message, until they do. 0: never.
	ReconfirmEveryMonths int `yaml:"reconfirm_every_months"`
}

// Policies are the kinds that allow a standing withdrawal, by kind name;
// a kind not listed allows none.
type Policies map[string]Policy

// DefaultPolicies allow a monthly rent withdrawal of at most 2,000 yuan
// (a twelfth of the default rent year cap), made from the 1st of each
// month, confirmed again every 12 months.
func DefaultPolicies() Policies {
	return Policies{withdrawal.KindRent: {CapPerMonthFen: 2000 * 100, DayOfMonth: 1, ReconfirmEveryMonths: 12}}
}

// Validate names the first setting that makes no sense against the
// withdrawal kinds, as standing_withdrawals.<kind>.<field>.
func (ps Policies) Validate(kinds withdrawal.Policies) error {
	for _, kind := range slices.Sorted(maps.Keys(ps)) {
		p := ps[kind]
		at := "standing_withdrawals." + kind
		k, ok := kinds.Policy(kind)
		switch {
		case !ok:
			return fmt.Errorf("%s: %q is not a withdrawal kind (%v)", at, kind, kinds.KindNames())
		case k.ClosesAccount:
			return fmt.Errorf("%s: a kind that closes the account cannot repeat monthly", at)
		case len(k.Required()) > 0:
			return fmt.Errorf("%s: the kind needs evidence documents, which no monthly application can carry", at)
		case p.CapPerMonthFen < kinds.MinPerTransactionFen || p.CapPerMonthFen > kinds.MaxPerTransactionFen:
			return fmt.Errorf("%s.cap_per_month_fen: between withdrawals.min_per_transaction_fen and max_per_transaction_fen", at)
		case p.DayOfMonth < 1 || p.DayOfMonth > 28:
			return fmt.Errorf("%s.day_of_month: between 1 and 28", at)
		case p.ReconfirmEveryMonths < 0 || p.ReconfirmEveryMonths > 120:
			return fmt.Errorf("%s.reconfirm_every_months: between 0 (never) and 120", at)
		}
	}
	return nil
}

// maxAmount is the most one month may ask for under kind's caps and p's.
func maxAmount(p Policy, k withdrawal.Policy, kinds withdrawal.Policies) int64 {
	top := min(p.CapPerMonthFen, kinds.MaxPerTransactionFen)
	for _, c := range []int64{k.CapPerApplicationFen, k.CapPerMonthFen, k.CapPerYearFen} {
		if c > 0 {
			top = min(top, c)
		}
	}
	return top
}
