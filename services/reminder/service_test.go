package reminder_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/identity"
	"handheld/services/notify"
	"handheld/services/reminder"
	"handheld/services/schedule"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// population is the people fake: n subjects s_0001.., person p_0001..,
// paged in id order like identity's Subjects.
type population int

func (n population) Subjects(_ context.Context, after string, limit int) ([]identity.Subject, error) {
	var out []identity.Subject
	for i := 1; i <= int(n) && len(out) < limit; i++ {
		if id := fmt.Sprintf("s_%04d", i); id > after {
			out = append(out, identity.Subject{ID: id, PersonID: fmt.Sprintf("p_%04d", i)})
		}
	}
	return out, nil
}

// coreFacts is the core fake: every person a normal account, every other
// one sealed; failAt makes that call (1-based) fail once, as a replica
// dying mid-run would stop.
type coreFacts struct {
	calls  atomic.Int32
	failAt int32
}

var errDied = errors.New("the replica died")

func (c *coreFacts) ReminderFacts(_ context.Context, ids []string) ([]core.ReminderFacts, error) {
	if n := c.calls.Add(1); n == c.failAt {
		return nil, errDied
	}
	out := make([]core.ReminderFacts, 0, len(ids))
	for i, id := range ids {
		status := core.StatusNormal
		if i%2 == 1 {
			status = core.StatusSealed
		}
		out = append(out, core.ReminderFacts{PersonID: id, HasAccount: true, Status: status, LastDepositMonth: "2026-10"})
	}
	return out, nil
}

type noCertificates struct{}

func (noCertificates) Expiring(context.Context, []string, time.Time, time.Time) (map[string]time.Time, error) {
	return map[string]time.Time{}, nil
}

// trail is the audit fake.
type trail struct {
	mu   sync.Mutex
	recs []audit.Record
}

func (a *trail) Enqueue(_ context.Context, r audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recs = append(a.recs, r)
	return audit.Check(r)
}

func (a *trail) len() int { a.mu.Lock(); defer a.mu.Unlock(); return len(a.recs) }

type rig struct {
	svc   *reminder.Service
	store *store.Store
	core  *coreFacts
	audit *trail
}

func newRig(t *testing.T, s *store.Store, people int, rules reminder.Rules) *rig {
	t.Helper()
	r := &rig{store: s, core: &coreFacts{}, audit: &trail{}}
	svc, err := reminder.New(reminder.Deps{Store: s, People: population(people), Facts: r.core, Certificates: noCertificates{},
		Audit: r.audit, Rules: rules, Now: func() time.Time { return now }, Batch: 10})
	if err != nil {
		t.Fatal(err)
	}
	r.svc = svc
	return r
}

// count counts rows of what a run writes.
func count(t *testing.T, s *store.Store) (sends, queued int) {
	t.Helper()
	ctx := context.Background()
	if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM reminder_sends`).Scan(&sends); err != nil {
		t.Fatal(err)
	}
	if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM outbox WHERE topic = $1`, string(notify.Topic)).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	return sends, queued
}

const policyRule = "rent_cap_2027" // normal accounts: every other person

// Two replicas running the same rule at once, twice each: every person
// the rule matches gets one message, however the runs interleave.
func TestOneMessagePerPersonRuleAndPeriod(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		a, b := newRig(t, s, 95, reminder.Defaults()), newRig(t, s, 95, reminder.Defaults())
		var wg sync.WaitGroup
		var written atomic.Int32
		for _, r := range []*rig{a, b, a, b} {
			wg.Go(func() {
				rep, err := r.svc.Run(context.Background(), policyRule)
				if err != nil {
					t.Error(err)
				}
				written.Add(int32(rep.Written))
			})
		}
		wg.Wait()
		const matched = 48 // s_0001, s_0003, ... s_0095 (the first of each pair is normal)
		if sends, queued := count(t, s); sends != matched || queued != matched || written.Load() != matched {
			t.Errorf("sends %d, queued %d, written %d; want %d each", sends, queued, written.Load(), matched)
		}
		if n := a.audit.len() + b.audit.len(); n != matched {
			t.Errorf("%d audit records, want one per message (%d)", n, matched)
		}
		for _, r := range append(a.audit.recs, b.audit.recs...) {
			if r.Action != reminder.ActionQueued || r.Target != "reminder:"+policyRule+":once" || r.Subject == "" {
				t.Fatalf("audit %+v", r)
			}
		}
		// Another rule, the same people: its own messages.
		rep, err := a.svc.Run(context.Background(), "account_sealed")
		if err != nil || rep.Written != 0 {
			t.Errorf("account_sealed: %+v %v (LastDepositMonth 2026-10 is not 6 months)", rep, err)
		}
	})
}

