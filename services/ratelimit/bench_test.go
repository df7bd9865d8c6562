package ratelimit_test

import (
	"strconv"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/ratelimit"
	"handheld/services/redistest"
	"handheld/services/suite"
)

// benchPolicies are three policies every benchmark request matches, wide
// enough that nothing is refused: per address, per subject, per channel.
// The rate is the most a policy may have (one a microsecond), which the
// in-memory limiter outruns on a few cores; the burst absorbs that for
// a quarter of an hour.
func benchPolicies() []ratelimit.Policy {
	const rate, burst = 1_000_000, 1_000_000_000
	return []ratelimit.Policy{
		{Name: "read_ip", Key: ratelimit.KeyIP, Classes: []ratelimit.Class{"read"}, Rate: rate, Burst: burst, Period: time.Second},
		{Name: "read_subject", Key: ratelimit.KeySubject, Classes: []ratelimit.Class{"read"}, Rate: rate, Burst: burst, Period: time.Second},
		{Name: "ceiling_miniapp", Key: ratelimit.KeyChannel, Channels: []string{"miniapp"}, Rate: rate, Burst: burst, Period: time.Second},
	}
}

// benchRequests spreads the load over 1000 subjects and addresses.
func benchRequests() []ratelimit.Request {
	rs := make([]ratelimit.Request, 1000)
	for i := range rs {
		rs[i] = ratelimit.Request{Class: "read", Channel: "miniapp",
			IP: "10.0." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250), Subject: "s-" + strconv.Itoa(i)}
	}
	return rs
}

func benchmarkAllow(b *testing.B, l *ratelimit.Limiter) {
	rs := benchRequests()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			d, err := l.Allow(b.Context(), rs[i%len(rs)])
			if err != nil || !d.Allowed || d.Fallback {
				b.Fatalf("%+v, %v", d, err)
			}
			i++
		}
	})
	// 16 goroutines a CPU: requests in flight together, as in a server.
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				d, err := l.Allow(b.Context(), rs[i%len(rs)])
				if err != nil || !d.Allowed || d.Fallback {
					b.Errorf("%+v, %v", d, err)
					return
				}
				i++
			}
		})
	})
}

// BenchmarkAllowRedis: three matching policies, one round trip to the
// test Redis per request.
func BenchmarkAllowRedis(b *testing.B) {
	rdb := redistest.Client(b)
	deleteRateKeys(b, rdb)
	benchmarkAllow(b, mustNew(b, ratelimit.Config{Redis: rdb, Prefix: redistest.Prefix(b), Secret: services.NewHashKey(testSecret, suite.Env()),
		Timeout: time.Second}, benchPolicies()...))
}

// BenchmarkAllowLocal: the same in process memory (the embedded profile).
func BenchmarkAllowLocal(b *testing.B) {
	benchmarkAllow(b, mustNew(b, ratelimit.Config{}, benchPolicies()...))
}
