package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/coresim"
)

func TestReaderRetriesTransientErrors(t *testing.T) {
	t.Parallel()
	rig := newReaderRig(t, rigOptions{
		reader: func(c *core.ReaderConfig) {
			c.Account.FreshFor = 0 // every read goes to the core
			c.Account.Retries = 5
			c.Account.BreakerFailures = 100 // this test is about retries, not the breaker
			c.Account.BreakerFailureRatio = 0
		},
		sim: []simConfig{func(c *coresim.Config) { c.Seed = 7; c.Faults = "account=error:0.5" }},
	})
	ps, _ := rig.depositors(t)
	before := rig.sim.Calls(coresim.GroupAccount)

	const reads = 10
	for i := range reads {
		if _, f, err := rig.reader.Account(context.Background(), ps[0].PersonID); err != nil || f.Stale {
			t.Fatalf("read %d: %+v, %v; want a fresh answer after retries", i, f, err)
		}
	}
	ev := rig.events.snapshot()
	if ev.retries == 0 {
		t.Fatal("no retries at an error rate of 0.5: the test proves nothing")
	}
	if got, want := rig.sim.Calls(coresim.GroupAccount)-before, int64(reads+ev.retries); got != want {
		t.Errorf("core calls = %d, want %d (one per read plus one per retry)", got, want)
	}
}

func TestReaderBreakerOpensAndRecovers(t *testing.T) {
	t.Parallel()
	rig := newReaderRig(t, rigOptions{
		reader: func(c *core.ReaderConfig) {
			c.Account.Retries = 2
			c.Account.BreakerFailures = 3
			c.Account.BreakerOpenFor = 100 * time.Millisecond
			c.Account.BreakerHalfOpenRequests = 1
		},
		sim: []simConfig{func(c *coresim.Config) { c.Faults = "account=error:1.0" }},
	})
	ctx := context.Background()
	ps, _ := rig.depositors(t)
	id := ps[0].PersonID
	before := rig.sim.Calls(coresim.GroupAccount)

	// One read: three attempts, three failures, and the breaker opens.
	_, _, err := rig.reader.Account(ctx, id)
	if services.ErrorCode(err) != services.CodeCoreUnavailable {
		t.Fatalf("Account with the core failing = %v, want core.unavailable", err)
	}
	if got := rig.sim.Calls(coresim.GroupAccount) - before; got != 3 {
		t.Errorf("core calls = %d, want 3 (the read and two retries)", got)
	}
	if got := rig.reader.BreakerStates()["core.account"]; got != "open" {
		t.Fatalf("breaker core.account is %q after 3 failures, want open", got)
	}
	// Open: calls fail fast without reaching the core; other groups are untouched.
	for range 5 {
		_, _, err = rig.reader.Account(ctx, id)
		if services.ErrorCode(err) != services.CodeCoreUnavailable || !errors.Is(err, core.ErrCircuitOpen) {
			t.Fatalf("Account with the breaker open = %v, want core.unavailable wrapping ErrCircuitOpen", err)
		}
	}
	if got := rig.sim.Calls(coresim.GroupAccount) - before; got != 3 {
		t.Errorf("core calls = %d with the breaker open, want still 3", got)
	}
	if _, _, err := rig.reader.Loan(ctx, id); err != nil {
		t.Errorf("Loan with only the account breaker open = %v", err)
	}

	// The core recovers; after BreakerOpenFor a trial call goes through.
	rig.setFaults(t, "")
	waitFor(t, "the breaker to half-open", func() bool { return rig.reader.BreakerStates()["core.account"] == "half-open" })
	if _, f, err := rig.reader.Account(ctx, id); err != nil || f.Stale {
		t.Fatalf("Account after recovery = %+v, %v", f, err)
	}
	if got := rig.sim.Calls(coresim.GroupAccount) - before; got != 4 {
		t.Errorf("core calls = %d, want 4 (the trial call)", got)
	}
	want := []string{"account:closed->open", "account:open->half-open", "account:half-open->closed"}
	if diff := cmp.Diff(want, rig.events.snapshot().breakers); diff != "" {
		t.Errorf("OnBreakerChange (-want +got):\n%s", diff)
	}
}

