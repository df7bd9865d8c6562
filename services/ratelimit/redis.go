package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript is redis_rate v10's GCRA (github.com/go-redis/redis_rate,
// after Pavel Pravosud's redis-gcra): the key holds the theoretical arrival
// time (TAT); an event is allowed when, one emission interval later, the TAT
// is at most burst intervals ahead of now. It differs from redis_rate's
// script in two ways only. It counts in whole microseconds (Redis's TIME
// resolution) where redis_rate uses float seconds: 60 s / 9 is not exact in
// floating point, and redis_rate then reports 7 remaining where 8 are, or
// refuses the last event of a burst sent in one instant. And it is ours to
// pipeline: redis_rate.AllowN waits for its reply before returning, which
// would cost one round trip per policy (see redisAllow).
//
// Integers below 2^53 are exact in Lua's doubles (the TAT is about 2^51
// microseconds since 1970), and the TAT is written with %.0f because Lua
// would otherwise format it with 14 significant digits.
const gcraScript = `
redis.replicate_commands()

local key = KEYS[1]
local burst = tonumber(ARGV[1])
local interval = tonumber(ARGV[2]) -- emission interval, microseconds

local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local tat = tonumber(redis.call("GET", key)) or now
if tat < now then
  tat = now
end

local new_tat = tat + interval
local diff = now - (new_tat - burst * interval)

if diff < 0 then
  -- refused: {allowed, remaining, retry after, reset after}
  return {0, 0, -diff, tat - now}
end

redis.call("SET", key, string.format("%.0f", new_tat), "PX", math.ceil((new_tat - now) / 1000))
return {1, math.floor(diff / interval), 0, new_tat - now}
`

// redisAllow evaluates one GCRA step for each key in a single pipeline: one
// round trip to a single Redis, or one per shard, in parallel, to a Redis
// Cluster (the keys of one request live in different slots, which is why
// this is N single-key scripts and not one N-key script). After a restart or
// SCRIPT FLUSH the server answers NOSCRIPT, and those commands alone are sent
// again with the script's text: one more round trip, once per restart.
//
// Pipelining does not make the steps atomic together: every matching policy
// counts the request even when another one refuses it, as Envoy's and most
// multi-limit services do. A refused caller therefore also spends its
// per-address budget, which is what one wants against a guesser.
func (l *Limiter) redisAllow(ctx context.Context, keys []string, lims []limit) ([]result, error) {
	args := make([][]any, len(keys))
	for i, lim := range lims {
		args[i] = []any{lim.burst, lim.interval().Microseconds()}
	}
	all := make([]int, len(keys))
	for i := range all {
		all[i] = i
	}
	cmds := make([]*redis.Cmd, len(keys))
	if err := l.pipeline(ctx, cmds, all, keys, args, true); err != nil {
		return nil, err
	}
	// Only the commands that found no script are sent again: the others
	// have counted already (a Cluster shard can lose its scripts alone).
	var again []int
	for i, cmd := range cmds {
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			again = append(again, i)
		}
	}
	if len(again) > 0 {
		if err := l.pipeline(ctx, cmds, again, keys, args, false); err != nil {
			return nil, err
		}
	}
	out := make([]result, len(cmds))
	for i, cmd := range cmds {
		var err error
		if out[i], err = parseResult(cmd); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pipeline sends one EVALSHA (or EVAL) for each of keys[which], in one round
// trip, storing the commands in cmds. It fails only when the round trip
// did; errors Redis answered stay with their command.
func (l *Limiter) pipeline(ctx context.Context, cmds []*redis.Cmd, which []int, keys []string, args [][]any, bySHA bool) error {
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, i := range which {
			if bySHA {
				cmds[i] = p.EvalSha(ctx, l.sha, []string{keys[i]}, args[i]...)
			} else {
				cmds[i] = p.Eval(ctx, gcraScript, []string{keys[i]}, args[i]...)
			}
		}
		return nil
	})
	var answered redis.Error
	if err != nil && !errors.As(err, &answered) {
		return err
	}
	return nil
}

// parseResult reads the script's {allowed, remaining, retry after, reset
// after} reply, durations in microseconds.
func parseResult(cmd *redis.Cmd) (result, error) {
	vals, err := cmd.Int64Slice()
	if err != nil {
		return result{}, err
	}
	if len(vals) != 4 {
		return result{}, fmt.Errorf("rate-limit script: %d values, want 4", len(vals))
	}
	return result{allowed: vals[0] == 1, remaining: int(vals[1]),
		retryAfter: time.Duration(vals[2]) * time.Microsecond,
		resetAfter: time.Duration(vals[3]) * time.Microsecond}, nil
}
