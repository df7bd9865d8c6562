// Package audit keeps handheld's audit trail: every sign-in, binding,
// session event and read of personal data, as the law on personal data
// requires. The trail is one append-only table in the SQL store whose rows
// are chained by SHA-256 (see chain.go), so that Verify can tell whether a
// row was changed, removed, reordered or slipped in after it was written.
//
// Records carry identifiers only: a pseudonymous subject id, an actor such
// as "operator:<hmac>" or "device:<id>", a target such as "session:<id>".
// Append refuses fields shaped like an ID number, a mobile number or a bank
// card (guard.go). A name cannot be recognised by its shape, so callers must
// never pass one: the guard is a net, not a licence.
//
// Writes are batched: one writer goroutine per Log takes what callers have
// queued and writes it in one transaction, so many concurrent sign-ins cost
// a few commits rather than one each. Any number of Logs, in one process or
// in many replicas on one database, extend the same single chain.
package audit

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"handheld/services"
	"handheld/services/store"
	"handheld/services/suite"
)

// Record is one audited event. It names who did what to what, through which
// channel, with what outcome, and never holds personal data itself.
type Record struct {
	At        time.Time // when it happened; the Log's clock when zero
	Subject   string    // pseudonymous subject id of the person concerned; may be empty
	Actor     string    // who acted: a subject id, "operator:<hash>", "device:<id>", "verifier:<id>", "system"
	Channel   string    // miniapp, app, kiosk, web (centre staff), public or system
	Action    string    // e.g. login.success, login.failure, bind, refresh.reuse, logout, lockout, read.account
	Target    string    // what was touched, as an identifier ("session:<id>"), never raw personal data
	RequestID string    // the request that caused it, to join the trail with logs
	Result    string    // ok, denied or error
}

// Options tune a Log. The zero value is usable: batches of up to 256
// records, a queue of four batches, and a 20 ms linger for records nobody
// waits on.
type Options struct {
	// Now stamps records whose At is zero. Default time.Now.
	Now func() time.Time
	// Logger reports batches that could not be written. It receives counts
	// and actions, never record fields. Default: discard.
	Logger *slog.Logger
	// BatchSize caps the records written in one transaction (1–1024).
	BatchSize int
	// FlushEvery is how long the writer lingers for a fuller batch when
	// only Enqueue'd records are pending. A batch with an Append waiting on
	// it is written as soon as the writer is free: lingering there would
	// only add latency to every sign-in. Negative means never linger.
	FlushEvery time.Duration
	// Buffer is how many records may be queued before Append and Enqueue
	// wait for the writer. Default 4 × BatchSize.
	Buffer int
	// OnBatch, when set, is called after each batch (records, time taken,
	// error) so that the caller can feed its metrics. It runs on the writer
	// goroutine: keep it quick.
	OnBatch func(records int, took time.Duration, err error)
	// Replica, when set, shards the trail: this Log writes to its own
	// chain per hour, `<Replica>/<UTC hour>` (shards.go), and never waits
	// for another replica's writer. Empty keeps the single chain, one lock
	// for every writer. Characters other than letters, digits and ".:_-"
	// become "-".
	Replica string
	// Suite is the cryptographic suite whose hash chains new records:
	// SHA-256 under intl (the zero value), SM3 under sm. Verification
	// takes each record's function from its stored hash.
	Suite suite.Suite
}

// Errors callers can test for with errors.Is. They arrive wrapped in a
// services.Error, whose code decides what the client sees.
var (
	// ErrPersonalData rejects a record that seems to carry an ID number,
	// a phone or a card: a caller's bug (CodeInternal), to be fixed at the
	// call site rather than redacted here.
	ErrPersonalData = errors.New("audit: field looks like personal data")
	// ErrInvalid rejects a record that is incomplete or malformed: also a
	// caller's bug (CodeInternal), or a List without a subject.
	ErrInvalid = errors.New("audit: invalid record")
	// ErrClosed answers records submitted after Close (CodeServiceClosed):
	// the process is shutting down and the request should fail over.
	ErrClosed = errors.New("audit: log closed")
)

// Defaults and bounds for Options.
const (
	defaultBatchSize  = 256
	maxBatchSize      = 1024
	defaultFlushEvery = 20 * time.Millisecond
	writeTimeout      = 15 * time.Second // one batch transaction
	writeAttempts     = 3                // a batch is tried this often before its records fail
)

