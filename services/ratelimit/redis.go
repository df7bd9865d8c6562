package ratelimit

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Counting in Redis. Every request's events (one per policy it matched) go
// to the pipe, which sends the events of all the requests waiting together
// in one pipeline of redis_rate GCRA scripts: under load one round trip,
// one socket write and one read, serves many requests, and alone a request
// waits for nobody.
//
// Within a round, the events on one key (a channel's ceiling, or one
// person's or address's burst) are counted by one script, redis_rate's
// AllowN with the number of events as its cost. When that is allowed, each
// event is, exactly as if they had come one after another: GCRA allows n
// events at once precisely when it would allow each of them in turn, and
// leaves the same state. When it is refused, the script changed nothing,
// and the events are counted again one by one in a second pipeline, so
// that as many as the limit allows go on, in the order they came. A
// decision is therefore the same as with one script per event; only the
// number of scripts and round trips differs.
//
// Pipelining does not make the steps atomic together: every matching policy
// counts the request even when another one refuses it, as Envoy's and most
// multi-limit services do. A refused caller therefore also spends its
// per-address budget, which is what one wants against a guesser.

// want is one request's events and, once its round is back, their results.
type want struct {
	ctx  context.Context
	keys []string
	lims []limit
	rs   []result
	err  error
	done chan struct{} // closed when rs or err is set
	gone atomic.Bool   // the caller stopped waiting: not to be counted
}

// redisAllow counts one event for each key, under its limit, and returns
// when the round carrying them is back or the Timeout has passed. go-redis
// ignores context deadlines on reads unless the client was built with
// ContextTimeoutEnabled, so the wait is bounded here: an abandoned round
// finishes in the background within the round's own deadline.
func (l *Limiter) redisAllow(ctx context.Context, keys []string, lims []limit) ([]result, error) {
	w := &want{ctx: ctx, keys: keys, lims: lims, rs: make([]result, len(keys)), done: make(chan struct{})}
	l.pipe.submit(w)
	t := time.NewTimer(l.cfg.Timeout)
	defer t.Stop()
	select {
	case <-w.done:
		return w.rs, w.err
	case <-t.C:
		w.gone.Store(true)
		return nil, context.DeadlineExceeded
	case <-ctx.Done():
		w.gone.Store(true)
		return nil, context.Cause(ctx)
	}
}

// pipe sends the events of concurrent requests to Redis together. A request
// that finds fewer than max rounds out starts one, on a goroutine of its
// own, with whatever else is waiting; otherwise it waits in the queue for
// the next round, which leaves as soon as one comes back. Alone a request
// waits for nobody; under load one round carries every request that came
// while the others were out.
//
// A round that has not come back within the limiter's Timeout gives up its
// place (its callers have fallen back by then), so a Redis that hangs holds
// up no later request for longer than that.
type pipe struct {
	rdb     redis.UniversalClient
	max     int
	timeout time.Duration

	mu      sync.Mutex
	queue   []*want
	sending int // rounds out and not yet past the timeout
}

// roundsOut is how many rounds may be out at once: a few, so that one slow
// round trip does not hold up the rest, and few enough that under load
// each carries many requests.
const roundsOut = 1

func newPipe(rdb redis.UniversalClient, timeout time.Duration) *pipe {
	return &pipe{rdb: rdb, max: roundsOut, timeout: timeout}
}

// submit queues w and, when a round may leave, starts one with the queue.
func (p *pipe) submit(w *want) {
	p.mu.Lock()
	p.queue = append(p.queue, w)
	if p.sending == p.max {
		p.mu.Unlock()
		return
	}
	p.sending++
	q := p.queue
	p.queue = nil
	p.mu.Unlock()
	go p.round(q)
}

// round counts q's events, then gives up its place (at the latest when the
// timeout passes).
func (p *pipe) round(q []*want) {
	var once sync.Once
	leave := func() { once.Do(p.leave) }
	t := time.AfterFunc(p.timeout, leave)
	count(p.rdb, q, p.timeout)
	t.Stop()
	leave()
}

// leave gives up a round's place: to the requests waiting, as the next
// round, or back to the pipe.
func (p *pipe) leave() {
	p.mu.Lock()
	if len(p.queue) == 0 {
		p.sending--
		p.mu.Unlock()
		return
	}
	next := p.queue
	p.queue = nil
	p.mu.Unlock()
	go p.round(next)
}

// A request that stopped waiting before its round left (a Redis that
// hangs, or its own context) is not counted: it was decided in memory.

// event is one policy's count for one request: which want, which key.
type event struct {
	w *want
	i int
}

// step is one script: cost events on key.
type step struct {
	key  string
	lim  limit
	cost int
}

// tally is a round's events on one key, in the order they came.
type tally struct {
	key    string
	lim    limit
	events []event
}