func TestReaderTimesOutSlowCore(t *testing.T) {
	t.Parallel()
	rig := newReaderRig(t, rigOptions{
		reader: func(c *core.ReaderConfig) { c.Account.Timeout = 100 * time.Millisecond; c.Account.Retries = 1 },
		sim:    []simConfig{func(c *coresim.Config) { c.Faults = "account=latency:10s" }},
	})
	ps, _ := rig.depositors(t)
	before := rig.sim.Calls(coresim.GroupAccount)
	start := time.Now()
	_, _, err := rig.reader.Account(context.Background(), ps[0].PersonID)
	if services.ErrorCode(err) != services.CodeCoreUnavailable || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Account from a core slower than Timeout = %v, want core.unavailable (deadline exceeded)", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("the read waited %s for a core answering in 10s", elapsed)
	}
	if got := rig.sim.Calls(coresim.GroupAccount) - before; got != 2 {
		t.Errorf("core calls = %d, want 2 (a timeout is retried)", got)
	}
}

// TestReaderServesStaleDuringOutage, also with nothing served fresh, where
// the remembered answer is read only once the core has failed.
func TestReaderServesStaleDuringOutage(t *testing.T) {
	t.Parallel()
	for _, fresh := range []bool{true, false} {
		t.Run(fmt.Sprintf("fresh_cache=%v", fresh), func(t *testing.T) {
			t.Parallel()
			var o rigOptions
			if !fresh {
				o.reader = func(c *core.ReaderConfig) { c.Account.FreshFor = 0 }
			}
			servesStaleDuringOutage(t, newReaderRig(t, o))
		})
	}
}

func servesStaleDuringOutage(t *testing.T, rig *readerRig) {
	ctx := context.Background()
	ps, _ := rig.depositors(t)
	cachedID, uncachedID := ps[0].PersonID, ps[1].PersonID
	want, fresh, err := rig.reader.Account(ctx, cachedID)
	if err != nil {
		t.Fatalf("Account: %v", err)
	}

	rig.advance(time.Hour) // past FreshFor, within StaleFor
	rig.setFaults(t, "account=down")
	got, f, err := rig.reader.Account(ctx, cachedID)
	if err != nil {
		t.Fatalf("Account in an outage with a cached value = %v, want the stale value", err)
	}
	if !f.Stale || !f.AsOf.Equal(fresh.AsOf) {
		t.Errorf("Freshness = %+v, want Stale with the cached AsOf %s", f, fresh.AsOf)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stale account (-cached +got):\n%s", diff)
	}
	if n := rig.events.snapshot().stales; n != 1 {
		t.Errorf("OnStale called %d times, want 1", n)
	}

	_, _, err = rig.reader.Account(ctx, uncachedID)
	if services.ErrorCode(err) != services.CodeCoreUnavailable {
		t.Errorf("Account in an outage without a cached value = %v, want core.unavailable", err)
	}

	rig.advance(24 * time.Hour) // past StaleFor
	_, _, err = rig.reader.Account(ctx, cachedID)
	if services.ErrorCode(err) != services.CodeCoreUnavailable {
		t.Errorf("Account in an outage with a value older than StaleFor = %v, want core.unavailable", err)
	}
}

func TestReaderDuringMaintenance(t *testing.T) {
	t.Parallel()
	rig := newReaderRig(t, rigOptions{sim: []simConfig{func(c *coresim.Config) { c.Maintenance = "23:00-01:00" }}})
	ctx := context.Background()
	ps, _ := rig.depositors(t)
	cachedID, uncachedID := ps[0].PersonID, ps[1].PersonID
	_, fresh, err := rig.reader.Account(ctx, cachedID)
	if err != nil {
		t.Fatalf("Account at 10:00: %v", err)
	}

	day := rig.clock.Now()
	rig.clock.Set(time.Date(day.Year(), day.Month(), day.Day(), 23, 30, 0, 0, shanghai()))
	before := rig.sim.Calls(coresim.GroupAccount)
	_, f, err := rig.reader.Account(ctx, cachedID)
	if err != nil || !f.Stale || !f.AsOf.Equal(fresh.AsOf) {
		t.Errorf("Account in the window with a cached value = %+v, %v; want stale as of %s", f, err, fresh.AsOf)
	}

	_, _, err = rig.reader.Account(ctx, uncachedID)
	var e *services.Error
	if !errors.As(err, &e) || e.Code != services.CodeCoreMaintenance {
		t.Fatalf("Account in the window without a cached value = %v, want core.maintenance", err)
	}
	if e.RetryAfter != 90*time.Minute {
		t.Errorf("RetryAfter = %s, want 1h30m (the window ends at 01:00)", e.RetryAfter)
	}
	if got := rig.sim.Calls(coresim.GroupAccount) - before; got != 2 {
		t.Errorf("core calls = %d, want 2: a maintenance answer is not retried", got)
	}
	if got := rig.reader.BreakerStates()["core.account"]; got != "closed" {
		t.Errorf("breaker is %q; a maintenance answer comes from a working core", got)
	}
}

