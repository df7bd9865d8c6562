package kv_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"handheld/services"
	"handheld/services/kv"
	"handheld/services/redistest"
	"handheld/services/suite"
)

func TestConnectNamesTheTopology(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want kv.Topology
	}{
		{"redis://127.0.0.1:6379/0", kv.Single},
		{"rediss://:pw@cache.example:6380/1", kv.Single},
		{"redis+sentinel://s1:26379/0?master_name=handheld&addr=s2:26379&password=pw", kv.Sentinel},
		{"redis+cluster://n1:6379?addr=n2:6379&addr=n3:6379", kv.Cluster},
		{"rediss+cluster://:pw@n1:6379", kv.Cluster},
	} {
		c, top, err := kv.Connect(tc.url, "handheld:")
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		c.Close()
		if top != tc.want {
			t.Errorf("%s: %s, want %s", tc.url, top, tc.want)
		}
	}
}

func TestConnectRefusesWhatItCannotUse(t *testing.T) {
	for _, tc := range []struct{ url, prefix, want string }{
		{"http://127.0.0.1:6379", "h:", "scheme"},
		{"redis+raft://127.0.0.1:6379", "h:", "scheme"},
		{"redis+sentinel://s1:26379", "h:", "master_name"},
		{"redis://127.0.0.1:6379?bogus=1", "h:", "bogus"},
		{"redis+cluster://n1:6379", "{handheld}:", "hash tag"},
		{"redis://:s3cret@[::1", "h:", "not a URL"},
	} {
		_, _, err := kv.Connect(tc.url, tc.prefix)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the password: %v", tc.url, err)
		}
	}
}

// On a real three-master cluster every Store operation works, and the keys
// of many subjects land on every shard rather than on one.
func TestStoreOnACluster(t *testing.T) {
	addrs := redistest.StartCluster(t)
	c, top, err := kv.Connect(redistest.ClusterURL(addrs), "handheld:")
	if err != nil || top != kv.Cluster {
		t.Fatal(top, err)
	}
	t.Cleanup(func() { c.Close() })
	s := kv.NewRedis(c, "handheld:", services.NewHashKey([]byte("secret"), suite.Env()), 2*time.Second)
	ctx := context.Background()
	for i := range 60 {
		k := fmt.Sprintf("bind:token-%d", i)
		if ok, err := s.SetNX(ctx, k, []byte("v"), time.Minute); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if ok, err := s.SetNX(ctx, k, []byte("w"), time.Minute); ok || err != nil {
			t.Fatal("second SetNX", ok, err)
		}
		if n, err := s.Incr(ctx, "fail:"+k, time.Minute); n != 1 || err != nil {
			t.Fatal(n, err)
		}
		if v, ok, err := s.GetDel(ctx, k); string(v) != "v" || !ok || err != nil {
			t.Fatal(v, ok, err)
		}
		if _, ok, err := s.GetDel(ctx, k); ok || err != nil {
			t.Fatal("used twice", ok, err)
		}
	}
	cc := c.(*redis.ClusterClient)
	var shards atomic.Int32 // ForEachMaster visits the shards at once
	err = cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.DBSize(ctx).Result()
		if n > 0 {
			shards.Add(1)
		}
		return err
	})
	if err != nil || shards.Load() != 3 {
		t.Fatalf("keys on %d of 3 shards (%v)", shards.Load(), err)
	}
}
