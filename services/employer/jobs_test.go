package employer

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// The single calls' use cases satisfy what the jobs need of them.
var (
	_ lineStaff = (*StaffChanges)(nil)
	_ lineBases = (*Bases)(nil)
)

// clock is a time tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// jobsFixture is a Jobs over the real staff changes (fake core) and bases.
type jobsFixture struct {
	s     *store.Store
	core  *fakeStaff
	adj   *fakeAdjuster
	audit *fakeAudit
	staff *StaffChanges
	clock *clock
}

func newJobsFixture(t *testing.T, s *store.Store) *jobsFixture {
	t.Helper()
	fx := &jobsFixture{s: s, core: &fakeStaff{}, adj: &fakeAdjuster{rates: [2]int{1000, 1000}}, audit: &fakeAudit{}, clock: &clock{t: now}}
	fx.staff = newStaffChanges(t, s, fx.core, fx.audit)
	return fx
}

func (fx *jobsFixture) jobs(t *testing.T, owner string, pol JobPolicy) *Jobs {
	t.Helper()
	b := newBases(t, testPolicy, fx.adj, fx.audit, now)
	j, err := NewJobs(JobDeps{Store: fx.s, Staff: fx.staff, Bases: b, Audit: fx.audit, Policy: pol, Owner: owner, Now: fx.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// joinFile is a join file of n good lines (ID numbers from seed) and the
// bad lines given after them.
func joinFile(t *testing.T, seed, n int, bad ...string) []byte {
	t.Helper()
	var b strings.Builder
	b.WriteString(joinHeader)
	for i := range n {
		fmt.Fprintf(&b, "员工%d,%s,500000,2026-11\n", i, idNumber(t, fmt.Sprintf("330106198501%02d%03d", seed%29+1, i)))
	}
	for _, l := range bad {
		b.WriteString(l + "\n")
	}
	return []byte(b.String())
}

func (fx *jobsFixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := fx.s.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestJobAppliesGoodLinesAndReportsBadOnes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := newJobsFixture(t, s)
		j := fx.jobs(t, "a", DefaultJobPolicy())
		file := joinFile(t, 1, 5, "坏行,110105199003071230,500000,2026-11", "=cmd|' /C calc'!A0,110105199003071231,500000,2026-11")
		v, replayed, err := j.Submit(ctx, operatorOf(unitA), Upload{Kind: JobJoin, Data: file, IdempotencyKey: "up-1"})
		if err != nil || replayed || v.Status != JobQueued || v.Total != 7 || v.Failed != 2 || v.Processed != 2 {
			t.Fatalf("submit: %+v %v %v", v, replayed, err)
		}
		// The cells are sealed at rest.
		var raw string
		if err := s.QueryRow(ctx, `SELECT cells FROM employer_job_rows WHERE job_id = $1 AND line = 2`, v.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw, "员工0") || !strings.HasPrefix(raw, "hs1.") {
			t.Fatalf("cells not sealed: %q", raw)
		}
		// The same key and file: the same job; another file: refused.
		if again, replayed, err := j.Submit(ctx, operatorOf(unitA), Upload{Kind: JobJoin, Data: file, IdempotencyKey: "up-1"}); err != nil || !replayed || again.ID != v.ID {
			t.Fatalf("replay: %+v %v %v", again, replayed, err)
		}
		if _, _, err := j.Submit(ctx, operatorOf(unitA), Upload{Kind: JobLeave, Data: file, IdempotencyKey: "up-1"}); services.ErrorCode(err) != services.CodeIdempotencyKeyReused {
			t.Fatalf("key reused: %v", err)
		}
		if worked, err := j.RunOnce(ctx); !worked || err != nil {
			t.Fatalf("run: %v %v", worked, err)
		}
		got, err := j.Job(ctx, operatorOf(unitA), v.ID)
		if err != nil || got.Status != JobDone || got.Processed != 7 || got.Failed != 2 || got.FinishedAt.IsZero() {
			t.Fatalf("after run: %+v %v", got, err)
		}
		if n := fx.count(t, `SELECT count(*) FROM staff_changes WHERE unit_code = $1 AND status = 'accepted'`, unitA); n != 5 {
			t.Fatalf("%d changes, want 5", n)
		}
		if worked, _ := j.RunOnce(ctx); worked {
			t.Fatal("a done job claimed again")
		}
		report, err := j.Report(ctx, operatorOf(unitA), v.ID)
		if err != nil || len(report) != 3 {
			t.Fatalf("report: %+v %v", report, err)
		}
		if r := report[0]; r.Line != 7 || r.Column != "id_number" || r.Code != services.FieldChecksum || !r.Field || strings.Contains(r.Value, "11010519900307") {
			t.Errorf("line 7: %+v (the ID number masked)", r)
		}
		if r := report[1]; r.Line != 8 || r.Column != "name" || r.Code != services.FieldFormula {
			t.Errorf("line 8: %+v", r)
		}
		if r := report[2]; r.Line != 8 || r.Column != "id_number" || r.Code != services.FieldChecksum {
			t.Errorf("line 8, second error: %+v", r)
		}
		// Another unit reaches neither the job nor its report.
		if _, err := j.Job(ctx, operatorOf(unitB), v.ID); services.ErrorCode(err) != services.CodeJobNotFound {
			t.Fatalf("other unit: %v", err)
		}
		if _, err := j.Report(ctx, operatorOf(unitB), v.ID); services.ErrorCode(err) != services.CodeJobNotFound {
			t.Fatalf("other unit's report: %v", err)
		}
		if _, err := j.Job(ctx, operatorOf(unitA), "job_../../x"); services.ErrorCode(err) != services.CodeJobNotFound {
			t.Fatalf("malformed id: %v", err)
		}
		actions := map[string]int{}
		for _, r := range fx.audit.records {
			actions[r.Action]++
		}
		if actions[ActionJobUpload] != 3 || actions[ActionStaffJoin] != 5 || actions[ActionJobReport] != 2 {
			t.Fatalf("audit %v", actions)
		}
	})
}

func TestJobLinesRefusedByTheUseCaseAreReported(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := newJobsFixture(t, s)
		fx.core.members = map[string]core.StaffMember{
			unitA + "/P1": {PersonID: "P1", Status: core.StatusSealed},
			unitA + "/P2": {PersonID: "P2", Status: core.StatusNormal},
		}
		j := fx.jobs(t, "a", DefaultJobPolicy())
		file := []byte("staff_id,month,reason\nP1,2026-11,resigned\nP2,2026-11,resigned\nP9,2026-11,resigned\n")
		v, _, err := j.Submit(ctx, operatorOf(unitA), Upload{Kind: JobLeave, Data: file, IdempotencyKey: "k"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := j.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		report, err := j.Report(ctx, operatorOf(unitA), v.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range report {
			got = append(got, fmt.Sprintf("%d %s", r.Line, r.Code))
		}
		if want := "2 staff.already_sealed|4 staff.not_found"; strings.Join(got, "|") != want {
			t.Fatalf("report %q, want %q", strings.Join(got, "|"), want)
		}
	})
}

func TestJobBaseLinesReachTheCoreOnceEach(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := newJobsFixture(t, s)
		j := fx.jobs(t, "a", DefaultJobPolicy())
		file := []byte("staff_id,base_fen\nP1,500000\nP2,100\nP3,600000\n")
		v, _, err := j.Submit(ctx, operatorOf(unitA), Upload{Kind: JobBase, Data: file, IdempotencyKey: "k"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := j.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		got, _ := j.Job(ctx, operatorOf(unitA), v.ID)
		if got.Status != JobDone || got.Failed != 1 || len(fx.adj.calls) != 2 {
			t.Fatalf("job %+v, %d core calls", got, len(fx.adj.calls))
		}
		report, _ := j.Report(ctx, operatorOf(unitA), v.ID)
		if len(report) != 1 || report[0].Line != 3 || report[0].Column != "base_fen" || report[0].Code != services.FieldOutOfRange {
			t.Fatalf("report %+v (the policy's bounds)", report)
		}
	})
}

func TestJobSubmitRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := newJobsFixture(t, s)
		pol := DefaultJobPolicy()
		pol.MaxFileBytes, pol.MaxActivePerUnit = 4<<10, 1
		j := fx.jobs(t, "a", pol)
		submit := func(p services.Principal, kind string, data []byte, key string) error {
			_, _, err := j.Submit(ctx, p, Upload{Kind: kind, Data: data, IdempotencyKey: key})
			return err
		}
		cases := []struct {
			name string
			err  error
			want services.Code
		}{
			{"oversized", submit(operatorOf(unitA), JobJoin, joinFile(t, 2, 100), "k1"), services.CodeJobFileTooLarge},
			{"unknown kind", submit(operatorOf(unitA), "transfer", joinFile(t, 2, 1), "k2"), services.CodeInvalid},
			{"not an operator", submit(services.Principal{Subject: "d", Role: services.RoleDepositor}, JobJoin, joinFile(t, 2, 1), "k3"), services.CodeForbidden},
			{"a kind's file under another kind", submit(operatorOf(unitA), JobLeave, joinFile(t, 2, 1), "k4"), services.CodeJobBadHeader},
		}
		for _, c := range cases {
			if got := services.ErrorCode(c.err); got != c.want {
				t.Errorf("%s: %v, want %s", c.name, c.err, c.want)
			}
		}
		if n := fx.count(t, `SELECT count(*) FROM employer_jobs`); n != 0 {
			t.Fatalf("%d jobs stored from refused uploads", n)
		}
		if err := submit(operatorOf(unitA), JobJoin, joinFile(t, 2, 1), "k5"); err != nil {
			t.Fatal(err)
		}
		// One unfinished job is the policy's limit here; another unit has its own.
		if err := submit(operatorOf(unitA), JobJoin, joinFile(t, 3, 1), "k6"); services.ErrorCode(err) != services.CodeJobTooManyActive {
			t.Fatalf("second active job: %v", err)
		}
		if err := submit(operatorOf(unitB), JobJoin, joinFile(t, 3, 1), "k6"); err != nil {
			t.Fatalf("other unit: %v", err)
		}
	})
}