// A run that dies after its first page leaves the period to its lease;
// the next replica's poll takes it over and finishes it, telling nobody
// twice.
func TestResumeAfterAKilledRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s, 45, reminder.Defaults())
		r.core.failAt = 3 // pages of 10: two written, then death
		var job schedule.Job
		for _, j := range r.svc.Jobs() {
			if j.Name == reminder.JobName(policyRule) {
				job = j
			}
		}
		clock := now
		runner := func(holder string) *schedule.Runner {
			return &schedule.Runner{Store: s, Now: func() time.Time { return clock }, Holder: holder, Lease: time.Minute,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		}
		ctx := context.Background()
		if ran, err := runner("replica-a").Once(ctx, job); ran || !errors.Is(err, errDied) {
			t.Fatalf("first run: %v %v, want it to die", ran, err)
		}
		if sends, _ := count(t, s); sends != 10 {
			t.Fatalf("%d sent before dying, want 10 (two pages, every other person)", sends)
		}
		if ran, err := runner("replica-b").Once(ctx, job); ran || err != nil {
			t.Fatalf("within the lease: %v %v, want replica-b to leave it", ran, err)
		}
		clock = clock.Add(2 * time.Minute) // the lease runs out
		if ran, err := runner("replica-b").Once(ctx, job); !ran || err != nil {
			t.Fatalf("after the lease: %v %v, want replica-b to finish it", ran, err)
		}
		if sends, queued := count(t, s); sends != 23 || queued != 23 {
			t.Errorf("sends %d, queued %d after the resumed run, want 23 each", sends, queued)
		}
		runs, err := runner("replica-b").Runs(ctx, job.Name, 1)
		if err != nil || len(runs) != 1 || runs[0].Attempts != 2 || runs[0].Progress != "people=45 matched=23 already=10 written=13" {
			t.Errorf("runs %+v %v", runs, err)
		}
		if n := r.audit.len(); n != 23 {
			t.Errorf("%d audit records, want 23", n)
		}
	})
}

// A dry run reports whom a rule would reach and writes nothing; after a
// real run it reports them told already.
func TestDryRunWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s, 30, reminder.Defaults())
		ctx := context.Background()
		rep, err := r.svc.DryRun(ctx, policyRule)
		if err != nil || rep.People != 30 || rep.Matched != 15 || rep.Already != 0 || rep.Written != 0 || !rep.DryRun {
			t.Fatalf("dry run: %+v %v", rep, err)
		}
		if sends, queued := count(t, s); sends != 0 || queued != 0 || r.audit.len() != 0 {
			t.Fatalf("dry run wrote %d sends, %d messages, %d audit records", sends, queued, r.audit.len())
		}
		if _, err := r.svc.Run(ctx, policyRule); err != nil {
			t.Fatal(err)
		}
		rep, err = r.svc.DryRun(ctx, policyRule)
		if err != nil || rep.Matched != 15 || rep.Already != 15 {
			t.Errorf("dry run after the run: %+v %v, want all 15 told", rep, err)
		}
		if _, err := r.svc.DryRun(ctx, "no_such_rule"); err == nil {
			t.Error("dry run of an unknown rule succeeded")
		}
	})
}

// A disabled rule has no job and does not run; it may still be tried.
func TestDisabledRule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		rules := reminder.Defaults()
		for i := range rules {
			rules[i].Enabled = rules[i].Code != policyRule
		}
		r := newRig(t, s, 4, rules)
		var names []string
		for _, j := range r.svc.Jobs() {
			names = append(names, string(j.Name))
		}
		sort.Strings(names)
		if len(names) != len(rules)-1 || containsString(names, string(reminder.JobName(policyRule))) {
			t.Errorf("jobs %v, want every rule but the disabled one", names)
		}
		if _, err := r.svc.Run(context.Background(), policyRule); err == nil {
			t.Error("a disabled rule ran")
		}
		if rep, err := r.svc.DryRun(context.Background(), policyRule); err != nil || rep.Matched != 2 {
			t.Errorf("dry run of the disabled rule: %+v %v", rep, err)
		}
	})
}

func containsString(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

// Purge removes the rows of periods long over, never a once rule's.
func TestPurge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s, 6, reminder.Defaults())
		ctx := context.Background()
		for _, code := range []string{policyRule, "deposit_arrived"} { // once; month
			if _, err := r.svc.Run(ctx, code); err != nil {
				t.Fatal(err)
			}
		}
		if sends, _ := count(t, s); sends != 3+6 {
			t.Fatalf("%d sends, want 9", sends)
		}
		if n, err := reminder.Purge(ctx, s, now, 100); err != nil || n != 0 {
			t.Errorf("purge before they were sent: %d %v", n, err)
		}
		n, err := reminder.Purge(ctx, s, now.Add(time.Second), 4)
		if err != nil || n != 4 {
			t.Errorf("first batch: %d %v, want 4", n, err)
		}
		if n, err = reminder.Purge(ctx, s, now.Add(time.Second), 4); err != nil || n != 2 {
			t.Errorf("second batch: %d %v, want the last 2 monthly rows", n, err)
		}
		if sends, _ := count(t, s); sends != 3 {
			t.Errorf("%d sends left, want the once rule's 3", sends)
		}
	})
}
