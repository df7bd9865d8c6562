package bff

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"handheld/services/outbox"
)

// The backlog is read on a scrape at most once per interval, whatever the
// number of scrapes; a failed read keeps the last figures and waits out
// the interval too; the oldest row's age grows with the clock between
// reads.
func TestBacklogCollectorReadsAtMostEveryInterval(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	reads := 0
	var fail error
	read := func(context.Context) ([]outbox.Backlog, error) {
		reads++
		if fail != nil {
			return nil, fail
		}
		return []outbox.Backlog{
			{Topic: "withdrawal.submit", Pending: 3, Failing: 2, Overdue: 1, Oldest: now.Add(-90 * time.Second)},
			{Topic: "notify.wechat"},
		}, nil
	}
	c := newBacklogCollector(read, clock, 15*time.Second, slog.New(slog.DiscardHandler))
	want := func(age string) string {
		return `
# HELP handheld_outbox_oldest_pending_age_seconds Age of the oldest pending outbox row, by topic; 0 when none is pending.
# TYPE handheld_outbox_oldest_pending_age_seconds gauge
handheld_outbox_oldest_pending_age_seconds{topic="notify.wechat"} 0
handheld_outbox_oldest_pending_age_seconds{topic="withdrawal.submit"} ` + age + `
# HELP handheld_outbox_pending Outbox rows not delivered yet, by topic (read at most every 15 s).
# TYPE handheld_outbox_pending gauge
handheld_outbox_pending{topic="notify.wechat"} 0
handheld_outbox_pending{topic="withdrawal.submit"} 3
# HELP handheld_outbox_overdue Pending outbox rows due for over a minute that no worker has taken, by topic.
# TYPE handheld_outbox_overdue gauge
handheld_outbox_overdue{topic="notify.wechat"} 0
handheld_outbox_overdue{topic="withdrawal.submit"} 1
`
	}
	names := []string{"handheld_outbox_pending", "handheld_outbox_overdue", "handheld_outbox_oldest_pending_age_seconds"}
	check := func(step, age string, wantReads int) {
		t.Helper()
		if err := testutil.CollectAndCompare(c, strings.NewReader(want(age)), names...); err != nil {
			t.Errorf("%s: %v", step, err)
		}
		if reads != wantReads {
			t.Errorf("%s: %d reads, want %d", step, reads, wantReads)
		}
	}
	check("first scrape", "90", 1)
	now = now.Add(10 * time.Second)
	check("scrape within the interval", "100", 1)
	now = now.Add(5 * time.Second)
	fail = errors.New("store: connection refused")
	check("failed read keeps the last figures", "105", 2)
	now = now.Add(5 * time.Second)
	check("no read again before the interval", "110", 2)
	now = now.Add(10 * time.Second)
	fail = nil
	check("read again after the interval", "90", 3) // read() dates its rows from the new now
}

// Breakers are read when scraped: every group shows, in its present state.
func TestBreakerCollectorReadsStatesAtScrape(t *testing.T) {
	m := newMetrics("test")
	states := map[string]string{"core.account": "closed", "core.loan": "open", "core.person": "half-open"}
	m.watchBreakers(func() map[string]string { return states })
	want := `
# HELP handheld_core_breaker_open Core circuit breaker state by endpoint group, read at scrape time: 0 closed, 0.5 half-open, 1 open.
# TYPE handheld_core_breaker_open gauge
handheld_core_breaker_open{group="account"} 0
handheld_core_breaker_open{group="loan"} 1
handheld_core_breaker_open{group="person"} 0.5
# HELP handheld_core_retries_total Core reads attempted again after a transient failure, by endpoint group.
# TYPE handheld_core_retries_total counter
handheld_core_retries_total{group="account"} 0
handheld_core_retries_total{group="loan"} 2
handheld_core_retries_total{group="person"} 0
`
	m.coreRetry("loan")
	m.coreRetry("loan")
	if err := testutil.GatherAndCompare(m.registry, strings.NewReader(want), "handheld_core_breaker_open", "handheld_core_retries_total"); err != nil {
		t.Error(err)
	}
	states["core.loan"] = "closed"
	if got := testutil.ToFloat64(m.retries.WithLabelValues("loan")); got != 2 {
		t.Errorf("retries = %v, want 2", got)
	}
	if err := testutil.GatherAndCompare(m.registry, strings.NewReader(strings.Replace(want,
		`handheld_core_breaker_open{group="loan"} 1`, `handheld_core_breaker_open{group="loan"} 0`, 1)),
		"handheld_core_breaker_open"); err != nil {
		t.Errorf("after the loan breaker closed: %v", err)
	}
}

func TestRedisPoolCollector(t *testing.T) {
	stats := &redis.PoolStats{Hits: 40, Misses: 2, Timeouts: 1, WaitCount: 3, WaitDurationNs: int64(1500 * time.Millisecond),
		TotalConns: 5, IdleConns: 4, StaleConns: 6}
	c := newRedisPoolCollector(func() *redis.PoolStats { return stats })
	want := `
# HELP handheld_redis_pool_conns Redis connections in the pool.
# TYPE handheld_redis_pool_conns gauge
handheld_redis_pool_conns 5
# HELP handheld_redis_pool_hits_total Times a free Redis connection was found in the pool.
# TYPE handheld_redis_pool_hits_total counter
handheld_redis_pool_hits_total 40
# HELP handheld_redis_pool_idle_conns Idle Redis connections in the pool.
# TYPE handheld_redis_pool_idle_conns gauge
handheld_redis_pool_idle_conns 4
# HELP handheld_redis_pool_misses_total Times no free Redis connection was in the pool and one was dialled.
# TYPE handheld_redis_pool_misses_total counter
handheld_redis_pool_misses_total 2
# HELP handheld_redis_pool_stale_conns_total Redis connections removed from the pool as stale.
# TYPE handheld_redis_pool_stale_conns_total counter
handheld_redis_pool_stale_conns_total 6
# HELP handheld_redis_pool_timeouts_total Times waiting for a Redis connection from the pool timed out.
# TYPE handheld_redis_pool_timeouts_total counter
handheld_redis_pool_timeouts_total 1
# HELP handheld_redis_pool_wait_seconds_total Time spent waiting for a Redis connection from the pool.
# TYPE handheld_redis_pool_wait_seconds_total counter
handheld_redis_pool_wait_seconds_total 1.5
# HELP handheld_redis_pool_waits_total Times a command waited for a Redis connection from the pool.
# TYPE handheld_redis_pool_waits_total counter
handheld_redis_pool_waits_total 3
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// The build's version comes from Config.Version, main's -ldflags value.
func TestBuildInfo(t *testing.T) {
	m := newMetrics("v1.4.2-3-gabcdef0")
	fams, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "handheld_build_info" {
			continue
		}
		labels := map[string]string{}
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["version"] != "v1.4.2-3-gabcdef0" || !strings.HasPrefix(labels["go_version"], "go") || labels["revision"] == "" {
			t.Errorf("build info labels %v", labels)
		}
		if v := f.GetMetric()[0].GetGauge().GetValue(); v != 1 {
			t.Errorf("build info = %v, want 1", v)
		}
		return
	}
	t.Fatal("no handheld_build_info")
}
