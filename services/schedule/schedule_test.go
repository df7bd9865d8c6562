package schedule_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"handheld/services/schedule"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func runner(s *store.Store, c *clock, holder string) *schedule.Runner {
	return &schedule.Runner{Store: s, Now: c.Now, Holder: holder, Lease: time.Minute,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestPeriodOf(t *testing.T) {
	at := time.Date(2026, 12, 6, 20, 31, 5, 0, time.FixedZone("CST", 8*3600))
	for _, tc := range []struct {
		every time.Duration
		want  string
	}{
		{24 * time.Hour, "2026-12-06T00:00:00Z"},
		{time.Hour, "2026-12-06T12:00:00Z"},
		{30 * 24 * time.Hour, "2026-12-03T00:00:00Z"},
	} {
		if got := schedule.PeriodKey(schedule.PeriodOf(at, tc.every)); got != tc.want {
			t.Errorf("PeriodOf(%s, %s) = %s, want %s", at, tc.every, got, tc.want)
		}
	}
}

// Replicas polling the same period at once: the job runs once.
func TestOneRunPerPeriodAcrossReplicas(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		c := &clock{t: time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)}
		var runs atomic.Int32
		job := schedule.Job{Name: "test.count", Every: 24 * time.Hour,
			Run: func(context.Context, time.Time) (string, error) { runs.Add(1); return "ok", nil }}
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				if _, err := runner(s, c, "r"+string(rune('a'+i))).Once(context.Background(), job); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := runs.Load(); got != 1 {
			t.Fatalf("ran %d times in one period, want 1", got)
		}
		// The same period again: done, not run.
		if ran, err := runner(s, c, "ra").Once(context.Background(), job); err != nil || ran {
			t.Fatalf("second call in the period: ran=%v err=%v", ran, err)
		}
		c.Advance(24 * time.Hour)
		if ran, err := runner(s, c, "rb").Once(context.Background(), job); err != nil || !ran {
			t.Fatalf("next period: ran=%v err=%v", ran, err)
		}
		got, err := runner(s, c, "rb").Runs(context.Background(), job.Name, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Period != "2026-12-07T00:00:00Z" || got[0].DoneAt.IsZero() || got[0].Progress != "ok" {
			t.Fatalf("runs = %+v", got)
		}
	})
}

// A replica that dies mid-run: its period is not run by others while its
// lease holds, and is taken over and finished after.
func TestAbandonedRunIsTakenOverAfterItsLease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		c := &clock{t: time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)}
		ctx := context.Background()
		period := schedule.PeriodOf(c.Now(), time.Hour)
		dead := runner(s, c, "dead")
		if ok, err := dead.Claim(ctx, "test.resume", period); err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		var runs atomic.Int32
		job := schedule.Job{Name: "test.resume", Every: time.Hour,
			Run: func(context.Context, time.Time) (string, error) { runs.Add(1); return "resumed", nil }}
		live := runner(s, c, "live")
		if ran, err := live.Once(ctx, job); err != nil || ran {
			t.Fatalf("within the dead replica's lease: ran=%v err=%v", ran, err)
		}
		c.Advance(61 * time.Second)
		if ran, err := live.Once(ctx, job); err != nil || !ran {
			t.Fatalf("after the lease: ran=%v err=%v", ran, err)
		}
		got, err := live.Runs(ctx, job.Name, 1)
		if err != nil {
			t.Fatal(err)
		}
		if runs.Load() != 1 || len(got) != 1 || got[0].Holder != "live" || got[0].Attempts != 2 || got[0].DoneAt.IsZero() {
			t.Fatalf("runs=%d rows=%+v", runs.Load(), got)
		}
	})
}

// A failed run is not marked done: after its lease another poll runs it.
func TestFailedRunRunsAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		c := &clock{t: time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)}
		ctx := context.Background()
		fail := true
		job := schedule.Job{Name: "test.fail", Every: time.Hour, Run: func(context.Context, time.Time) (string, error) {
			if fail {
				return "", errors.New("store gone")
			}
			return "", nil
		}}
		r := runner(s, c, "a")
		if ran, err := r.Once(ctx, job); err == nil || ran {
			t.Fatalf("failing run: ran=%v err=%v", ran, err)
		}
		fail = false
		if ran, _ := r.Once(ctx, job); ran {
			t.Fatal("ran again within the lease")
		}
		c.Advance(2 * time.Minute)
		if ran, err := r.Once(ctx, job); err != nil || !ran {
			t.Fatalf("after the lease: ran=%v err=%v", ran, err)
		}
	})
}

// A job with an Offset runs once per period starting at that time of day:
// not before it, once after it, and again only the next day after it.
func TestOffsetMovesThePeriodsStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		// 00:30 in Shanghai on 7 December; the job runs from 01:00 (17:00 UTC).
		c := &clock{t: time.Date(2026, 12, 6, 16, 30, 0, 0, time.UTC)}
		var periods []string
		job := schedule.Job{Name: "test.offset", Every: 24 * time.Hour, Offset: 17 * time.Hour,
			Run: func(_ context.Context, p time.Time) (string, error) {
				periods = append(periods, schedule.PeriodKey(p))
				return "", nil
			}}
		r := runner(s, c, "a")
		for _, step := range []time.Duration{0, 20 * time.Minute, 20 * time.Minute, 12 * time.Hour, 11 * time.Hour} {
			c.Advance(step)
			if _, err := r.Once(t.Context(), job); err != nil {
				t.Fatal(err)
			}
		}
		// 00:30 none (yesterday's period was never claimed, so it runs:
		// that is the period 5 Dec 17:00); 00:50 nothing new; 01:10 the
		// 6 Dec 17:00 period; 13:10 nothing; 00:10 next day nothing.
		want := []string{"2026-12-05T17:00:00Z", "2026-12-06T17:00:00Z"}
		if len(periods) != len(want) || periods[0] != want[0] || periods[1] != want[1] {
			t.Errorf("periods run: %v, want %v", periods, want)
		}
	})
}
