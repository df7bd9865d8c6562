package withdrawal

import (
	"slices"
	"time"

	"handheld/services"
	"handheld/services/core"
)

// Reason codes of an ineligible answer; each has a text
// withdrawal.reason.<code> in locales/, filled with Params.
const (
	ReasonInFlight            = "in_flight"            // an application of this kind is in progress
	ReasonAccountStatus       = "account_status"       // {status}: this kind needs another account status (a Text: its label)
	ReasonContinuity          = "continuity"           // {months, required}: too few unbroken months of deposits
	ReasonNoLoan              = "no_loan"              // loan repayment without an outstanding loan
	ReasonNotRetired          = "not_retired"          // {age}: below the retirement age
	ReasonTooFrequent         = "too_frequent"         // {months, next_on}: once per so many months
	ReasonInsufficientBalance = "insufficient_balance" // {min_yuan}: less than the smallest withdrawal is free
	ReasonCapReached          = "cap_reached"          // {period}: month, year or day limit used up
	ReasonOtherInFlight       = "other_in_flight"      // closing the account while another application runs
	ReasonOverPlatformLimit   = "over_platform_limit"  // {max_yuan}: the whole balance exceeds what may be paid online
	ReasonChannel             = "channel"              // this kind is not offered on the caller's channel (Policy.Channels)
)

// Reason is one ground for refusing a kind, for the person to read.
type Reason struct {
	Code   string
	Params map[string]any
}

// Eligibility is the answer to "may I withdraw for this kind, and how much".
// MaxAmountFen is 0 when not eligible; for a kind that closes the account
// it is the exact amount to apply for (the whole balance).
type Eligibility struct {
	Kind         string
	Eligible     bool
	MaxAmountFen int64
	Reasons      []Reason
	Stale        bool // judged on remembered core data: the core decides again
}

// Facts are what eligibility is judged on: the core's account, loan and
// recent withdrawal entries, the person's age and sex from their ID number,
// and their own applications still in flight here.
type Facts struct {
	Account core.Account
	Loan    core.Loan
	// Withdrawals are the ledger's withdrawal entries of the last 13
	// months or more, any kind.
	Withdrawals []core.Deposit
	Birth       time.Time
	Male        bool
	// Ledger is what the same ledger read says of the balance and of
	// which applications it has paid.
	Ledger Ledger
	// Open are this person's applications accepted but not finished;
	// Paid those paid in the last 13 months, which count until the
	// ledger shows them.
	Open []Open
	Paid []Open
	Now  time.Time
}

// Ledger is one read of the ledger: the balance after its newest entry and
// the applications its withdrawal entries paid. An application's amount
// is reserved until this shows it paid: balance and payments come from one
// answer, so a payment is never subtracted twice nor missed.
type Ledger struct {
	Known      bool // there was an entry to take the balance from
	BalanceFen int64
	Paid       map[string]bool // application ids
}

// Open is one application in flight (or paid, in Facts.Paid).
type Open struct {
	ID        string
	Kind      string
	AmountFen int64
	At        time.Time
}

