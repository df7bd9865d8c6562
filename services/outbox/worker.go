package outbox

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"handheld/services"
	"handheld/services/store"
)

// TopicName names a kind of message. Each producing package declares the
// names it enqueues on as constants of this type (withdrawal.TopicSubmit,
// notify.Topic) and lists them for the wiring, which gives the Worker both
// the list (Config.Enqueued) and a handler per name (Config.Topics): a
// misspelt name fails New instead of leaving rows that never leave.
type TopicName string

// Topic is a kind of message and the handler that delivers it. A Worker only
// claims rows of the topics it was given, so that replicas running different
// versions leave alone the topics they do not know yet.
type Topic struct {
	Name TopicName
	// Handle delivers the topic's messages one at a time. Give it or
	// HandleBatch, not both.
	Handle Handler
	// HandleBatch delivers the topic's rows of one claim together, in one
	// call: a receiver that can load, call and record for many messages at
	// once (one query, one transaction) spends far fewer round trips to the
	// store than one call per message.
	HandleBatch BatchHandler
	// AtMostOnce: the row is marked delivered just before Handle runs, so
	// a crash while it runs loses the message rather than repeating it
	// (notifications); rows claimed but not started yet come back when the
	// lease ends. When Handle returns an error the row is re-opened for a
	// retry.
	AtMostOnce bool
	// Background topics are claimed only with the slots the others left:
	// large volumes that can wait a moment (notifications, polls,
	// reports), so that a campaign of messages queued first never holds
	// up a person's business at the core. Within each kind, rows go in
	// the order they fall due. The other topics fill every slot only while
	// their due rows come faster than the workers deliver them (a failed
	// delivery waits out its backoff, not due meanwhile), which is when
	// money on its way should go first.
	Background bool
}

// Config holds a Worker's dependencies and tuning. Zero values take the
// defaults given with each field.
type Config struct {
	Store  *store.Store
	Topics []Topic
	// Enqueued are the topics the application's producers enqueue on, as
	// each producing package lists them. Every Topic must be one of them
	// and each of them must have a Topic: a handler under a name nothing
	// enqueues delivers nothing, and rows under a name without a handler
	// would wait for ever. Required.
	Enqueued []TopicName
	// Waker carries the producers' nudges (Wake) to the worker. Producers
	// are built before the worker, which needs their handlers, so the
	// wiring makes the Waker first and hands it to both. Default: a Waker
	// of the worker's own.
	Waker *Waker
	// Batch is how many rows one round claims at most. Default 32.
	Batch int
	// Concurrency is how many handlers run at once. A round claims no more
	// rows than there are free handlers, so that no claimed row waits for
	// one while its lease runs. Default 16.
	Concurrency int
	// Lease is how long a claimed row is hidden from other workers: a worker
	// that dies mid-delivery loses its rows to another after this. It must
	// be at least HandlerTimeout, or rows would be taken from handlers still
	// entitled to run. Default 30s.
	Lease time.Duration
	// Idle is the pause between rounds when nothing was due. Wake cuts it
	// short, so it only bounds how late a row enqueued by another replica,
	// or one coming due after a backoff, is seen. Default 250ms.
	Idle time.Duration
	// BackoffBase and BackoffMax shape the retry delay after a failure:
	// BackoffBase·2^(attempts-1), capped at BackoffMax, ±20% jitter.
	// Defaults 1s and 5m.
	BackoffBase, BackoffMax time.Duration
	// HandlerTimeout is the deadline of each Handle call. Default 30s.
	HandlerTimeout time.Duration
	// Now is the clock for due times, leases and backoff. Default time.Now.
	Now func() time.Time
	// Jitter returns a number in [0, 1) that spreads each backoff (0.5
	// leaves it exact, as tests want). Default math/rand/v2.Float64.
	Jitter func() float64
	// Logger receives retries (Warn), dead messages and store failures
	// (Error): topic, id and attempts, never payloads. Default: discard.
	Logger *slog.Logger
	// Observe is told the outcome of every message handled (the Outcome
	// constants), for a metric. It runs on the delivering goroutine: keep
	// it quick. May be nil.
	Observe func(topic, outcome string)
	// Tracer makes each delivery a span in the trace that enqueued it.
	// Default: none (a no-op provider).
	Tracer trace.TracerProvider
}

// Defaults for Config.
const (
	defaultBatch          = 32
	defaultConcurrency    = 16
	defaultLease          = 30 * time.Second
	defaultIdle           = 250 * time.Millisecond
	defaultBackoffBase    = time.Second
	defaultBackoffMax     = 5 * time.Minute
	defaultHandlerTimeout = 30 * time.Second

	// storeTimeout bounds each of the worker's own statements (a claim, an
	// outcome), which run detached from the caller's cancellation so that
	// a claim is never half-read and an outcome never half-recorded.
	storeTimeout = 10 * time.Second
	// maxErrorPause caps the pause after consecutive failed claims, so that
	// the worker resumes soon after the database comes back.
	maxErrorPause = 10 * time.Second
)

