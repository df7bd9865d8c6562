package account

import (
	"context"
	"fmt"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/mask"
)

// Home is the home screen: account summary, e-card state, loan summary,
// the holder's masked name and applications in progress. The parts are
// read in parallel under HomeDeadline; a part that fails or is late is
// left out and named in Degraded while the rest is shown, because one slow
// core system should not blank the screen people open most. Only when
// every part fails, or the core says the person or account does not exist,
// does Home fail.
//
// During the core's maintenance window the remembered parts are shown and
// the view's MaintenanceUntil says when the window ends (the core's
// Retry-After), so the screen can say plainly when live figures return.
func (s *Service) Home(ctx context.Context, p services.Principal) (HomeView, error) {
	personID, err := s.personID(ctx, p)
	if err != nil {
		return HomeView{}, err
	}
	v, err := s.home(ctx, p, personID)
	if err := s.audited(ctx, p, ActionHome, err); err != nil {
		return HomeView{}, err
	}
	return v, nil
}

// part is one independently fetched piece of the home screen. run returns
// how to put its answer into the view; the closure runs on the collecting
// goroutine only, so parts never write the view concurrently.
type part struct {
	name string
	run  func(ctx context.Context) (func(*HomeView), core.Freshness, error)
}

// outcome is what a part's goroutine hands back.
type outcome struct {
	index int
	apply func(*HomeView)
	fresh core.Freshness
	err   error
}

func (s *Service) home(ctx context.Context, p services.Principal, personID string) (HomeView, error) {
	parts := s.homeParts(p, personID)
	ctx, cancel := context.WithTimeout(ctx, s.HomeDeadline)
	defer cancel()
	results := make(chan outcome, len(parts)) // buffered: a late part never blocks
	for i, pt := range parts {
		go func() {
			defer func() {
				if r := recover(); r != nil {
					results <- outcome{index: i, err: services.Errorf(services.CodeInternal, "home %s: panic: %v", pt.name, r)}
				}
			}()
			apply, fresh, err := pt.run(ctx)
			results <- outcome{index: i, apply: apply, fresh: fresh, err: err}
		}()
	}

	v := HomeView{Applications: []Application{}, Degraded: []string{}}
	errs := make([]error, len(parts))
	done := make([]bool, len(parts))
	var fresh []core.Freshness
collect:
	for range parts {
		select {
		case o := <-results:
			done[o.index], errs[o.index] = true, o.err
			if o.err == nil {
				o.apply(&v)
				fresh = append(fresh, o.fresh)
			}
		case <-ctx.Done():
			break collect
		}
	}
	failed := 0
	var until time.Time // when the core's maintenance window ends, if a part met it
	for i, pt := range parts {
		if !done[i] {
			errs[i] = services.Errorf(services.CodeCoreUnavailable, "home: %s missed the %s screen deadline", pt.name, s.HomeDeadline)
		}
		if errs[i] == nil {
			continue
		}
		switch services.ErrorCode(errs[i]) {
		case services.CodeAccountNotFound, services.CodePersonNotFound:
			return HomeView{}, errs[i] // an answer about the person, not a fault
		}
		failed++
		if u := core.MaintenanceEnd(errs[i], s.Now()); u.After(until) {
			until = u
		}
		v.Degraded = append(v.Degraded, pt.name)
		s.Logger.WarnContext(ctx, "home part degraded", "part", pt.name, "code", string(services.ErrorCode(errs[i])),
			"request_id", services.RequestID(ctx), "cause", errs[i].Error())
	}
	if failed == len(parts) {
		return HomeView{}, errs[0]
	}
	v.Freshness = s.stamped(freshness(fresh...))
	if until.After(v.MaintenanceUntil) {
		v.MaintenanceUntil = until
	}
	return v, nil
}

// homeParts lists the parts in the order they are reported; the account
// comes first, and its error stands for the screen when all fail.
func (s *Service) homeParts(p services.Principal, personID string) []part {
	parts := []part{
		{PartAccount, func(ctx context.Context) (func(*HomeView), core.Freshness, error) {
			a, f, err := s.Reader.Account(ctx, personID)
			return func(v *HomeView) {
				av := accountView(a, s.Mask, p.Channel)
				av.Freshness = s.stamped(f)
				v.Account, v.ECard = &av, &ECard{Available: ecardAvailable(a.Status)}
			}, f, err
		}},
		{PartLoan, func(ctx context.Context) (func(*HomeView), core.Freshness, error) {
			l, f, err := s.Reader.Loan(ctx, personID)
			return func(v *HomeView) {
				lv := loanView(l)
				lv.Freshness = s.stamped(f)
				v.Loan = &lv
			}, f, err
		}},
		{PartPerson, func(ctx context.Context) (func(*HomeView), core.Freshness, error) {
			person, f, err := s.Reader.Person(ctx, personID)
			return func(v *HomeView) {
				v.Holder = &Holder{Name: s.Mask.Apply(mask.Name, p.Channel, person.Name)}
			}, f, err
		}},
	}
	if s.Applications != nil {
		parts = append(parts, part{PartApplications, func(ctx context.Context) (func(*HomeView), core.Freshness, error) {
			apps, err := s.Applications.InFlight(ctx, p.Subject)
			if err != nil {
				return nil, core.Freshness{}, fmt.Errorf("applications: %w", err)
			}
			return func(v *HomeView) {
				if apps != nil {
					v.Applications = apps
				}
			}, core.Freshness{AsOf: s.Now()}, nil
		}})
	}
	return parts
}