// Evaluate judges kind for a person: every rule that fails gives a reason,
// so the person learns everything in one answer.
func (ps Policies) Evaluate(p Policy, f Facts) Eligibility {
	now := f.Now.In(services.CentreTime)
	out := Eligibility{Kind: p.Kind}
	add := func(code string, params map[string]any) {
		out.Reasons = append(out.Reasons, Reason{Code: code, Params: params})
	}
	var openTotal, openKind, openToday int64
	for _, o := range f.Open {
		openTotal += o.AmountFen
		if o.Kind == p.Kind {
			openKind += o.AmountFen
		}
		if sameDay(o.At.In(services.CentreTime), now) {
			openToday += o.AmountFen
		}
	}
	if slices.ContainsFunc(f.Open, func(o Open) bool { return o.Kind == p.Kind }) {
		add(ReasonInFlight, nil)
	}
	if !slices.Contains(p.Statuses, f.Account.Status) {
		add(ReasonAccountStatus, map[string]any{"status": services.Text{Key: "status.account." + f.Account.Status}})
	}
	if f.Account.ContinuousMonths < p.MinContinuousMonths {
		add(ReasonContinuity, map[string]any{"months": f.Account.ContinuousMonths, "required": p.MinContinuousMonths})
	}
	if p.RequiresLoan && (!f.Loan.HasLoan || f.Loan.Settled || f.Loan.OutstandingFen <= 0) {
		add(ReasonNoLoan, nil)
	}
	if p.RequiresRetirementAge {
		age := ps.RetirementAgeWomen
		if f.Male {
			age = ps.RetirementAgeMen
		}
		if f.Birth.IsZero() || yearsBetween(f.Birth, now) < age {
			add(ReasonNotRetired, map[string]any{"age": age})
		}
	}
	if p.IntervalMonths > 0 {
		last, ok := lastOfKind(f.Withdrawals, p.CoreKind)
		for _, x := range f.Paid {
			if x.Kind == p.Kind && x.At.After(last) {
				last, ok = x.At.In(services.CentreTime), true
			}
		}
		if ok {
			next := last.AddDate(0, p.IntervalMonths, 0)
			if now.Before(next) {
				add(ReasonTooFrequent, map[string]any{"months": p.IntervalMonths, "next_on": next.Format(time.DateOnly)})
			}
		}
	}
	if p.ClosesAccount && openTotal-openKind > 0 {
		add(ReasonOtherInFlight, nil)
	}

	// How much: what is free of the balance, within every cap. Every
	// application in flight, and every one paid that the ledger does not
	// show yet, holds its amount.
	balance := f.Account.BalanceFen
	if f.Ledger.Known {
		balance = f.Ledger.BalanceFen
	}
	shown := ps.shown(f)
	var reserved int64
	for _, o := range slices.Concat(f.Open, f.Paid) {
		if !shown[o.ID] {
			reserved += o.AmountFen
		}
	}
	free := balance - p.KeepBalanceFen - reserved
	limit, capped := free, ""
	lower := func(v int64, period string) {
		if v < limit {
			limit, capped = v, period
		}
	}
	monthUsed, yearUsed, dayUsed := usage(f.Withdrawals, p.CoreKind, now)
	// Paid here after the ledger's last withdrawal: not in the ledger yet.
	var ledgerLast time.Time
	for _, e := range f.Withdrawals {
		if on, err := time.ParseInLocation(time.DateOnly, e.PostedOn, services.CentreTime); err == nil && on.After(ledgerLast) {
			ledgerLast = on
		}
	}
	for _, x := range f.Paid {
		at := x.At.In(services.CentreTime)
		if shown[x.ID] || !at.After(ledgerLast.AddDate(0, 0, 1)) {
			continue
		}
		if sameDay(at, now) {
			dayUsed += x.AmountFen
		}
		if x.Kind == p.Kind && at.Year() == now.Year() {
			yearUsed += x.AmountFen
			if at.Month() == now.Month() {
				monthUsed += x.AmountFen
			}
		}
	}
	if p.CapPerApplicationFen > 0 {
		lower(p.CapPerApplicationFen, "")
	}
	if p.CapPerMonthFen > 0 {
		lower(p.CapPerMonthFen-monthUsed-openKind, "month")
	}
	if p.CapPerYearFen > 0 {
		lower(p.CapPerYearFen-yearUsed-openKind, "year")
	}
	lower(ps.DailyLimitFen-dayUsed-openToday, "day")
	if p.RequiresLoan && f.Loan.HasLoan {
		lower(f.Loan.OutstandingFen, "")
	}
	switch {
	case p.ClosesAccount:
		limit = f.Account.BalanceFen
		if top := min(ps.MaxPerTransactionFen, ps.DailyLimitFen-dayUsed); limit > top {
			add(ReasonOverPlatformLimit, map[string]any{"max_yuan": services.Yuan(top, ",")})
		}
	default:
		lower(ps.MaxPerTransactionFen, "")
	}
	if limit < ps.MinPerTransactionFen {
		if free < ps.MinPerTransactionFen || capped == "" {
			add(ReasonInsufficientBalance, map[string]any{"min_yuan": services.Yuan(ps.MinPerTransactionFen, ",")})
		} else {
			add(ReasonCapReached, map[string]any{"period": capped})
		}
	}
	out.Eligible = len(out.Reasons) == 0
	if out.Eligible {
		out.MaxAmountFen = limit
	}
	return out
}