// Worker claims due outbox rows and hands them to their topics' handlers.
// It is safe for concurrent use; run one per process (Run), as many
// processes as there are replicas.
type Worker struct {
	store          *store.Store
	topics         map[TopicName]Topic
	order          []TopicName  // the topics as configured, for Backlog
	first, later   lane         // the claim's statements (claimLanes)
	turn           atomic.Int64 // claims so far, to rotate the first lane's topics
	batch          int
	lease          time.Duration
	idle           time.Duration
	backoffBase    time.Duration
	backoffMax     time.Duration
	handlerTimeout time.Duration
	now            func() time.Time
	jitter         func() float64
	log            *slog.Logger
	tracer         trace.Tracer
	observe        func(topic, outcome string)

	rec     *recorder     // writes outcomes, batched
	slots   chan struct{} // one token per running handler
	waker   *Waker
	running atomic.Bool // Run is active
}

// New checks cfg and builds a Worker. A mistake in the configuration (no
// store, no topics, a topic without a name or handler, a name given twice,
// a negative or inconsistent duration) fails here, at start-up, naming the
// setting, rather than as rows that silently never leave.
func New(cfg Config) (*Worker, error) {
	bad := func(format string, args ...any) (*Worker, error) {
		return nil, services.Errorf(services.CodeInternal, "outbox: "+format, args...)
	}
	if cfg.Store == nil {
		return bad("Config.Store is nil")
	}
	if len(cfg.Topics) == 0 {
		return bad("Config.Topics is empty")
	}
	if len(cfg.Enqueued) == 0 {
		return bad("Config.Enqueued is empty")
	}
	topics := make(map[TopicName]Topic, len(cfg.Topics))
	for i, t := range cfg.Topics {
		switch {
		case t.Name == "":
			return bad("Config.Topics[%d] has no Name", i)
		case t.Handle == nil && t.HandleBatch == nil:
			return bad("Config.Topics[%d] (%s) has no Handle", i, t.Name)
		case t.Handle != nil && t.HandleBatch != nil:
			return bad("Config.Topics[%d] (%s) has both Handle and HandleBatch", i, t.Name)
		}
		if _, dup := topics[t.Name]; dup {
			return bad("Config.Topics[%d]: topic %s given twice", i, t.Name)
		}
		if !slices.Contains(cfg.Enqueued, t.Name) {
			return bad("Config.Topics[%d]: topic %q is not in Config.Enqueued: nothing enqueues on it", i, t.Name)
		}
		topics[t.Name] = t
	}
	for _, name := range cfg.Enqueued {
		if _, ok := topics[name]; !ok {
			return bad("Config.Enqueued: topic %q has no handler in Config.Topics: its rows would never leave", name)
		}
	}
	for _, f := range []struct {
		name  string
		value time.Duration
	}{
		{"Lease", cfg.Lease}, {"Idle", cfg.Idle}, {"BackoffBase", cfg.BackoffBase},
		{"BackoffMax", cfg.BackoffMax}, {"HandlerTimeout", cfg.HandlerTimeout},
	} {
		if f.value < 0 {
			return bad("Config.%s is negative (%s)", f.name, f.value)
		}
	}
	if cfg.Batch < 0 || cfg.Concurrency < 0 {
		return bad("Config.Batch (%d) and Config.Concurrency (%d) must not be negative", cfg.Batch, cfg.Concurrency)
	}

	w := &Worker{
		store:          cfg.Store,
		topics:         topics,
		order:          topicNames(cfg.Topics),
		batch:          or(cfg.Batch, defaultBatch),
		lease:          or(cfg.Lease, defaultLease),
		idle:           or(cfg.Idle, defaultIdle),
		backoffBase:    or(cfg.BackoffBase, defaultBackoffBase),
		backoffMax:     or(cfg.BackoffMax, defaultBackoffMax),
		handlerTimeout: or(cfg.HandlerTimeout, defaultHandlerTimeout),
		now:            cfg.Now,
		jitter:         cfg.Jitter,
		log:            cfg.Logger,
		observe:        cfg.Observe,
		rec:            &recorder{store: cfg.Store},
		slots:          make(chan struct{}, or(cfg.Concurrency, defaultConcurrency)),
		waker:          cfg.Waker,
	}
	if w.waker == nil {
		w.waker = NewWaker()
	}
	if w.lease < w.handlerTimeout {
		return bad("Config.Lease (%s) is shorter than Config.HandlerTimeout (%s): rows would be re-claimed from handlers still running", w.lease, w.handlerTimeout)
	}
	if w.backoffBase > w.backoffMax {
		return bad("Config.BackoffBase (%s) exceeds Config.BackoffMax (%s)", w.backoffBase, w.backoffMax)
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.jitter == nil {
		w.jitter = rand.Float64
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.observe == nil {
		w.observe = func(string, string) {}
	}
	tp := cfg.Tracer
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	w.tracer = tp.Tracer("handheld/outbox")
	w.first, w.later = claimLanes(w.store.Dialect(), cfg.Topics)
	return w, nil
}

// or is v, or def when v is the zero value.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Waker carries nudges from producers to a Worker: see Wake. Make it with
// NewWaker, before the producers and the worker that share it.
type Waker struct {
	ch chan struct{} // capacity 1: a nudge is either pending or not
}

// NewWaker returns a Waker with no nudge pending.
func NewWaker() *Waker { return &Waker{ch: make(chan struct{}, 1)} }

// Wake nudges the worker to look for due rows now instead of at the end of
// its idle pause: call it after committing a transaction that enqueued
// something. It never blocks, also before the worker exists or runs; nudges
// while one is pending merge.
func (k *Waker) Wake() {
	select {
	case k.ch <- struct{}{}:
	default:
	}
}

// Wake is the worker's Waker's Wake.
func (w *Worker) Wake() { w.waker.Wake() }

// Run delivers due rows until ctx is done, then waits for the handlers still
// running and returns nil. Those handlers are not cancelled with ctx: each
// runs to its own HandlerTimeout and its outcome is recorded, because a
// delivery cut off half-way has an unknown outcome and would be repeated
// after its lease. A shutdown therefore takes up to HandlerTimeout, plus
// one store write; give the process that much grace.
//
// Only one Run per Worker may be active; a second one fails at once.
func (w *Worker) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return services.Errorf(services.CodeInternal, "outbox: Run called while the worker is already running")
	}
	defer w.running.Store(false)
	var inflight sync.WaitGroup
	defer inflight.Wait()

	failures := 0
	for {
		claimed, full, err := w.round(ctx, &inflight)
		if ctx.Err() != nil {
			return nil
		}
		pause := w.idle
		switch {
		case err != nil:
			failures++
			pause = backoff(w.idle, max(w.idle, maxErrorPause), failures, w.jitter())
			w.log.Error("outbox: claim failed", "failures", failures, "retry_in", pause, "error", err)
		case claimed > 0 && full:
			failures = 0
			continue // as many rows as asked for: more may be due
		default:
			failures = 0
		}
		if !w.pause(ctx, pause) {
			return nil
		}
	}
}

