package audit

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"handheld/services/store/storetest"
)

// BenchmarkAppend measures records per second into a trail on disk (an
// SQLite file, a PostgreSQL schema): Append from one caller and from 64
// callers at once, each waiting for its commit, as concurrent sign-ins do;
// and Enqueue, as reads do.
//
//	go test -run '^$' -bench Append -benchtime 5000x ./services/audit/
func BenchmarkAppend(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			b.Run("append-1", func(b *testing.B) { // one caller: the latency of a commit
				s := storetest.Migrated(b, backend.DSN(b))
				l := newLog(b, s, Options{})
				b.ResetTimer()
				for i := range b.N {
					if err := l.Append(context.Background(), rec(i)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
			b.Run("append-64", func(b *testing.B) {
				s := storetest.Migrated(b, backend.DSN(b))
				l := newLog(b, s, Options{})
				b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						if err := l.Append(context.Background(), rec(i)); err != nil {
							b.Error(err)
							return
						}
						i++
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
			b.Run("enqueue", func(b *testing.B) {
				s := storetest.Migrated(b, backend.DSN(b))
				l := New(s, Options{})
				b.ResetTimer()
				for i := range b.N {
					if err := l.Enqueue(context.Background(), rec(i)); err != nil {
						b.Fatal(err)
					}
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := l.Close(ctx); err != nil { // the records are written when Close returns
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
		})
	}
}

// BenchmarkReplicasAppend measures 4 replicas' writers (4 Logs, 16 callers
// each waiting for their commit) on one PostgreSQL trail: sharded, each
// replica on its own chain, against the single chain all four extend under
// one lock, the same records in the same run (x_single: sharded records/s
// over single-chain records/s).
//
//	go test -run '^$' -bench ReplicasAppend -benchtime 4000x ./services/audit/
func BenchmarkReplicasAppend(b *testing.B) {
	dsn := storetest.PostgresDSN(b)
	s := storetest.Migrated(b, dsn)
	run := func(sharded bool) float64 {
		logs := make([]*Log, 4)
		for i := range logs {
			o := Options{}
			if sharded {
				o.Replica = "bench-" + string(rune('a'+i))
			}
			logs[i] = newLog(b, s, o)
		}
		start := time.Now()
		var wg sync.WaitGroup
		per := max(1, b.N/64)
		for c := range 64 {
			wg.Go(func() {
				for i := range per {
					if err := logs[c%4].Append(context.Background(), rec(c*per+i)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return float64(per*64) / time.Since(start).Seconds()
	}
	b.ResetTimer()
	single := run(false)
	sharded := run(true)
	b.ReportMetric(sharded, "records/s")
	b.ReportMetric(single, "single_records/s")
	b.ReportMetric(sharded/single, "x_single")
}
