package ratelimit

import (
	"context"
	"sync"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// redisAllow counts one event for each key, under its limit, with
// redis_rate's GCRA, and costs Redis one round trip for all of them (one
// per shard, in parallel, on a Redis Cluster: the keys of one request live
// in different slots, which is why this is N single-key scripts and not one
// N-key script). Each key gets its own redis_rate.Limiter.AllowN call, in
// its own goroutine, and the batch they share sends their EVALSHAs in one
// pipeline. The last call runs on the calling goroutine, which viaRedis has
// already set apart.
//
// Pipelining does not make the steps atomic together: every matching policy
// counts the request even when another one refuses it, as Envoy's and most
// multi-limit services do. A refused caller therefore also spends its
// per-address budget, which is what one wants against a guesser.
func (l *Limiter) redisAllow(ctx context.Context, keys []string, lims []limit) ([]result, error) {
	n := len(keys)
	rl := redis_rate.NewLimiter(newBatch(l.rdb, n))
	rs := make([]result, n)
	errs := make([]error, n)
	step := func(i int) {
		res, err := rl.AllowN(ctx, keys[i], lims[i].redisRate(), 1)
		if err != nil {
			errs[i] = err
			return
		}
		rs[i] = fromRedisRate(res)
	}
	var wg sync.WaitGroup
	for i := range n - 1 {
		wg.Go(func() { step(i) })
	}
	step(n - 1)
	wg.Wait()
	// When Redis fails, every call fails alike: the first error says it.
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// fromRedisRate reads redis_rate's answer for one event. The library
// reports RetryAfter -1 when the event is allowed; a Decision says 0.
func fromRedisRate(r *redis_rate.Result) result {
	if r.Allowed == 0 {
		return result{remaining: r.Remaining, retryAfter: r.RetryAfter, resetAfter: r.ResetAfter}
	}
	return result{allowed: true, remaining: r.Remaining, resetAfter: r.ResetAfter}
}

// batch gathers the EvalSha calls that one request's policies make — each
// through redis_rate.Limiter.AllowN in its own goroutine — and sends them to
// Redis in one pipeline. It stands in for the client in redis_rate.NewLimiter:
// AllowN runs its script through go-redis's Script.Run, which sends EVALSHA
// and needs the reply before AllowN returns, so a limiter on the client
// itself would cost one round trip per policy.
//
// A batch serves one request and expects n EvalSha calls, one per matched
// policy. The first n-1 wait; the call that completes the set sends all n
// in one pipeline, copies each reply or error into its caller's command and
// releases the waiters. A waiter whose context ends first (the limiter's
// Timeout) gives up with the context's error. Calls beyond n, which
// redisAllow never makes, go straight to the client.
//
// Eval and the other methods go straight to the client too. Eval is how
// Script.Run recovers from NOSCRIPT, after a Redis restart or SCRIPT FLUSH
// (a Cluster shard can lose its scripts alone): under pipelining NOSCRIPT
// comes back per command, so only the commands that found no script are
// sent again, with the script's text, and nothing is counted twice. Those
// EVALs are not batched: the policies' goroutines send them side by side,
// on as many pooled connections, which costs about one more round trip,
// once per restart, after which EVALSHA finds the script.
type batch struct {
	rdb  redis.UniversalClient
	n    int
	sent chan struct{} // closed when every call has its reply

	mu    sync.Mutex
	calls []call // fixed once len(calls) == n
}

// call is one EvalSha as redis_rate made it, and the command its caller
// reads the reply from.
type call struct {
	sha  string
	keys []string
	args []any
	cmd  *redis.Cmd
}

func newBatch(rdb redis.UniversalClient, n int) *batch {
	return &batch{rdb: rdb, n: n, sent: make(chan struct{}), calls: make([]call, 0, n)}
}

// EvalSha records the call and returns once the batch has been sent (by
// this call, when it is the last) or the context has ended.
func (b *batch) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	cmdArgs := make([]any, 0, 3+len(keys)+len(args))
	cmdArgs = append(cmdArgs, "evalsha", sha, len(keys))
	for _, k := range keys {
		cmdArgs = append(cmdArgs, k)
	}
	cmd := redis.NewCmd(ctx, append(cmdArgs, args...)...)

	b.mu.Lock()
	if len(b.calls) == b.n {
		b.mu.Unlock()
		return b.rdb.EvalSha(ctx, sha, keys, args...)
	}
	b.calls = append(b.calls, call{sha: sha, keys: keys, args: args, cmd: cmd})
	last := len(b.calls) == b.n
	b.mu.Unlock()

	if last {
		b.send(ctx)
		return cmd
	}
	select {
	case <-b.sent:
		return cmd
	case <-ctx.Done():
		// Not cmd: the sender may still write into it.
		gone := redis.NewCmd(ctx, cmd.Args()...)
		gone.SetErr(ctx.Err())
		return gone
	}
}

// send runs the batch's calls as one pipeline and hands out the replies.
// Errors Redis answered (NOSCRIPT) stay with their command; a failed round
// trip is every command's error, as go-redis sets it.
func (b *batch) send(ctx context.Context) {
	defer close(b.sent)
	cmds := make([]*redis.Cmd, len(b.calls))
	_, err := b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range b.calls {
			cmds[i] = p.EvalSha(ctx, c.sha, c.keys, c.args...)
		}
		return nil
	})
	for i, c := range b.calls {
		switch val, cerr := cmds[i].Result(); {
		case cerr != nil:
			c.cmd.SetErr(cerr)
		case val == nil && err != nil: // no reply of its own: go-redis sets one, but be sure
			c.cmd.SetErr(err)
		default:
			c.cmd.SetVal(val)
		}
	}
}

// Eval is Script.Run's retry after NOSCRIPT: see batch.
func (b *batch) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return b.rdb.Eval(ctx, script, keys, args...)
}

func (b *batch) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return b.rdb.EvalRO(ctx, script, keys, args...)
}

func (b *batch) EvalShaRO(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	return b.rdb.EvalShaRO(ctx, sha, keys, args...)
}

func (b *batch) ScriptExists(ctx context.Context, hashes ...string) *redis.BoolSliceCmd {
	return b.rdb.ScriptExists(ctx, hashes...)
}

func (b *batch) ScriptLoad(ctx context.Context, script string) *redis.StringCmd {
	return b.rdb.ScriptLoad(ctx, script)
}

func (b *batch) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	return b.rdb.Del(ctx, keys...)
}

// redisRate is l as redis_rate takes it.
func (l limit) redisRate() redis_rate.Limit {
	return redis_rate.Limit{Rate: l.rate, Burst: l.burst, Period: l.period}
}
