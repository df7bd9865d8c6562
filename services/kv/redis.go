package kv

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"handheld/services"
)

// RetryAfter is what a client is told to wait when Redis fails: a failover
// or a slot migration settles in about that time.
const RetryAfter = 2 * time.Second

// unavailable turns a Redis failure into 503 service.unavailable with
// Retry-After: sign-in and one-time checks cannot go on without the shared
// state, but nothing is broken that a retry will not mend.
func unavailable(err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return err
	}
	return &services.Error{Code: services.CodeUnavailable, RetryAfter: RetryAfter, Cause: err}
}

// Redis is the shared backend. Each call gets its own short deadline so a
// slow Redis costs a request milliseconds, not seconds.
type Redis struct {
	c       redis.UniversalClient
	prefix  string
	secret  services.HashKey
	timeout time.Duration
}

// NewRedis uses c with keys under prefix, hashed with secret.
func NewRedis(c redis.UniversalClient, prefix string, secret services.HashKey, timeout time.Duration) *Redis {
	return &Redis{c: c, prefix: prefix, secret: secret, timeout: timeout}
}

func (r *Redis) key(k string) string { return hashedKey(r.prefix, r.secret, k) }

func (r *Redis) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.timeout)
}

// SetNX implements Store.
func (r *Redis) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	err := r.c.SetArgs(ctx, r.key(key), value, redis.SetArgs{Mode: "NX", TTL: ttl}).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil, unavailable(err)
}

// Set implements Store.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	return unavailable(r.c.Set(ctx, r.key(key), value, ttl).Err())
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	return bytesResult(r.c.Get(ctx, r.key(key)).Bytes())
}

// GetDel implements Store.
func (r *Redis) GetDel(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	return bytesResult(r.c.GetDel(ctx, r.key(key)).Bytes())
}

// Touch implements Store.
func (r *Redis) Touch(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	ok, err := r.c.PExpire(ctx, r.key(key), ttl).Result()
	return ok, unavailable(err)
}

// Incr implements Store: INCR and, for a new key, EXPIRE in one round trip.
func (r *Redis) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	k := r.key(key)
	var incr *redis.IntCmd
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, k)
		// PEXPIRE NX: millisecond TTLs, set only when the key is new.
		p.Do(ctx, "PEXPIRE", k, ttl.Milliseconds(), "NX")
		return nil
	})
	if err != nil {
		return 0, unavailable(err)
	}
	return incr.Val(), nil
}

// TTL implements Store.
func (r *Redis) TTL(ctx context.Context, key string) (time.Duration, error) {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	d, err := r.c.PTTL(ctx, r.key(key)).Result()
	if err != nil || d < 0 {
		return 0, unavailable(err)
	}
	return d, nil
}

// Del implements Store.
func (r *Redis) Del(ctx context.Context, key string) error {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	return unavailable(r.c.Del(ctx, r.key(key)).Err())
}

// compareAndSwap sets KEYS[1] to ARGV[2], keeping its TTL, when it holds
// exactly ARGV[1]. One key, so it runs on Redis Cluster too.
var compareAndSwap = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0`)

// CompareAndSwap implements Store: one Lua script, so the read and the
// write are a single step that no other client can come between.
func (r *Redis) CompareAndSwap(ctx context.Context, key string, old, next []byte) (bool, error) {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	n, err := compareAndSwap.Run(ctx, r.c, []string{r.key(key)}, old, next).Int()
	if err != nil {
		return false, unavailable(err)
	}
	return n == 1, nil
}

func bytesResult(b []byte, err error) ([]byte, bool, error) {
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, unavailable(err)
	}
	return b, true, nil
}