// pause waits d, or less if woken; false when ctx ended the wait.
func (w *Worker) pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-w.waker.ch:
		return true
	case <-t.C:
		return true
	}
}

// RunOnce is one claim-and-deliver round: it claims up to Batch due rows (no
// more than there are free handlers), delivers them, records the outcomes and
// returns how many it handled. Tests and benchmarks drive the worker with it
// step by step; it may run beside Run.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	var done sync.WaitGroup
	n, _, err := w.round(ctx, &done)
	done.Wait()
	return n, err
}

// round reserves handler slots, claims at most that many rows, and starts a
// delivery for each, tracked by inflight. full reports that every reserved
// slot found a row, a sign that more rows may be due.
func (w *Worker) round(ctx context.Context, inflight *sync.WaitGroup) (n int, full bool, err error) {
	want := w.reserve(ctx)
	if err := ctx.Err(); err != nil { // cancelled while waiting: claim nothing
		for range want {
			<-w.slots
		}
		return 0, false, err
	}
	msgs, until, err := w.claim(ctx, want)
	for range want - len(msgs) {
		<-w.slots
	}
	if err != nil {
		return 0, false, err
	}
	batches := map[TopicName][]claimed{}
	for _, m := range msgs {
		if w.topics[m.Topic].HandleBatch != nil && m.unreadable == nil {
			batches[m.Topic] = append(batches[m.Topic], m)
			continue
		}
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			w.deliver(ctx, m, until, func() { <-w.slots })
		}()
	}
	for name, batch := range batches {
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			w.deliverBatch(ctx, w.topics[name], batch, until, func() {
				for range batch {
					<-w.slots
				}
			})
		}()
	}
	return len(msgs), len(msgs) == want, nil
}

// reserve takes handler slots for the next claim and returns how many: one
// at least, waiting for it; then, for up to Idle, as many as a whole batch,
// so that a busy worker claims rows by the batch rather than one per
// statement as each handler frees up (each claim is a commit and a scan of
// the pending rows: whole batches rather than half ones took 10 % more
// withdrawal submissions a second in `handheld bench withdrawal`); then
// whatever else is free, up to Batch. It returns early, with what it has,
// when ctx ends.
func (w *Worker) reserve(ctx context.Context) int {
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return 0
	}
	n := 1
	if enough := min(w.batch, cap(w.slots)); n < enough {
		timer := time.NewTimer(w.idle)
		defer timer.Stop()
	gather:
		for n < enough {
			select {
			case w.slots <- struct{}{}:
				n++
			case <-timer.C:
				break gather
			case <-ctx.Done():
				return n
			}
		}
	}
	for n < w.batch {
		select {
		case w.slots <- struct{}{}:
			n++
		default:
			return n
		}
	}
	return n
}