// shown is the set of the person's applications the ledger shows paid:
// those its entries name, and each paid one that an entry naming no
// application (posted before ledgers named them, or by a core that does
// not) matches by kind and amount, one entry for one application.
func (ps Policies) shown(f Facts) map[string]bool {
	out := map[string]bool{}
	for _, o := range slices.Concat(f.Open, f.Paid) {
		if f.Ledger.Paid[o.ID] {
			out[o.ID] = true
		}
	}
	used := make([]bool, len(f.Withdrawals))
	for _, o := range f.Paid {
		if out[o.ID] {
			continue
		}
		pol, _ := ps.Policy(o.Kind)
		for i, e := range f.Withdrawals {
			if !used[i] && e.ApplicationID == "" && e.WithdrawalKind == pol.CoreKind && -e.AmountFen == o.AmountFen {
				used[i], out[o.ID] = true, true
				break
			}
		}
	}
	return out
}

// admit refuses r when el does not allow it: not eligible, an amount out
// of bounds (evidence is gather's).
func (s *Service) admit(pol Policy, el Eligibility, r Request) error {
	if !el.Eligible {
		if len(el.Reasons) > 0 && el.Reasons[0].Code == ReasonInFlight {
			return services.Errorf(services.CodeWithdrawalInFlight, "withdrawal: %s in flight", pol.Kind)
		}
		return &services.Error{Code: services.CodeWithdrawalNotEligible, Params: map[string]any{"reasons": Texts(el.Reasons)}}
	}
	switch {
	case r.AmountFen < s.Policies.MinPerTransactionFen:
		return services.Invalid(services.FieldError{Field: "amount_fen", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": s.Policies.MinPerTransactionFen, "max": el.MaxAmountFen}})
	case pol.ClosesAccount && r.AmountFen != el.MaxAmountFen:
		return services.Invalid(services.FieldError{Field: "amount_fen", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": el.MaxAmountFen, "max": el.MaxAmountFen}})
	case r.AmountFen > el.MaxAmountFen:
		return &services.Error{Code: services.CodeWithdrawalAmountOverLimit,
			Params: map[string]any{"max_yuan": services.Yuan(el.MaxAmountFen, ","), "max_amount_fen": el.MaxAmountFen}}
	}
	return nil
}

// usage sums the ledger's withdrawals of coreKind this month and this year,
// and of every kind today (the platform's daily limit is per person).
func usage(entries []core.Deposit, coreKind string, now time.Time) (month, year, day int64) {
	for _, e := range entries {
		on, err := time.ParseInLocation(time.DateOnly, e.PostedOn, services.CentreTime)
		if err != nil || e.Kind != core.KindWithdrawal {
			continue
		}
		amount := -e.AmountFen
		if sameDay(on, now) {
			day += amount
		}
		if e.WithdrawalKind != coreKind || on.Year() != now.Year() {
			continue
		}
		year += amount
		if on.Month() == now.Month() {
			month += amount
		}
	}
	return month, year, day
}

// lastOfKind is the date of the latest withdrawal entry of coreKind.
func lastOfKind(entries []core.Deposit, coreKind string) (time.Time, bool) {
	var last time.Time
	for _, e := range entries {
		if e.Kind != core.KindWithdrawal || e.WithdrawalKind != coreKind {
			continue
		}
		if on, err := time.ParseInLocation(time.DateOnly, e.PostedOn, services.CentreTime); err == nil && on.After(last) {
			last = on
		}
	}
	return last, !last.IsZero()
}

// birthAndSex reads a GB 11643 ID number: birth date in digits 7–14, odd
// 17th digit for men.
func birthAndSex(id string) (time.Time, bool, bool) {
	if len(id) != 18 {
		return time.Time{}, false, false
	}
	birth, err := time.ParseInLocation("20060102", id[6:14], services.CentreTime)
	if err != nil || id[16] < '0' || id[16] > '9' {
		return time.Time{}, false, false
	}
	return birth, (id[16]-'0')%2 == 1, true
}

// yearsBetween is a person's age in whole years on day at.
func yearsBetween(birth, at time.Time) int {
	years := at.Year() - birth.Year()
	if at.Month() < birth.Month() || at.Month() == birth.Month() && at.Day() < birth.Day() {
		years--
	}
	return years
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}
