package loadtest

import (
	"context"
	"testing"
	"time"

	"handheld/services/redistest"
	"handheld/services/store/storetest"
)

// BenchmarkReplicasOnCluster is the replicas scenario with a Redis Cluster
// of its own: three masters started for the run, as in the e2e suite. It
// reports each run's requests per second and their ratio, cluster/single.
// `make bench` runs it; it takes about 15 s.
func BenchmarkReplicasOnCluster(b *testing.B) {
	nodes := redistest.StartCluster(b)
	o := Options{Concurrency: 32, Duration: 5 * time.Second, RedisURL: redistest.URL(),
		RedisClusterURL: redistest.ClusterURL(nodes), PostgresURL: storetest.PostgresURL()}
	ctx := context.Background()
	for b.Loop() {
		single, err := measureReplicas(ctx, o, o.RedisURL, 1, "single")
		if err != nil {
			b.Fatal(err)
		}
		cluster, err := measureReplicas(ctx, o, o.RedisClusterURL, 2, "cluster")
		if err != nil {
			b.Fatal(err)
		}
		if single.errors+cluster.errors > 0 {
			b.Fatalf("failed requests: %d on one node, %d on the cluster", single.errors, cluster.errors)
		}
		b.ReportMetric(single.rps, "single_req/s")
		b.ReportMetric(cluster.rps, "cluster_req/s")
		b.ReportMetric(cluster.rps/single.rps, "cluster/single")
	}
}
