package loadtest

import (
	"context"
	"io"
	"time"

	"handheld/bff"
	"handheld/services/ratelimit"
)

// benchRateLimit measures GET /.well-known/jwks.json (class public) with its
// per-IP and channel policies enforced in Redis, against the same route
// with no policies, in the same run. The limits are set high enough that
// every request is counted and none refused. The ceiling counts class public
// only: over every anonymous class, start-up would refuse it for the routes
// that have no per-address policy below it.
func benchRateLimit(ctx context.Context, o Options, w io.Writer) error {
	high := []ratelimit.Policy{
		{Name: "public_ip", Key: ratelimit.KeyIP, Classes: []ratelimit.Class{"public"}, Rate: 100_000, Burst: 100_000, Period: time.Second},
		{Name: "ceiling_public", Key: ratelimit.KeyChannel, Classes: []ratelimit.Class{"public"}, Channels: []string{ratelimit.ChannelPublic}, Rate: 200_000, Burst: 200_000, Period: time.Second},
	}
	var results []result
	for _, run := range []struct {
		label    string
		policies []ratelimit.Policy
	}{
		{"unlimited", nil},
		{"limited (Redis, 2 policies, 1 round trip)", high},
	} {
		base, stop, err := benchApp(ctx, func(c *bff.Config) {
			c.RedisURL = o.RedisURL
			c.RateLimits = run.policies
		})
		if err != nil {
			return err
		}
		r, err := load(ctx, run.label, base+"/.well-known/jwks.json", nil, o.Concurrency, o.Duration)
		stop()
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	table(w, results...)
	return nil
}
