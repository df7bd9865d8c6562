package redistest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// StartCluster runs a private Redis Cluster of three masters for the test,
// on free ports of 127.0.0.1, keeping nothing on disk, and returns the
// nodes' addresses once every slot is served (cluster_state:ok). It is made
// as an operator makes one: three redis-server processes in cluster mode,
// joined by `redis-cli --cluster create`. The cluster is stopped when the
// test ends. The test fails, with one line naming the Debian package, when
// redis-server or redis-cli is not installed.
func StartCluster(t testing.TB) []string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not installed (install Debian package redis-server)")
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatal("redis-cli is not installed (install Debian package redis-tools)")
	}
	addrs := make([]string, 3)
	for i := range addrs {
		srv := &server{t: t, bin: bin, dir: t.TempDir(),
			extra: []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"}}
		srv.launchOnFreePort(clusterPort)
		addrs[i] = srv.addr()
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	out, err := exec.Command(cli, append(args, "--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v: %s", err, lastLine(string(out)))
	}
	waitClusterOK(t, addrs)
	return addrs
}

// waitClusterOK waits until every node reports the cluster ok: create
// returns once the slots are assigned, a moment before the nodes agree.
func waitClusterOK(t testing.TB, addrs []string) {
	deadline := time.Now().Add(15 * time.Second)
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond})
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			info, err := c.ClusterInfo(ctx).Result()
			cancel()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				t.Fatalf("redistest: cluster node %s not ok within 15 s: %v %s", addr, err, firstLine(info))
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// clusterPort returns a free port whose cluster bus port (port + 10000) is
// free too.
func clusterPort(t testing.TB) int {
	for range 50 {
		p := freePort(t)
		if p+10000 > 65535 {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+10000)))
		if err != nil {
			continue
		}
		l.Close()
		return p
	}
	t.Fatal("redistest: no free port pair for a cluster node")
	return 0
}

// ClusterURL is the redis+cluster:// URL that names the nodes.
func ClusterURL(addrs []string) string {
	u := "redis+cluster://" + addrs[0]
	for i, a := range addrs[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += fmt.Sprintf("%saddr=%s", sep, a)
	}
	return u
}
