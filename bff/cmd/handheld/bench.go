package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"handheld/bff"
)

// benchScenario is one `handheld bench` scenario: it starts what it needs,
// measures a route against its baseline in the same run and prints a table.
type benchScenario struct {
	name, about string
	run         func(ctx context.Context, o benchOptions, w io.Writer) error
}

type benchOptions struct {
	concurrency int
	duration    time.Duration
	redisURL    string
	pgURL       string
}

func benchScenarios() []benchScenario {
	return []benchScenario{
		{"ratelimit", "a trivial route with rate limiting in Redis vs the same route unlimited", benchRateLimit},
		{"account", "full-stack GET /me/account (JWT, revocation, limits in Redis, core over HTTP at 0 ms, masking, audit) vs a bare Fiber hello world", benchAccount},
		{"home", "GET /me/home with core latencies injected per part", benchHome},
		{"burst", "100 concurrent identical reads for one subject", benchBurst},
		{"certificate", "certificate issuance end to end: core facts over HTTP, PDF, signature, store", benchCertificate},
		{"withdrawal", "withdrawal applications accepted on PostgreSQL vs the floor of their write; outbox delivery to the core vs direct calls", benchWithdrawal},
	}
}

// bench runs the scenarios named in args (all when none).
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := benchOptions{}
	fs.IntVar(&o.concurrency, "c", 32, "concurrent clients")
	fs.DurationVar(&o.duration, "d", 5*time.Second, "measuring time per run")
	fs.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/0", "Redis for the limits")
	fs.StringVar(&o.pgURL, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL for the withdrawal scenario (a schema of its own per run)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (server and load) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	want := fs.Args()
	ran := 0
	for _, s := range benchScenarios() {
		if len(want) > 0 && !slices.Contains(want, s.name) {
			continue
		}
		fmt.Fprintf(stdout, "\n## %s: %s (%d clients, %s)\n\n", s.name, s.about, o.concurrency, o.duration)
		if err := s.run(ctx, o, stdout); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		ran++
	}
	if ran == 0 {
		return fmt.Errorf("no scenario named %v", want)
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
}

// load sends GET url from c clients for d (after a short warm-up) and
// measures throughput and latency. header is added to every request.
func load(ctx context.Context, label, url string, header http.Header, c int, d time.Duration) (result, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	one := func() (time.Duration, bool) {
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
	for time.Now().Before(warm) {
		if _, ok := one(); !ok {
			return result{}, errors.New(label + ": warm-up request failed")
		}
	}
	var mu sync.Mutex
	var lat []time.Duration
	var fails int
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	start := time.Now()
	for range c {
		wg.Go(func() {
			var mine []time.Duration
			bad := 0
			for time.Now().Before(end) {
				dur, ok := one()
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

// table prints results as Markdown with each run's ratio to the first.
func table(w io.Writer, rs ...result) {
	fmt.Fprintln(w, "| run | requests | errors | req/s | ratio | p50 | p99 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %d | %d | %.0f | %.2f | %s | %s |\n", r.label, r.requests, r.errors, r.rps, r.rps/rs[0].rps,
			r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond))
	}
}
