// Package loadtest measures the running app under load: each scenario
// starts what it needs (the app on a free port, the core simulator over
// HTTP, Redis, a PostgreSQL schema of its own), drives a route from many
// clients and prints a Markdown table with each run's ratio to a baseline
// measured in the same run, so that figures from different machines compare.
// `handheld bench` and `make bench` run it.
package loadtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"handheld/bff"
)

// Options is one load run: how hard, for how long, against which Redis and
// PostgreSQL, and which scenarios.
type Options struct {
	Concurrency int           // concurrent clients per measured run
	Duration    time.Duration // measuring time per run, after a warm-up
	RedisURL    string        // Redis for the limits and sessions
	// RedisClusterURL is a redis+cluster:// URL for the replicas scenario,
	// which is skipped without one.
	RedisClusterURL string
	PostgresURL     string   // the withdrawal scenario creates, then drops, a schema of its own here
	Only            []string // scenario names to run, in the order of Scenarios; all when empty
}

// Scenario is one measurement: a route against its baseline in the same run.
type Scenario struct {
	Name, About string
	run         func(ctx context.Context, o Options, w io.Writer) error
}

// Scenarios lists every scenario in the order Run runs them.
func Scenarios() []Scenario {
	return []Scenario{
		{"ratelimit", "a trivial route with rate limiting in Redis vs the same route unlimited", benchRateLimit},
		{"account", "full-stack GET /me/account (JWT, revocation, limits in Redis, core over HTTP at 0 ms, masking, audit) vs a bare Fiber hello world", benchAccount},
		{"tracing", "GET /me/account with tracing on at 10 % sampling (OTLP/HTTP to a local sink) vs off, alternating", benchTracing},
		{"home", "GET /me/home with core latencies injected per part", benchHome},
		{"burst", "100 concurrent identical reads for one subject", benchBurst},
		{"certificate", "certificate issuance end to end: core facts over HTTP, PDF, signature, store", benchCertificate},
		{"replicas", "GET /me/account from two replicas sharing a Redis Cluster vs one replica on one Redis node, both on PostgreSQL", benchReplicas},
		{"withdrawal", "withdrawal applications accepted on PostgreSQL vs the floor of their write; outbox delivery to the core vs direct calls", benchWithdrawal},
	}
}

// Validate checks the options before anything starts: a misspelt scenario
// name stops the run rather than being skipped.
func (o Options) Validate() error {
	var errs []error
	if o.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency %d: at least one client", o.Concurrency))
	}
	if o.Duration <= 0 {
		errs = append(errs, fmt.Errorf("duration %s: must be positive", o.Duration))
	}
	var names []string
	for _, s := range Scenarios() {
		names = append(names, s.Name)
	}
	for _, n := range o.Only {
		if !slices.Contains(names, n) {
			errs = append(errs, fmt.Errorf("no scenario named %q (scenarios: %s)", n, strings.Join(names, ", ")))
		}
	}
	return errors.Join(errs...)
}

// Run runs the chosen scenarios one after another, each under a heading,
// and stops at the first that fails.
func Run(ctx context.Context, o Options, w io.Writer) error {
	if err := o.Validate(); err != nil {
		return err
	}
	for _, s := range Scenarios() {
		if len(o.Only) > 0 && !slices.Contains(o.Only, s.Name) {
			continue
		}
		fmt.Fprintf(w, "\n## %s: %s (%d clients, %s)\n\n", s.Name, s.About, o.Concurrency, o.Duration)
		if err := s.run(ctx, o, w); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	return nil
}

// benchApp starts a handheld on a free port with cfg adjusted by edit, in
// a data dir of its own that stop removes.
func benchApp(ctx context.Context, edit func(*bff.Config)) (base string, stop func(), err error) {
	dir, err := os.MkdirTemp("", "handheld-bench-")
	if err != nil {
		return "", nil, err
	}
	base, stopApp, err := loggedApp(ctx, nil, func(c *bff.Config) {
		c.DataDir = dir
		c.LogLevel = "error"
		edit(c)
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, err
	}
	return base, func() { stopApp(); _ = os.RemoveAll(dir) }, nil
}

// loggedApp starts a handheld on a free port with the app's warnings and
// errors tallied in logs (discarded when nil), so that a failure under load
// comes with its cause. The caller's edit sets the data dir, which stop
// leaves in place.
func loggedApp(ctx context.Context, logs *appLog, edit func(*bff.Config)) (base string, stop func(), err error) {
	cfg := bff.Defaults()
	cfg.LogLevel = "warn"
	cfg.Crypto = os.Getenv("HANDHELD_CRYPTO") // HANDHELD_CRYPTO=sm measures the 国密 suite
	edit(&cfg)
	if err := cfg.Validate(); err != nil {
		return "", nil, err
	}
	var h slog.Handler = slog.DiscardHandler
	if logs != nil {
		h = logs
	}
	app, err := bff.New(ctx, cfg, slog.New(h))
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = app.Serve(sctx, ln); close(done) }()
	return "http://" + ln.Addr().String(), func() { cancel(); <-done }, nil
}

// result is one measured run.
type result struct {
	label    string
	requests int
	errors   int
	rps      float64
	p50, p99 time.Duration
	base     float64 // the baseline's req/s its ratio is to; 0: the table's first run
}

// load sends GET url from c clients for d (after a short warm-up) and
// measures throughput and latency. header is added to every request.
func load(ctx context.Context, label, url string, header http.Header, c int, d time.Duration) (result, error) {
	return loadAcross(ctx, label, []string{url}, header, c, d)
}

// loadAcross is load with the clients spread over urls, client i sending
// to urls[i%len(urls)], as a balancer spreads connections over replicas.
func loadAcross(ctx context.Context, label string, urls []string, header http.Header, c int, d time.Duration) (result, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	one := func(url string) (time.Duration, bool) {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		req.Header = header.Clone()
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(t0), resp.StatusCode == http.StatusOK
	}
	// Warm-up: connections, caches.
	warm := time.Now().Add(500 * time.Millisecond)
	for i := 0; time.Now().Before(warm) || i < len(urls); i++ {
		if _, ok := one(urls[i%len(urls)]); !ok {
			return result{}, errors.New(label + ": warm-up request failed")
		}
	}
	var mu sync.Mutex
	var lat []time.Duration
	var fails int
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	start := time.Now()
	for i := range c {
		url := urls[i%len(urls)]
		wg.Go(func() {
			var mine []time.Duration
			bad := 0
			for time.Now().Before(end) {
				dur, ok := one(url)
				if !ok {
					bad++
					continue
				}
				mine = append(mine, dur)
			}
			mu.Lock()
			lat = append(lat, mine...)
			fails += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	r := result{label: label, requests: len(lat), errors: fails, rps: float64(len(lat)) / elapsed.Seconds()}
	if len(lat) > 0 {
		r.p50 = lat[len(lat)/2]
		r.p99 = lat[len(lat)*99/100]
	}
	return r, nil
}

// table prints results as Markdown with each run's ratio to its baseline,
// the first run unless it names its own.
func table(w io.Writer, rs ...result) {
	fmt.Fprintln(w, "| run | requests | errors | req/s | ratio | p50 | p99 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range rs {
		base := cmp.Or(r.base, rs[0].rps)
		fmt.Fprintf(w, "| %s | %d | %d | %.0f | %.2f | %s | %s |\n", r.label, r.requests, r.errors, r.rps, r.rps/base,
			r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond))
	}
}
