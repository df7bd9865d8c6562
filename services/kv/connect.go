package kv

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Topology says how HANDHELD_REDIS_URL reaches Redis.
type Topology string

const (
	// Single is one Redis node: redis:// or rediss://.
	Single Topology = "single"
	// Sentinel is a primary found through Sentinels: redis+sentinel://
	// (or rediss+sentinel://) naming the Sentinels, with master_name.
	Sentinel Topology = "sentinel"
	// Cluster is a Redis Cluster: redis+cluster:// (or rediss+cluster://)
	// naming one or more seed nodes.
	Cluster Topology = "cluster"
)

// Connect opens the client a URL names. The forms, with go-redis's own query
// parameters (dial_timeout, pool_size, …) accepted in each:
//
//	redis://[:password@]host:6379/0                    one node
//	redis+sentinel://[:sentinel-password@]s1:26379/0?master_name=mymaster&addr=s2:26379&password=…
//	redis+cluster://[:password@]n1:6379?addr=n2:6379&addr=n3:6379
//
// and rediss… for TLS. Every operation handheld makes touches one key (the
// rate limiter's pipelines are single-key scripts sent side by side), so keys
// need no shared hash tag and spread over a Cluster's shards; a prefix with
// a hash tag would pin them all to one shard, and is refused.
//
// Reads and writes obey context deadlines, so a hung Redis costs a request
// its own timeout, not the client's read timeout.
func Connect(raw, prefix string) (redis.UniversalClient, Topology, error) {
	if strings.ContainsAny(prefix, "{}") {
		return nil, "", errors.New("the key prefix must not contain { or }: a hash tag would put every key on one Cluster shard")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", errors.New("not a URL") // the error would echo a password
	}
	scheme := u.Scheme
	base, kind, _ := strings.Cut(scheme, "+")
	if base != "redis" && base != "rediss" {
		return nil, "", badScheme(scheme)
	}
	u.Scheme = base
	plain := u.String()
	switch Topology(kind) {
	case "":
		o, err := redis.ParseURL(plain)
		if err != nil {
			return nil, "", scrub(err)
		}
		o.ContextTimeoutEnabled = true
		return redis.NewClient(o), Single, nil
	case Sentinel:
		o, err := redis.ParseFailoverURL(plain)
		if err != nil {
			return nil, "", scrub(err)
		}
		if o.MasterName == "" {
			return nil, "", errors.New("redis+sentinel:// needs master_name=")
		}
		o.ContextTimeoutEnabled = true
		return redis.NewFailoverClient(o), Sentinel, nil
	case Cluster:
		o, err := redis.ParseClusterURL(plain)
		if err != nil {
			return nil, "", scrub(err)
		}
		o.ContextTimeoutEnabled = true
		return redis.NewClusterClient(o), Cluster, nil
	}
	return nil, "", badScheme(scheme)
}

func badScheme(s string) error {
	return fmt.Errorf("scheme %q: use redis://, redis+sentinel:// or redis+cluster:// (rediss… for TLS)", s)
}

// scrub keeps go-redis's reason but not the URL it may quote.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New("not a URL")
	}
	return err
}
