package bff

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"handheld/bff/middleware"
	"handheld/services/audit"
	"handheld/services/catalogue"
	"handheld/services/staff"
	"handheld/services/supervision"
)

// Centre staff and the supervision dashboard (issue 20, part 4): the
// pieces bff/app.go wires.

// activityReplica names this process in activity_minutes: host and pid,
// so that two replicas' minutes never share a row.
func activityReplica() string {
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid())
}

// observeCore is the core client's Observe hook: the Prometheus histogram
// and the dashboard's per-minute counters.
func (a *App) observeCore(endpoint, outcome string, d time.Duration) {
	a.metrics.observeCore(endpoint, outcome, d)
	a.tally.Core(endpoint, outcome, d)
}

// requestObservers tells each observer of every finished request.
type requestObservers []middleware.RequestObserver

func (o requestObservers) ObserveRequest(route, method string, status int, d time.Duration) {
	for _, x := range o {
		x.ObserveRequest(route, method, status, d)
	}
}

// FlushActivity writes the per-minute counters counted so far (the
// background work does every minute); tests call it before reading the
// dashboard.
func (a *App) FlushActivity(ctx context.Context) error { return a.tally.Flush(ctx, a.store) }

// catalogueLimits are the statutory time limits the service catalogue
// names per withdrawal kind, for the dashboard's timeliness.
type catalogueLimits map[string]int

func newCatalogueLimits(c *catalogue.Catalogue) catalogueLimits {
	out := catalogueLimits{}
	for _, s := range c.Items(catalogue.Filter{}) {
		if s.WithdrawalKind != "" {
			out[s.WithdrawalKind] = s.LegalWorkingDays
		}
	}
	return out
}

// LegalWorkingDays implements supervision.LegalLimits.
func (l catalogueLimits) LegalWorkingDays(kind, typ string) (int, bool) {
	if kind != "withdrawal" {
		return 0, false
	}
	n, ok := l[typ]
	return n, ok
}

// ensureDemoStaff makes the embedded profile's demo staff member.
func ensureDemoStaff(ctx context.Context, s *staff.Service) error {
	if err := s.EnsureDemo(ctx, DemoStaffID, DemoStaffName, DemoStaffPassword); err != nil {
		return fmt.Errorf("demo staff: %w", err)
	}
	return nil
}

var _ supervision.LegalLimits = catalogueLimits{}

// OpenStaffAccounts opens the configured store and the audit trail for
// `handheld staff`: account changes made from the command line are
// audited like any other (actor system). close flushes the trail and
// closes the store.
func OpenStaffAccounts(ctx context.Context, cfg Config) (_ *staff.Service, closeFn func(), err error) {
	s, err := OpenSealedStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	trail := audit.New(s, audit.Options{Now: time.Now, Suite: cfg.Suite()})
	closeFn = func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = trail.Close(cctx)
		_ = s.Close()
	}
	svc, err := staff.New(staff.Deps{Store: s, Audit: trail, Policy: cfg.Staff.Policy, Issuer: cfg.CentreName, Now: time.Now})
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	return svc, closeFn, nil
}
