package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"handheld/bff/loadtest"
)

// bench runs the load scenarios named in args (all when none); the
// scenarios themselves live in bff/loadtest.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: handheld bench [flags] [scenario...]\n\nscenarios:")
		for _, s := range loadtest.Scenarios() {
			fmt.Fprintf(stderr, "  %-12s %s\n", s.Name, s.About)
		}
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	o := loadtest.Options{}
	fs.IntVar(&o.Concurrency, "c", 32, "concurrent clients")
	fs.DurationVar(&o.Duration, "d", 5*time.Second, "measuring time per run")
	fs.StringVar(&o.RedisURL, "redis", "redis://127.0.0.1:6379/0", "Redis for the limits")
	fs.StringVar(&o.RedisClusterURL, "redis-cluster", "", "redis+cluster:// URL of a Redis Cluster for the replicas scenario (skipped when empty)")
	fs.StringVar(&o.PostgresURL, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL for the withdrawal scenario (a schema of its own per run)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (server and load) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Only = fs.Args()
	if err := o.Validate(); err != nil {
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
	return loadtest.Run(ctx, o, stdout)
}
