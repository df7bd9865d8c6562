package audit

import (
	"context"
	"runtime"
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