func TestReaderDoesNotRetryOrCacheNotFound(t *testing.T) {
	t.Parallel()
	rig := newReaderRig(t, rigOptions{reader: func(c *core.ReaderConfig) {
		c.Account.BreakerFailures, c.Person.BreakerFailures = 1, 1
	}})
	ctx := context.Background()
	_, noAccount := rig.depositors(t)
	accounts, persons := rig.sim.Calls(coresim.GroupAccount), rig.sim.Calls(coresim.GroupPerson)

	for range 2 {
		if _, _, err := rig.reader.Account(ctx, noAccount.PersonID); services.ErrorCode(err) != services.CodeAccountNotFound {
			t.Fatalf("Account of a person without one = %v, want account.not_found", err)
		}
		if _, _, err := rig.reader.Person(ctx, "P-NO-SUCH-PERSON"); services.ErrorCode(err) != services.CodePersonNotFound {
			t.Fatalf("Person of an unknown id = %v, want person.not_found", err)
		}
	}
	if got := rig.sim.Calls(coresim.GroupAccount) - accounts; got != 2 {
		t.Errorf("account calls = %d, want 2: not retried, not cached", got)
	}
	if got := rig.sim.Calls(coresim.GroupPerson) - persons; got != 2 {
		t.Errorf("person calls = %d, want 2: not retried, not cached", got)
	}
	if ev := rig.events.snapshot(); ev.retries != 0 {
		t.Errorf("OnRetry called %d times for not-found answers", ev.retries)
	}
	for name, state := range rig.reader.BreakerStates() {
		if state != "closed" {
			t.Errorf("breaker %s is %s; not found is an answer, not a failure", name, state)
		}
	}
}

func TestReaderStopsRetryingWhenNobodyWaits(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	rig := newReaderRig(t, rigOptions{
		reader: func(c *core.ReaderConfig) {
			c.Account.Retries = 5
			c.Account.Backoff = 200 * time.Millisecond // the caller leaves during the first wait
			c.Account.BreakerFailures, c.Account.BreakerFailureRatio = 100, 0
			c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		},
		sim: []simConfig{func(c *coresim.Config) { c.Faults = "account=error:1.0" }},
	})
	ps, _ := rig.depositors(t)
	before := rig.sim.Calls(coresim.GroupAccount)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := rig.reader.Account(ctx, ps[0].PersonID)
	if services.ErrorCode(err) != services.CodeCoreUnavailable || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Account past the caller's deadline = %v, want core.unavailable (deadline exceeded)", err)
	}
	waitFor(t, "the shared read to give up", func() bool { return strings.Contains(logs.String(), "retries stopped") })
	if got := rig.sim.Calls(coresim.GroupAccount) - before; got != 1 {
		t.Errorf("core calls = %d, want 1: no retry once the only caller has left", got)
	}
	if n := rig.events.snapshot().retries; n != 0 {
		t.Errorf("OnRetry called %d times, want 0", n)
	}
}

func TestReaderServesStaleWhenCallerDeadlinePasses(t *testing.T) {
	t.Parallel()
	// The attempt's own Timeout ends the shared read soon after the caller left.
	rig := newReaderRig(t, rigOptions{reader: func(c *core.ReaderConfig) { c.Account.Timeout = 300 * time.Millisecond }})
	ps, _ := rig.depositors(t)
	id := ps[0].PersonID
	_, fresh, err := rig.reader.Account(context.Background(), id)
	if err != nil {
		t.Fatalf("Account: %v", err)
	}
	rig.advance(time.Minute)
	rig.setFaults(t, "account=latency:2s")

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, f, err := rig.reader.Account(ctx, id)
	if err != nil || !f.Stale || !f.AsOf.Equal(fresh.AsOf) {
		t.Errorf("Account from a slow core past the caller's deadline = %+v, %v; want stale as of %s", f, err, fresh.AsOf)
	}
}

// syncBuffer is a log destination the test can read while the Reader writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
