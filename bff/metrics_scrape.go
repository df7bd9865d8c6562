package bff

import (
	"context"
	"database/sql"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"handheld/services/outbox"
)

// The collectors below read their figures when Prometheus scrapes, from
// the owner of each: the core reader's breakers, the database and Redis
// pools, the outbox's own read function. Nothing is copied into a gauge
// ahead of time, so a scrape always shows the present.

// watchBreakers exports each core breaker's state at scrape time and starts
// each group's retry counter at zero, so that every group shows from the
// first scrape, not from its first trouble.
func (m *metrics) watchBreakers(states func() map[string]string) {
	for name := range states() {
		m.retries.WithLabelValues(groupOf(name))
	}
	m.registry.MustRegister(breakerCollector{states: states, desc: prometheus.NewDesc("handheld_core_breaker_open",
		"Core circuit breaker state by endpoint group, read at scrape time: 0 closed, 0.5 half-open, 1 open.",
		[]string{"group"}, nil)})
}

type breakerCollector struct {
	states func() map[string]string
	desc   *prometheus.Desc
}

func (c breakerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c breakerCollector) Collect(ch chan<- prometheus.Metric) {
	states := c.states()
	for _, name := range slices.Sorted(maps.Keys(states)) {
		v := map[string]float64{"closed": 0, "half-open": 0.5, "open": 1}[states[name]]
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, groupOf(name))
	}
}

// watchStore exports the database pool (database/sql's DBStats) as
// client_golang's go_sql_* family, db_name "handheld".
func (m *metrics) watchStore(db *sql.DB) {
	m.registry.MustRegister(collectors.NewDBStatsCollector(db, "handheld"))
}

// watchRedis exports the Redis client's connection pool (all nodes', for
// a cluster) at scrape time.
func (m *metrics) watchRedis(c redis.UniversalClient) {
	m.registry.MustRegister(newRedisPoolCollector(c.PoolStats))
}

type redisPoolCollector struct {
	stats                                             func() *redis.PoolStats
	hits, misses, timeouts, waits, waitSeconds, stale *prometheus.Desc
	conns, idle                                       *prometheus.Desc
}

func newRedisPoolCollector(stats func() *redis.PoolStats) redisPoolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("handheld_redis_pool_"+name, help, nil, nil)
	}
	return redisPoolCollector{
		stats:       stats,
		hits:        d("hits_total", "Times a free Redis connection was found in the pool."),
		misses:      d("misses_total", "Times no free Redis connection was in the pool and one was dialled."),
		timeouts:    d("timeouts_total", "Times waiting for a Redis connection from the pool timed out."),
		waits:       d("waits_total", "Times a command waited for a Redis connection from the pool."),
		waitSeconds: d("wait_seconds_total", "Time spent waiting for a Redis connection from the pool."),
		stale:       d("stale_conns_total", "Redis connections removed from the pool as stale."),
		conns:       d("conns", "Redis connections in the pool."),
		idle:        d("idle_conns", "Idle Redis connections in the pool."),
	}
}

func (c redisPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.hits, c.misses, c.timeouts, c.waits, c.waitSeconds, c.stale, c.conns, c.idle} {
		ch <- d
	}
}

func (c redisPoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	counter(c.hits, float64(s.Hits))
	counter(c.misses, float64(s.Misses))
	counter(c.timeouts, float64(s.Timeouts))
	counter(c.waits, float64(s.WaitCount))
	counter(c.waitSeconds, time.Duration(s.WaitDurationNs).Seconds())
	counter(c.stale, float64(s.StaleConns))
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(s.TotalConns))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.IdleConns))
}

// Reading the outbox backlog costs one aggregate statement over the
// pending rows. backlogEvery bounds how often any number of scrapes (every
// replica's, every Prometheus's) run it; backlogTimeout bounds one run.
const (
	backlogEvery   = 15 * time.Second
	backlogTimeout = 2 * time.Second
)

// watchOutbox exports the outbox backlog per topic, read through read (the
// worker's Backlog) at most every backlogEvery.
func (m *metrics) watchOutbox(read func(context.Context) ([]outbox.Backlog, error), log *slog.Logger) {
	m.registry.MustRegister(newBacklogCollector(read, time.Now, backlogEvery, log))
}

// backlogCollector serves the last backlog it read, reading again when
// that is older than every. Concurrent scrapes share one read; a failed
// read keeps the last figures (the age still grows, from the oldest row's
// own time) and is logged, and is not tried again before every has passed,
// so that a struggling database is not asked again on every scrape.
type backlogCollector struct {
	read  func(context.Context) ([]outbox.Backlog, error)
	now   func() time.Time
	every time.Duration
	log   *slog.Logger

	pending, failing, overdue, age *prometheus.Desc

	mu     sync.Mutex
	readAt time.Time
	last   []outbox.Backlog
}

func newBacklogCollector(read func(context.Context) ([]outbox.Backlog, error), now func() time.Time,
	every time.Duration, log *slog.Logger) *backlogCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("handheld_outbox_"+name, help, []string{"topic"}, nil)
	}
	return &backlogCollector{read: read, now: now, every: every, log: log,
		pending: d("pending", "Outbox rows not delivered yet, by topic (read at most every 15 s)."),
		failing: d("failing", "Pending outbox rows whose last delivery failed and that wait for a retry, by topic."),
		overdue: d("overdue", "Pending outbox rows due for over a minute that no worker has taken, by topic."),
		age:     d("oldest_pending_age_seconds", "Age of the oldest pending outbox row, by topic; 0 when none is pending."),
	}
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.failing
	ch <- c.overdue
	ch <- c.age
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	for _, b := range c.backlog(now) {
		topic := string(b.Topic)
		age := 0.0
		if !b.Oldest.IsZero() {
			age = max(now.Sub(b.Oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(b.Pending), topic)
		ch <- prometheus.MustNewConstMetric(c.failing, prometheus.GaugeValue, float64(b.Failing), topic)
		ch <- prometheus.MustNewConstMetric(c.overdue, prometheus.GaugeValue, float64(b.Overdue), topic)
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age, topic)
	}
}

func (c *backlogCollector) backlog(now time.Time) []outbox.Backlog {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.readAt.IsZero() && now.Sub(c.readAt) < c.every {
		return c.last
	}
	c.readAt = now
	ctx, cancel := context.WithTimeout(context.Background(), backlogTimeout)
	defer cancel()
	b, err := c.read(ctx)
	if err != nil {
		c.log.Warn("outbox backlog for /metrics not read; the last figures stand", "cause", err.Error())
		return c.last
	}
	c.last = b
	return b
}