// Log appends to the audit trail. It is safe for concurrent use; create one
// per process with New and Close it at shutdown so that queued records are
// written.
type Log struct {
	store      *store.Store
	now        func() time.Time
	logger     *slog.Logger
	batchSize  int
	flushEvery time.Duration
	onBatch    func(int, time.Duration, error)
	replica    string // "" for the single chain
	suite      suite.Suite

	queue chan entry

	// Closing takes three steps, so that no record is ever left in the
	// queue after the writer has gone: close closing (senders stop waiting
	// for room, the writer stops lingering), set closed under mu (which
	// every sender holds for reading, so none is left half-way), close
	// sealed (the writer may stop once the queue is empty).
	mu        sync.RWMutex
	closed    bool
	closeOnce sync.Once
	closing   chan struct{}
	sealed    chan struct{}
	stopped   chan struct{} // closed by the writer when it has stopped

	writeCtx context.Context    // parent of every batch's transaction
	abort    context.CancelFunc // cancels writeCtx when Close gives up
}

// entry is a queued record and, for Append, where its outcome goes.
type entry struct {
	rec  Record
	done chan error // buffered; nil for Enqueue
}

// New starts a Log writing to s, which must be migrated. The writer runs
// until Close.
func New(s *store.Store, opts Options) *Log {
	l := &Log{
		store:      s,
		now:        opts.Now,
		logger:     opts.Logger,
		batchSize:  opts.BatchSize,
		flushEvery: opts.FlushEvery,
		onBatch:    opts.OnBatch,
		replica:    replicaName(opts.Replica),
		suite:      opts.Suite,
		closing:    make(chan struct{}),
		sealed:     make(chan struct{}),
		stopped:    make(chan struct{}),
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	if l.batchSize <= 0 {
		l.batchSize = defaultBatchSize
	}
	l.batchSize = min(l.batchSize, maxBatchSize)
	if l.flushEvery == 0 {
		l.flushEvery = defaultFlushEvery
	}
	buffer := opts.Buffer
	if buffer <= 0 {
		buffer = 4 * l.batchSize
	}
	l.queue = make(chan entry, buffer)
	l.writeCtx, l.abort = context.WithCancel(context.Background())
	go l.run()
	return l
}

// Append records r and returns once it is committed, so that a caller that
// goes on (issues the token, shows the screen) knows the trail has it. Use
// it for sign-ins, bindings and session events. When ctx ends first the
// record may still be written later; the error says it was not confirmed.
func (l *Log) Append(ctx context.Context, r Record) error {
	e := entry{done: make(chan error, 1)}
	if err := l.submit(ctx, r, e); err != nil {
		return err
	}
	select {
	case err := <-e.done:
		return err
	case <-ctx.Done():
		return services.Errorf(services.CodeTimeout, "audit: %s not confirmed: %w", r.Action, ctx.Err())
	}
}

// Enqueue records r without waiting for the commit: for reads of personal
// data, where the screen need not wait for the trail. The queue is bounded;
// when it is full Enqueue waits rather than drop the record. A batch that
// cannot be written is logged (with counts, not fields) and lost.
func (l *Log) Enqueue(ctx context.Context, r Record) error {
	return l.submit(ctx, r, entry{})
}

// submit checks r and queues it.
func (l *Log) submit(ctx context.Context, r Record, e entry) error {
	if r.At.IsZero() {
		r.At = l.now()
	}
	r.At = store.Timestamp(r.At)
	if err := check(r); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return services.Errorf(services.CodeTimeout, "audit: %s not queued: %w", r.Action, err)
	}
	e.rec = r

	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return &services.Error{Code: services.CodeServiceClosed, Cause: ErrClosed}
	}
	select {
	case l.queue <- e:
		return nil
	case <-l.closing:
		return &services.Error{Code: services.CodeServiceClosed, Cause: ErrClosed}
	case <-ctx.Done():
		return services.Errorf(services.CodeTimeout, "audit: %s not queued: %w", r.Action, ctx.Err())
	}
}

// Close stops taking records, writes those queued and waits for the writer.
// If ctx ends first, writes in flight are cancelled and their records fail.
// Close is idempotent.
func (l *Log) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		close(l.closing)
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		close(l.sealed)
	})
	select {
	case <-l.stopped:
		l.abort()
		return nil
	case <-ctx.Done():
		l.abort()
		<-l.stopped
		return services.Errorf(services.CodeTimeout, "audit: close: queued records not all written: %w", ctx.Err())
	}
}

// replicaName keeps a replica's name to characters a shard name and an
// anchor's list of heads can carry.
func replicaName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == ':', r == '_', r == '-':
			return r
		}
		return '-'
	}, s)
}
