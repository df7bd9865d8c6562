package ratelimit

import (
	"context"
	"hash/maphash"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Refund gives back the unit a request spent under each Budget policy it
// matched: the caller learned that the request did no work (it was answered
// from an Idempotency-Key replay, or failed on the service's side). Other
// policies keep the unit: they guard capacity, which the request used.
//
// Like Allow it fails soft: without Redis, or while Redis is failing, the
// unit is given back in memory, where a fallback decision took it.
func (l *Limiter) Refund(ctx context.Context, r Request) {
	var ms []matched
	for _, m := range l.match(r) {
		if m.rule.Budget {
			ms = append(ms, m)
		}
	}
	if len(ms) == 0 {
		return
	}
	now := l.cfg.Now()
	if l.rdb != nil && now.UnixNano() >= l.downUntil.Load() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.Timeout)
		defer cancel()
		failed := false
		for _, m := range ms {
			interval := strconv.FormatFloat(m.rule.lim.interval(), 'f', -1, 64)
			if err := refundScript.Run(ctx, l.rdb, []string{redisRatePrefix + m.key}, interval).Err(); err != nil {
				failed = true
			}
		}
		if !failed {
			return
		}
	}
	for _, m := range ms {
		l.mem.refund(m.key, m.rule.lim.share(l.cfg.Replicas), now)
	}
}

// redisRatePrefix is what redis_rate puts before every key it is given.
const redisRatePrefix = "rate:"

// refundScript moves a redis_rate GCRA key's arrival time back by one
// emission interval (ARGV[1], float seconds), in redis_rate's clock; a key
// back at or before now is deleted, which is a full burst. redis_rate's own
// script cannot do this with a negative cost: it leaves the key unchanged
// when the new arrival time is not in the future.
var refundScript = redis.NewScript(`
redis.replicate_commands()
local tat = tonumber(redis.call("GET", KEYS[1]))
if not tat then
  return 0
end
local t = redis.call("TIME")
local now = (t[1] - 1483228800) + (t[2] / 1000000)
local new_tat = tat - tonumber(ARGV[1])
if new_tat > now then
  redis.call("SET", KEYS[1], new_tat, "EX", math.ceil(new_tat - now))
else
  redis.call("DEL", KEYS[1])
end
return 1
`)

// refund is the in-memory side of Refund: the key's arrival time moves back
// one interval, and a key back at or before now is dropped.
func (l *local) refund(key string, lim limit, now time.Time) {
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	tat, ok := sh.tat[key]
	if !ok {
		return
	}
	if tat -= lim.interval(); tat <= seconds(now) {
		delete(sh.tat, key)
		return
	}
	sh.tat[key] = tat
}
