package withdrawal

import (
	"context"
	"time"

	"handheld/services"
)

// StandingTerms are how a standing (monthly) withdrawal's application
// differs from one the person makes (services/standing): once a month
// rather than the kind's interval, and at most its own cap per month.
type StandingTerms struct {
	// IntervalMonths replaces the kind's interval (1: every month).
	IntervalMonths int
	// CapPerMonthFen, when set, caps each month below the kind's caps,
	// which keep applying (per application, per year, the platform's).
	CapPerMonthFen int64
}

// ApplyStanding makes one month's application of a standing withdrawal
// for p through the same pipeline as Apply: the same validation,
// eligibility, caps, per-person lock, outbox and notifications, the kind's
// policy adjusted by terms, judged as if the clock read at (what is written is stamped with
// the clock's time). r carries the
// month's Idempotency-Key, so however often a month is tried (two
// replicas at once, a run taken over after a restart) it is one
// application: a repeat gets the first one back with replayed true.
func (s *Service) ApplyStanding(ctx context.Context, p services.Principal, r Request, terms StandingTerms, at time.Time) (Application, bool, error) {
	t := *s
	t.asOf = at
	return t.apply(ctx, p, r, func(pol *Policy) {
		pol.IntervalMonths = terms.IntervalMonths
		if terms.CapPerMonthFen > 0 && (pol.CapPerMonthFen == 0 || terms.CapPerMonthFen < pol.CapPerMonthFen) {
			pol.CapPerMonthFen = terms.CapPerMonthFen
		}
	})
}