// A job's sealed cells reseal like every sealed column (keyed by job id
// and line, a number), and the job still reads after.
func TestJobCellsReseal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := newJobsFixture(t, s)
		j := fx.jobs(t, "a", DefaultJobPolicy())
		v, _, err := j.Submit(ctx, operatorOf(unitA), Upload{Kind: JobJoin, Data: joinFile(t, 6, 12, "x,1,2,3"), IdempotencyKey: "k"})
		if err != nil {
			t.Fatal(err)
		}
		reps, err := s.Reseal(ctx, []store.SealedColumn{sealedCells}, false, 5)
		if err != nil || len(reps) != 1 || reps[0].Failed != 0 {
			t.Fatalf("reseal: %+v %v", reps, err)
		}
		report, err := j.Report(ctx, operatorOf(unitA), v.ID)
		if err != nil || len(report) == 0 || report[0].Line != 14 {
			t.Fatalf("report after reseal: %+v %v", report, err)
		}
	})
}

// The same upload twice at once makes one job.
func TestJobSubmittedTwiceAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := newJobsFixture(t, s)
		j := fx.jobs(t, "a", DefaultJobPolicy())
		file := joinFile(t, 7, 20)
		ids := make([]string, 2)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				v, _, err := j.Submit(ctx, operatorOf(unitA), Upload{Kind: JobJoin, Data: file, IdempotencyKey: "twice"})
				ids[i] = v.ID + " " + fmt.Sprint(err)
			})
		}
		wg.Wait()
		if ids[0] != ids[1] || !strings.HasSuffix(ids[0], " <nil>") {
			t.Fatalf("two at once: %q", ids)
		}
		if n := fx.count(t, `SELECT count(*) FROM employer_jobs`); n != 1 {
			t.Fatalf("%d jobs", n)
		}
	})
}
