package share

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/core"
)

// The predicates: a fixed set, each a yes/no question about the person's
// HPF account (docs/api.md § Shares). Adding one is a new constant here,
// its check in checkValue and its answer in answer.
const (
	// ContinuousMonthsAtLeast(n): the person has deposited without a gap
	// for at least n months, up to a month no older than the policy's
	// recent_months (a run that ended long ago does not count).
	ContinuousMonthsAtLeast = "continuous_months_at_least"
	// MonthlyDepositAtLeast(fen): the monthly deposit (personal and unit
	// together) is at least fen, on an account still deposited into
	// (normal or frozen; a sealed account deposits nothing).
	MonthlyDepositAtLeast = "monthly_deposit_at_least"
	// BalanceAtLeast(fen): the account's balance is at least fen.
	BalanceAtLeast = "balance_at_least"
	// AccountStatusIs(normal|sealed|frozen|closed): the account's status.
	AccountStatusIs = "account_status_is"
	// HasNoOutstandingLoan: no HPF loan with money owing (none, or settled).
	HasNoOutstandingLoan = "has_no_outstanding_hpf_loan"
	// EmployedBy(unit_code): the account is held and deposited through
	// that unit (normal or frozen; sealed means the person has left it).
	EmployedBy = "employed_by"
)

// Names lists every predicate, in the order above.
func Names() []string {
	return []string{ContinuousMonthsAtLeast, MonthlyDepositAtLeast, BalanceAtLeast, AccountStatusIs, HasNoOutstandingLoan, EmployedBy}
}

// The account statuses account_status_is may name.
const (
	StatusNormal = "normal"
	StatusSealed = "sealed"
	StatusFrozen = "frozen"
	StatusClosed = "closed"
)

// Statuses lists them.
func Statuses() []string { return []string{StatusNormal, StatusSealed, StatusFrozen, StatusClosed} }

// Bounds of the numeric values.
const (
	MaxMonths = 600                 // 50 years
	MaxFen    = 100_000_000_000_000 // a trillion yuan: more than any account holds
)

// Answer is a predicate's answer: never a figure.
type Answer string

// The answers. CannotTell is the honest answer when the core cannot be
// asked (an outage, its maintenance window, a remembered answer) or does
// not hold the fact.
const (
	Yes        Answer = "yes"
	No         Answer = "no"
	CannotTell Answer = "cannot_tell"
)

// Predicate is one question: its name and value, an int64 (months, fen),
// a string (a status, a unit code) or nil (has_no_outstanding_hpf_loan).
type Predicate struct {
	Name  string
	Value any
}

// Result is a predicate with its answer.
type Result struct {
	Predicate
	Answer Answer
}