// count runs a round: the events grouped by key, one AllowN per key with
// the events as its cost, then, for the keys refused with more than one
// event, one AllowN per event. The round runs in the first request's
// context without its cancellation (so its spans, when traced, belong to
// a request), bounded by the Timeout, beyond which nobody waits for it
// (go-redis heeds the deadline when it dials, and on reads only if the
// client was built with ContextTimeoutEnabled).
func count(rdb redis.UniversalClient, q []*want, timeout time.Duration) {
	q = slices.DeleteFunc(q, func(w *want) bool { return w.gone.Load() })
	if len(q) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(q[0].ctx), timeout)
	defer cancel()
	var tallies []*tally
	byKey := make(map[string]*tally)
	for _, w := range q {
		for i, k := range w.keys {
			t := byKey[k]
			if t == nil {
				t = &tally{key: k, lim: w.lims[i]}
				byKey[k] = t
				tallies = append(tallies, t)
			}
			t.events = append(t.events, event{w, i})
		}
	}

	steps := make([]step, len(tallies))
	for j, t := range tallies {
		steps[j] = step{t.key, t.lim, len(t.events)}
	}
	res, err := runSteps(ctx, rdb, steps)
	if err != nil {
		fail(q, err)
		return
	}

	var again []step
	var refused []*tally
	for j, t := range tallies {
		r := res[j]
		if r.Allowed == 0 && len(t.events) > 1 {
			refused = append(refused, t)
			for range t.events {
				again = append(again, step{t.key, t.lim, 1})
			}
			continue
		}
		for n, e := range t.events {
			e.w.rs[e.i] = eventResult(r, len(t.events)-1-n)
		}
	}
	if len(again) > 0 {
		res, err := runSteps(ctx, rdb, again)
		if err != nil {
			fail(q, err)
			return
		}
		j := 0
		for _, t := range refused {
			for _, e := range t.events {
				e.w.rs[e.i] = eventResult(res[j], 0)
				j++
			}
		}
	}
	for _, w := range q {
		close(w.done)
	}
}

// fail gives every request of the round the round's error: when Redis
// fails, every call fails alike.
func fail(q []*want, err error) {
	for _, w := range q {
		w.err = err
		close(w.done)
	}
}

// eventResult reads redis_rate's answer for one of the events a script
// counted, later ones than this one still to come: those leave less
// remaining than this one saw. The library reports RetryAfter -1 when the
// events are allowed; a result says 0.
func eventResult(r *redis_rate.Result, later int) result {
	if r.Allowed == 0 {
		return result{remaining: r.Remaining, retryAfter: r.RetryAfter, resetAfter: r.ResetAfter}
	}
	return result{allowed: true, remaining: r.Remaining + later, resetAfter: r.ResetAfter}
}

// runSteps runs one redis_rate AllowN per step and costs Redis one round
// trip for all of them (one per shard, in parallel, on a Redis Cluster:
// the keys live in different slots, which is why these are single-key
// scripts and not one many-key script). Each step's AllowN runs in its own
// goroutine, the last on the calling one, and the batch they share sends
// their EVALSHAs in one pipeline. The first error, if any, is returned.
func runSteps(ctx context.Context, rdb redis.UniversalClient, steps []step) ([]*redis_rate.Result, error) {
	n := len(steps)
	rl := redis_rate.NewLimiter(newBatch(rdb, n))
	res := make([]*redis_rate.Result, n)
	errs := make([]error, n)
	one := func(i int) {
		ctx := context.WithValue(ctx, stepIndex{}, i)
		res[i], errs[i] = rl.AllowN(ctx, steps[i].key, steps[i].lim.redisRate(), steps[i].cost)
	}
	var wg sync.WaitGroup
	for i := range n - 1 {
		wg.Go(func() { one(i) })
	}
	one(n - 1)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// stepIndex is the context key under which runSteps tells the batch which
// step a call is: the pipeline keeps the steps' order, whichever goroutine
// gets there first, so that events on one key count in the order they came.
type stepIndex struct{}

// batch gathers the EvalSha calls that a round's AllowN calls make, each in
// its own goroutine, and sends them to Redis in one pipeline. It stands in
// for the client in redis_rate.NewLimiter: AllowN runs its script through
// go-redis's Script.Run, which sends EVALSHA and needs the reply before
// AllowN returns, so a limiter on the client itself would cost one round
// trip per call.
//
// A batch expects n EvalSha calls, and sends them in the order of their
// steps (stepIndex). The first n-1 wait; the call that
// completes the set sends all n in one pipeline, copies each reply or
// error into its caller's command and releases the waiters. A waiter whose
// context ends first gives up with the context's error. Calls beyond n go
// straight to the client.
//
// Eval and the other methods go straight to the client too. Eval is how
// Script.Run recovers from NOSCRIPT, after a Redis restart or SCRIPT FLUSH
// (a Cluster shard can lose its scripts alone): under pipelining NOSCRIPT
// comes back per command, so only the commands that found no script are
// sent again, with the script's text, and nothing is counted twice. Those
// EVALs are not batched: the goroutines send them side by side, on as many
// pooled connections, which costs about one more round trip, once per
// restart, after which EVALSHA finds the script.
type batch struct {
	rdb  redis.UniversalClient
	n    int
	sent chan struct{} // closed when every call has its reply

	mu    sync.Mutex
	calls []call // n slots, in the steps' order
	got   int    // slots filled
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
	return &batch{rdb: rdb, n: n, sent: make(chan struct{}), calls: make([]call, n)}
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
	if b.got == b.n {
		b.mu.Unlock()
		return b.rdb.EvalSha(ctx, sha, keys, args...)
	}
	i, ok := ctx.Value(stepIndex{}).(int)
	if !ok || i < 0 || i >= b.n || b.calls[i].cmd != nil {
		i = slices.IndexFunc(b.calls, func(c call) bool { return c.cmd == nil })
	}
	b.calls[i] = call{sha: sha, keys: keys, args: args, cmd: cmd}
	b.got++
	last := b.got == b.n
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
