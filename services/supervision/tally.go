package supervision

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// Metrics counted by a Tally, as the activity_minutes table names them.
const (
	// MetricCore is one call to the core: label the endpoint, failures
	// the calls that timed out or failed (answers such as not found or a
	// maintenance window are the core being up), with its latency.
	MetricCore = "core"
	// MetricRateLimited is one request refused by a rate limit (429):
	// label the route.
	MetricRateLimited = "rate_limited"
)

// latencyBounds are the upper bounds, in milliseconds, of the le_<ms>
// columns: a call is counted in the first bucket it fits and every one
// after (cumulative, as percentiles want).
var latencyBounds = []int64{50, 100, 250, 500, 1000, 2500, 5000}

type tallyKey struct {
	minute        int64 // unix seconds, truncated to the minute
	metric, label string
}

type tallyCounts struct {
	n, failures, sumMs, maxMs int64
	le                        [7]int64
}

// Tally counts what handheld has no other record of, per minute in
// memory, and adds it to activity_minutes when flushed (Run flushes each
// minute and once more when stopped). Counting takes a mutex and a map
// update: cheap on the request path. A replica that dies loses at most its
// last minute.
type Tally struct {
	replica string
	now     func() time.Time
	mu      sync.Mutex
	counts  map[tallyKey]*tallyCounts
}

// maxLabels bounds the distinct labels held per flush: labels are route
// templates and endpoint names, a few dozen, but a bug must not grow the
// map without end.
const maxLabels = 4096

// NewTally starts an empty tally for replica (the audit shard's name, or
// the host name).
func NewTally(replica string, now func() time.Time) *Tally {
	if now == nil {
		now = time.Now
	}
	if replica == "" {
		replica = "main"
	}
	return &Tally{replica: replica, now: now, counts: map[tallyKey]*tallyCounts{}}
}

// Core counts a call to the core (core.ClientConfig.Observe's shape).
func (t *Tally) Core(endpoint, outcome string, d time.Duration) {
	if outcome == "canceled" { // the caller left; says nothing of the core
		return
	}
	failed := outcome == "timeout" || outcome == "error"
	t.add(MetricCore, endpoint, failed, d)
}

// ObserveRequest counts a finished request refused by a rate limit
// (middleware.RequestObserver's shape); other requests are counted in the
// audit trail.
func (t *Tally) ObserveRequest(route, _ string, status int, _ time.Duration) {
	if status == 429 {
		t.add(MetricRateLimited, route, false, -1)
	}
}

func (t *Tally) add(metric, label string, failed bool, d time.Duration) {
	k := tallyKey{minute: t.now().Unix() / 60 * 60, metric: metric, label: label}
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.counts[k]
	if c == nil {
		if len(t.counts) >= maxLabels {
			return
		}
		c = &tallyCounts{}
		t.counts[k] = c
	}
	c.n++
	if failed {
		c.failures++
	}
	if d >= 0 {
		ms := d.Milliseconds()
		c.sumMs += ms
		c.maxMs = max(c.maxMs, ms)
		for i, b := range latencyBounds {
			if ms <= b {
				c.le[i]++
			}
		}
	}
}

// Flush adds what was counted since the last flush to activity_minutes,
// one upsert per minute, metric and label, in one transaction. On failure
// the counts are kept for the next flush.
func (t *Tally) Flush(ctx context.Context, s *store.Store) error {
	t.mu.Lock()
	taken := t.counts
	t.counts = map[tallyKey]*tallyCounts{}
	t.mu.Unlock()
	if len(taken) == 0 {
		return nil
	}
	err := s.Tx(ctx, func(tx *store.Tx) error {
		for k, c := range taken {
			if _, err := tx.Exec(ctx, `INSERT INTO activity_minutes (minute, replica, metric, label, n, failures, sum_ms, max_ms,
				le_50, le_100, le_250, le_500, le_1000, le_2500, le_5000)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
				ON CONFLICT (minute, replica, metric, label) DO UPDATE SET n = activity_minutes.n + excluded.n,
				failures = activity_minutes.failures + excluded.failures, sum_ms = activity_minutes.sum_ms + excluded.sum_ms,
				max_ms = CASE WHEN excluded.max_ms > activity_minutes.max_ms THEN excluded.max_ms ELSE activity_minutes.max_ms END,
				le_50 = activity_minutes.le_50 + excluded.le_50, le_100 = activity_minutes.le_100 + excluded.le_100,
				le_250 = activity_minutes.le_250 + excluded.le_250, le_500 = activity_minutes.le_500 + excluded.le_500,
				le_1000 = activity_minutes.le_1000 + excluded.le_1000, le_2500 = activity_minutes.le_2500 + excluded.le_2500,
				le_5000 = activity_minutes.le_5000 + excluded.le_5000`,
				store.Timestamp(time.Unix(k.minute, 0)), t.replica, k.metric, truncate(k.label, 200), c.n, c.failures, c.sumMs, c.maxMs,
				c.le[0], c.le[1], c.le[2], c.le[3], c.le[4], c.le[5], c.le[6]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.mu.Lock()
		for k, c := range taken {
			if cur := t.counts[k]; cur != nil {
				cur.n += c.n
				cur.failures += c.failures
				cur.sumMs += c.sumMs
				cur.maxMs = max(cur.maxMs, c.maxMs)
				for i := range cur.le {
					cur.le[i] += c.le[i]
				}
			} else {
				t.counts[k] = c
			}
		}
		t.mu.Unlock()
		return services.Errorf(services.CodeInternal, "supervision: flush tally: %w", err)
	}
	return nil
}

// Run flushes every interval until ctx ends, then once more with a short
// deadline of its own, so that a replica shutting down keeps its minute.
func (t *Tally) Run(ctx context.Context, s *store.Store, every time.Duration, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if err := t.Flush(ctx, s); err != nil && ctx.Err() == nil {
				log.Warn("supervision: tally not flushed", "err", err.Error())
			}
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := t.Flush(fctx, s); err != nil {
				log.Warn("supervision: last tally not flushed", "err", err.Error())
			}
			cancel()
			return
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
