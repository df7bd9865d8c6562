package employer

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// A runner that dies mid-job — one line's change made but not recorded —
// keeps its lease until it runs out; then another runner takes the job
// over, applies the line again (answered from the change already made)
// and the rest, and the dead runner can record nothing more.
func TestJobTakenOverAfterTheLeaseAppliesNoLineTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := newJobsFixture(t, s)
		pol := DefaultJobPolicy()
		a, b := fx.jobs(t, "replica-a", pol), fx.jobs(t, "replica-b", pol)
		v, _, err := a.Submit(ctx, operatorOf(unitA), Upload{Kind: JobJoin, Data: joinFile(t, 4, 6), IdempotencyKey: "k"})
		if err != nil {
			t.Fatal(err)
		}
		r, ok, err := a.claim(ctx)
		if err != nil || !ok || r.ID != v.ID {
			t.Fatalf("claim: %+v %v %v", r, ok, err)
		}
		p := operatorOf(unitA)
		pending, err := a.lines(ctx, r.ID, "pending", 3)
		if err != nil || len(pending) != 3 {
			t.Fatalf("pending %d %v", len(pending), err)
		}
		// Lines 2 and 3 applied and recorded; line 4 applied, then the
		// replica dies.
		var results []lineResult
		for _, l := range pending[:2] {
			res, err := a.apply(ctx, r, p, l)
			if err != nil || !res.done {
				t.Fatal(res, err)
			}
			results = append(results, res)
		}
		if err := a.record(ctx, r.ID, results); err != nil {
			t.Fatal(err)
		}
		fl := lineOf(JobJoin, pending[2].line, pending[2].cells, now)
		if _, _, err := fx.staff.Join(ctx, p, fl.join, lineKey(r, pending[2])); err != nil {
			t.Fatal(err)
		}
		// Within the lease nobody else takes the job.
		fx.clock.Add(pol.Lease - time.Second)
		if worked, err := b.RunOnce(ctx); worked || err != nil {
			t.Fatalf("taken within the lease: %v %v", worked, err)
		}
		fx.clock.Add(2 * time.Second)
		if worked, err := b.RunOnce(ctx); !worked || err != nil {
			t.Fatalf("take over: %v %v", worked, err)
		}
		got, _ := b.Job(ctx, p, v.ID)
		if got.Status != JobDone || got.Processed != 6 || got.Failed != 0 {
			t.Fatalf("after take-over: %+v", got)
		}
		if n := fx.count(t, `SELECT count(*) FROM staff_changes`); n != 6 {
			t.Fatalf("%d staff changes for 6 lines", n)
		}
		if n := fx.count(t, `SELECT count(DISTINCT change_id) FROM employer_job_rows WHERE job_id = $1 AND status = 'applied'`, v.ID); n != 6 {
			t.Fatalf("%d distinct changes recorded", n)
		}
		// The dead replica, back, records nothing: the job is not its own.
		if err := a.record(ctx, r.ID, []lineResult{{line: pending[2].line, done: true, changeID: "sc_x"}}); !errors.Is(err, errLostLease) {
			t.Fatalf("late record: %v", err)
		}
		if n := fx.count(t, `SELECT processed FROM employer_jobs WHERE id = $1`, v.ID); n != 6 {
			t.Fatalf("processed %d after the late record", n)
		}
	})
}

// A runner stopped (shutdown) gives its job back at once; the next runner
// resumes where it stopped.
func TestJobResumedAfterAStop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := newJobsFixture(t, s)
		pol := DefaultJobPolicy()
		pol.Parallel = 1
		a, b := fx.jobs(t, "replica-a", pol), fx.jobs(t, "replica-b", pol)
		v, _, err := a.Submit(ctx, operatorOf(unitA), Upload{Kind: JobJoin, Data: joinFile(t, 5, 4), IdempotencyKey: "k"})
		if err != nil {
			t.Fatal(err)
		}
		stopAfter := &stoppingStaff{lineStaff: fx.staff, after: 2}
		a.Staff = stopAfter
		actx, cancel := context.WithCancel(ctx)
		stopAfter.cancel = cancel
		if worked, err := a.RunOnce(actx); !worked || err != nil {
			t.Fatalf("a: %v %v", worked, err)
		}
		got, _ := a.Job(ctx, operatorOf(unitA), v.ID)
		if got.Status != JobRunning || got.Processed >= 4 {
			t.Fatalf("after the stop: %+v", got)
		}
		// No lease to wait for: b takes it over at once.
		if worked, err := b.RunOnce(ctx); !worked || err != nil {
			t.Fatalf("b: %v %v", worked, err)
		}
		got, _ = b.Job(ctx, operatorOf(unitA), v.ID)
		if got.Status != JobDone || got.Processed != 4 {
			t.Fatalf("resumed: %+v", got)
		}
		if n := fx.count(t, `SELECT count(*) FROM staff_changes`); n != 4 {
			t.Fatalf("%d staff changes for 4 lines", n)
		}
	})
}

// stoppingStaff cancels the runner's context after a number of joins, as a
// shutdown would.
type stoppingStaff struct {
	lineStaff
	mu     sync.Mutex
	after  int
	cancel func()
}

func (s *stoppingStaff) Join(ctx context.Context, p services.Principal, j Join, k Key) (StaffChange, bool, error) {
	s.mu.Lock()
	s.after--
	stop := s.after < 0
	s.mu.Unlock()
	if stop {
		s.cancel()
		return StaffChange{}, false, services.Errorf(services.CodeInternal, "stopped: %w", ctx.Err())
	}
	return s.lineStaff.Join(ctx, p, j, k)
}

func lineKey(r jobRow, l storedLine) Key {
	k, _ := keyOfLine(r, l)
	return k
}

func TestClaimStatementLocksOnlyOnPostgres(t *testing.T) {
	if q := claimSQL(store.Postgres); !strings.Contains(q, "FOR UPDATE SKIP LOCKED") {
		t.Fatalf("postgres claim: %s", q)
	}
	if q := claimSQL(store.SQLite); strings.Contains(q, "SKIP LOCKED") {
		t.Fatalf("sqlite claim: %s", q)
	}
}
