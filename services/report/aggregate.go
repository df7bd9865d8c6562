package report

import (
	"context"
	"slices"
	"time"

	"handheld/services"
	"handheld/services/cases"
	"handheld/services/certificate"
	"handheld/services/platform"
	"handheld/services/repayment"
	"handheld/services/transfer"
)

// TimeZone is the zone a report's day is in.
const TimeZone = "Asia/Shanghai"

// serviceOf is the catalogue service a case is reported under: a
// withdrawal kind's item; for the other kinds, the item whose time limit
// the case was given (a loan payment of either kind: loan.prepayment, as
// services/repayment dates it). A type the catalogue has no item for is
// reported under <kind>.<type>, judged by the case's own due date.
func (s *Service) serviceOf(kind, typ string) string {
	switch kind {
	case cases.KindWithdrawal:
		if code, ok := s.byKind[typ]; ok {
			return code
		}
	case cases.KindCertificate:
		switch typ {
		case certificate.TypeDepositUse:
			return "certificate.deposit_use"
		case certificate.TypeLoanSettled:
			return "loan.settled_certificate"
		}
	case cases.KindTransfer:
		return transfer.CatalogueItem
	case cases.KindLoan:
		return repayment.CatalogueItem
	}
	return kind + "." + typ
}

// casesServices are the catalogue's services that make cases, listed in
// every report (with zeros on a quiet day), sorted by code.
func (s *Service) casesServices() []string {
	var out []string
	for _, code := range s.byKind {
		out = append(out, code)
	}
	for _, code := range []string{s.serviceOf(cases.KindCertificate, certificate.TypeDepositUse),
		s.serviceOf(cases.KindCertificate, certificate.TypeLoanSettled), transfer.CatalogueItem, repayment.CatalogueItem} {
		if _, ok := s.limits[code]; ok && !slices.Contains(out, code) {
			out = append(out, code)
		}
	}
	slices.Sort(out)
	return out
}

// aggregate is the day's report (version 0) over [from, to).
func (s *Service) aggregate(ctx context.Context, day string, from, to time.Time) (platform.DailyReport, error) {
	timelines, err := s.d.Cases.Timelines(ctx, from, to)
	if err != nil {
		return platform.DailyReport{}, err
	}
	ratings, err := s.d.Cases.RatingCounts(ctx, from, to)
	if err != nil {
		return platform.DailyReport{}, err
	}
	return s.figures(day, from, to, timelines, ratings), nil
}

// figures adds the cases and ratings up per service.
func (s *Service) figures(day string, from, to time.Time, timelines []cases.Timeline, ratings []cases.RatingCount) platform.DailyReport {
	by := map[string]*platform.Figures{}
	for _, code := range s.reported {
		by[code] = &platform.Figures{}
	}
	of := func(code string) *platform.Figures {
		if by[code] == nil {
			by[code] = &platform.Figures{}
		}
		return by[code]
	}
	within := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && t.Before(to) }
	before := func(t time.Time) bool { return !t.IsZero() && t.Before(to) }
	for _, c := range timelines {
		code := s.serviceOf(c.Kind, c.Type)
		f := &of(code).Timeliness
		promised, legal := s.dueDates(code, c)
		if within(c.CreatedAt) {
			f.Received++
		}
		if within(c.DecidedAt) {
			f.Decided++
			on := c.DecidedAt.In(services.CentreTime).Format(time.DateOnly)
			if on <= promised {
				f.DecidedPromised++
			}
			if on <= legal {
				f.DecidedLegal++
			}
		}
		if within(c.WithdrawnAt) {
			f.Withdrawn++
		}
		if c.CreatedAt.Before(to) && !before(c.DecidedAt) && !before(c.WithdrawnAt) {
			f.Open++
			if promised <= day {
				f.OverduePromised++
			}
			if legal <= day {
				f.OverdueLegal++
			}
		}
	}
	for _, r := range ratings {
		f := &of(s.serviceOf(r.Kind, r.Type)).Ratings
		switch r.Level {
		case cases.LevelVerySatisfied:
			f.VerySatisfied += r.Count
		case cases.LevelSatisfied:
			f.Satisfied += r.Count
		case cases.LevelBasicallySatisfied:
			f.BasicallySatisfied += r.Count
		case cases.LevelDissatisfied:
			f.Dissatisfied += r.Count
		case cases.LevelVeryDissatisfied:
			f.VeryDissatisfied += r.Count
		}
		if r.Level <= cases.LevelDissatisfied {
			f.LowWithComment += r.WithComments
		}
	}
	out := platform.DailyReport{Centre: s.centre, Day: day, TimeZone: TimeZone, Services: []platform.ServiceFigures{}}
	codes := make([]string, 0, len(by))
	for code := range by {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		l := s.limits[code]
		out.Services = append(out.Services, platform.ServiceFigures{Service: code, PromisedWorkingDays: l.promised,
			LegalWorkingDays: l.legal, Figures: *by[code]})
		out.Totals.Add(*by[code])
	}
	return out
}

// dueDates are the dates (YYYY-MM-DD) a case was to be decided by: the
// promised one it was given (its due date; the day it was received for a
// case decided on the spot), and the legal one, its service's legal time
// limit in working days after it was received, never before the promised.
func (s *Service) dueDates(code string, c cases.Timeline) (promised, legal string) {
	received := c.CreatedAt.In(services.CentreTime)
	promised = c.DueOn
	if promised == "" {
		promised = s.addWorkingDays(received, s.limits[code].promised)
	}
	legal = promised
	if l, ok := s.limits[code]; ok {
		legal = max(s.addWorkingDays(received, l.legal), promised)
	}
	return promised, legal
}

// addWorkingDays is the date n working days after t's date, skipping
// weekends and the configured holidays; n = 0 is t's date.
func (s *Service) addWorkingDays(t time.Time, n int) string {
	d := time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, services.CentreTime)
	for i := 0; i < n; {
		d = d.AddDate(0, 0, 1)
		if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday && !s.holidays[d.Format(time.DateOnly)] {
			i++
		}
	}
	return d.Format(time.DateOnly)
}