// Check validates a list of predicates for party: between one and one of
// each, known names, no name twice, values of the right type and range,
// and every one allowed to the party. Field errors name the list's index
// (predicates.1.value); a predicate the party may not ask is
// share.predicate_not_allowed.
func Check(preds []Predicate, party Party) error {
	if len(preds) == 0 || len(preds) > len(Names()) {
		return services.Invalid(services.FieldError{Field: "predicates", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": 1, "max": len(Names())}})
	}
	var fields []services.FieldError
	first := map[string]int{}
	for i, p := range preds {
		at := fmt.Sprintf("predicates.%d", i)
		if !slices.Contains(Names(), p.Name) {
			fields = append(fields, services.FieldError{Field: at + ".name", Code: services.FieldOneOf,
				Params: map[string]any{"allowed": Names()}})
			continue
		}
		if j, dup := first[p.Name]; dup {
			fields = append(fields, services.FieldError{Field: at + ".name", Code: services.FieldDuplicate,
				Params: map[string]any{"first": fmt.Sprintf("predicates.%d.name", j)}})
			continue
		}
		first[p.Name] = i
		if fe := checkValue(p); fe != nil {
			fe.Field = at + ".value"
			fields = append(fields, *fe)
		}
	}
	if len(fields) > 0 {
		return services.Invalid(fields...)
	}
	for i, p := range preds {
		if !slices.Contains(party.Predicates, p.Name) {
			return &services.Error{Code: services.CodeSharePredicateNotAllowed,
				Fields: []services.FieldError{{Field: fmt.Sprintf("predicates.%d.name", i), Code: services.FieldOneOf,
					Params: map[string]any{"allowed": party.Predicates}}}}
		}
	}
	return nil
}

// checkValue checks one known predicate's value; the field is filled in
// by the caller.
func checkValue(p Predicate) *services.FieldError {
	integer := func(lo, hi int64) *services.FieldError {
		n, ok := p.Value.(int64)
		if !ok {
			return &services.FieldError{Code: "type", Params: map[string]any{"expected": "integer"}}
		}
		if n < lo || n > hi {
			return &services.FieldError{Code: services.FieldOutOfRange, Params: map[string]any{"min": lo, "max": hi}}
		}
		return nil
	}
	switch p.Name {
	case ContinuousMonthsAtLeast:
		return integer(1, MaxMonths)
	case MonthlyDepositAtLeast, BalanceAtLeast:
		return integer(1, MaxFen)
	case AccountStatusIs:
		v, ok := p.Value.(string)
		if !ok {
			return &services.FieldError{Code: "type", Params: map[string]any{"expected": "string"}}
		}
		if !slices.Contains(Statuses(), v) {
			return &services.FieldError{Code: services.FieldOneOf, Params: map[string]any{"allowed": Statuses()}}
		}
	case EmployedBy:
		v, ok := p.Value.(string)
		if !ok {
			return &services.FieldError{Code: "type", Params: map[string]any{"expected": "string"}}
		}
		if err := services.ValidateUnitCode(v); err != nil {
			return &services.FieldError{Code: services.FieldCode(err)}
		}
	case HasNoOutstandingLoan:
		if p.Value != nil {
			return &services.FieldError{Code: services.FieldFormat, Params: map[string]any{"expected": "none"}}
		}
	}
	return nil
}

// facts is what the core answered, fresh, for one person: account is
// set when the account was read (noAccount when the person has none),
// loanOK when the loan was.
type facts struct {
	account, noAccount   bool
	acc                  core.Account
	loanOK, hasLoanOwing bool
}

// evaluate answers preds for subject from the core, fresh answers only:
// whatever cannot be asked now, or is only remembered, is cannot_tell.
func (s *Service) evaluate(ctx context.Context, subject string, preds []Predicate) []Result {
	needAccount := slices.ContainsFunc(preds, func(p Predicate) bool { return p.Name != HasNoOutstandingLoan })
	needLoan := slices.ContainsFunc(preds, func(p Predicate) bool { return p.Name == HasNoOutstandingLoan })
	var f facts
	personID, err := s.People.PersonID(ctx, subject)
	if err == nil {
		if needAccount {
			acc, fr, err := s.Reader.Account(ctx, personID)
			switch {
			case services.ErrorCode(err) == services.CodeAccountNotFound:
				f.account, f.noAccount = true, true
			case err == nil && !fr.Stale:
				f.account, f.acc = true, acc
			case err != nil:
				s.Logger.WarnContext(ctx, "share: account not read", "cause", err.Error())
			}
		}
		if needLoan {
			loan, fr, err := s.Reader.Loan(ctx, personID)
			switch {
			case services.ErrorCode(err) == services.CodeAccountNotFound:
				f.loanOK = true // no account, no loan
			case err == nil && !fr.Stale:
				f.loanOK, f.hasLoanOwing = true, loan.HasLoan && !loan.Settled && loan.OutstandingFen > 0
			case err != nil:
				s.Logger.WarnContext(ctx, "share: loan not read", "cause", err.Error())
			}
		}
	} else {
		s.Logger.WarnContext(ctx, "share: person not resolved", "cause", err.Error())
	}
	out := make([]Result, 0, len(preds))
	for _, p := range preds {
		out = append(out, Result{Predicate: p, Answer: s.answer(p, f)})
	}
	return out
}

// answer is one predicate's answer from the facts.
func (s *Service) answer(p Predicate, f facts) Answer {
	yes := func(b bool) Answer {
		if b {
			return Yes
		}
		return No
	}
	if p.Name == HasNoOutstandingLoan {
		if !f.loanOK {
			return CannotTell
		}
		return yes(!f.hasLoanOwing)
	}
	if !f.account {
		return CannotTell
	}
	if f.noAccount || f.acc.AccountNumber == "" {
		return No
	}
	a := f.acc
	depositing := a.Status == core.StatusNormal || a.Status == core.StatusFrozen
	switch p.Name {
	case ContinuousMonthsAtLeast:
		n, _ := p.Value.(int64)
		return yes(int64(a.ContinuousMonths) >= n && s.recent(a.LastDepositMonth))
	case MonthlyDepositAtLeast:
		n, _ := p.Value.(int64)
		return yes(depositing && a.MonthlyPersonal+a.MonthlyUnit >= n)
	case BalanceAtLeast:
		n, _ := p.Value.(int64)
		return yes(a.BalanceFen >= n)
	case AccountStatusIs:
		v, _ := p.Value.(string)
		return yes(statusName(a.Status) == v)
	case EmployedBy:
		v, _ := p.Value.(string)
		return yes(depositing && a.UnitCode == v)
	}
	return CannotTell
}

// recent reports whether month (YYYY-MM) is no more than the policy's
// RecentMonths before this month in Shanghai.
func (s *Service) recent(month string) bool {
	m, err := time.Parse("2006-01", month)
	if err != nil {
		return false
	}
	now := s.Now().In(services.CentreTime)
	current := now.Year()*12 + int(now.Month()) - 1
	last := m.Year()*12 + int(m.Month()) - 1
	return current-last <= s.Policy.RecentMonths
}

// statusName is the predicate's name for a core account status, "" for
// one it does not name (99 other).
func statusName(code string) string {
	switch code {
	case core.StatusNormal:
		return StatusNormal
	case core.StatusSealed:
		return StatusSealed
	case core.StatusFrozen:
		return StatusFrozen
	case core.StatusClosedMerge, core.StatusClosedTransfer, core.StatusClosedWithdrawal:
		return StatusClosed
	}
	return ""
}

// errNoValue is the stored form's error for a value of no known type.
var errNoValue = errors.New("share: predicate value of an unknown type")

// storedPredicate is a predicate as stored and signed: the value a JSON
// number or string, or absent.
type storedPredicate struct {
	Name   string  `json:"name"`
	Value  any     `json:"value,omitempty"`
	Answer *Answer `json:"answer,omitempty"`
}

// encodeValue is v for JSON: int64 stays a number, a string a string.
func encodeValue(v any) (any, error) {
	switch v.(type) {
	case nil, int64, string:
		return v, nil
	}
	return nil, errNoValue
}

// decodeValue turns a stored JSON value (decoded with UseNumber) back.
func decodeValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, string:
		return x, nil
	case interface{ String() string }: // json.Number
		return strconv.ParseInt(x.String(), 10, 64)
	}
	return nil, errNoValue
}
