package loadtest

import (
	"context"
	"fmt"
	"io"
	"os"

	"handheld/bff"
)

// benchReplicas: GET /me/account from one replica on one Redis node
// against two replicas sharing a three-master Redis Cluster, the shape of a
// centre's deployment. Both runs keep their records in PostgreSQL and read
// the same simulator over HTTP; each replica caches the core for itself,
// while limits and revocations live in Redis and are shared.
func benchReplicas(ctx context.Context, o Options, w io.Writer) error {
	if o.RedisClusterURL == "" {
		fmt.Fprintln(w, "skipped: no Redis Cluster named (-redis-cluster); `go test -run '^$' -bench ReplicasOnCluster ./bff/loadtest/` starts one itself")
		return nil
	}
	single, err := measureReplicas(ctx, o, o.RedisURL, 1, "one replica, one Redis node")
	if err != nil {
		return err
	}
	cluster, err := measureReplicas(ctx, o, o.RedisClusterURL, 2, "two replicas, Redis Cluster of three masters")
	if err != nil {
		return err
	}
	table(w, single, cluster)
	return nil
}

// measureReplicas starts n replicas sharing a data directory (their keys),
// a PostgreSQL schema and the Redis at redisURL, signs one depositor in at
// the first and loads /me/account across all of them.
func measureReplicas(ctx context.Context, o Options, redisURL string, n int, label string) (result, error) {
	dsn, _, dropSchema, err := benchSchema(ctx, o.PostgresURL)
	if err != nil {
		return result{}, err
	}
	defer dropSchema()
	sim, simURL, stopSim, err := serveSim(ctx)
	if err != nil {
		return result{}, err
	}
	defer stopSim()
	dataDir, err := os.MkdirTemp("", "handheld-bench-replicas-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dataDir)
	var bases, urls []string
	for range n { // one after another: the first migrates the schema
		base, stop, err := loggedApp(ctx, nil, func(c *bff.Config) {
			c.DataDir, c.DatabaseURL, c.RedisURL = dataDir, dsn, redisURL
			c.CoreURL, c.CoreSecret = simURL, benchCoreSecret
			c.RateLimits = roomy()
			c.LogLevel = "error"
		})
		if err != nil {
			return result{}, err
		}
		defer stop()
		bases, urls = append(bases, base), append(urls, base+"/api/v1/me/account")
	}
	auth, err := signInAt(bases[0], sim)
	if err != nil {
		return result{}, err
	}
	return loadAcross(ctx, fmt.Sprintf("GET /me/account, %s", label), urls, auth, o.Concurrency, o.Duration)
}
