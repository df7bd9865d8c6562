package core_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"handheld/services/core"
	"handheld/services/coresim"
)

func TestReaderServesFromCacheWithinFreshFor(t *testing.T) {
	t.Parallel()
	rig := newReaderRig(t, rigOptions{})
	ctx := context.Background()
	ps, _ := rig.depositors(t)
	id := ps[0].PersonID
	before := rig.sim.Calls(coresim.GroupAccount)

	first, f1, err := rig.reader.Account(ctx, id)
	if err != nil {
		t.Fatalf("Account: %v", err)
	}
	if !f1.AsOf.Equal(rig.clock.Now()) || f1.Stale {
		t.Errorf("first read Freshness = %+v, want AsOf now (%s), not stale", f1, rig.clock.Now())
	}
	rig.advance(29 * time.Second) // inside the account group's 30s
	again, f2, err := rig.reader.Account(ctx, id)
	if err != nil {
		t.Fatalf("Account again: %v", err)
	}
	if got := rig.sim.Calls(coresim.GroupAccount) - before; got != 1 {
		t.Errorf("core calls after a read within FreshFor = %d, want 1", got)
	}
	if !f2.AsOf.Equal(f1.AsOf) || f2.Stale {
		t.Errorf("cached Freshness = %+v, want the first read's AsOf %s", f2, f1.AsOf)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("cached account differs (-core +cache):\n%s", diff)
	}

	rig.advance(2 * time.Second) // 31s after the first read
	_, f3, err := rig.reader.Account(ctx, id)
	if err != nil {
		t.Fatalf("Account after FreshFor: %v", err)
	}
	if got := rig.sim.Calls(coresim.GroupAccount) - before; got != 2 {
		t.Errorf("core calls after FreshFor = %d, want 2", got)
	}
	if !f3.AsOf.Equal(rig.clock.Now()) {
		t.Errorf("refetched AsOf = %s, want now %s", f3.AsOf, rig.clock.Now())
	}
	if ev := rig.events.snapshot(); ev.hits != 1 || ev.misses != 2 {
		t.Errorf("OnCache saw %d hits and %d misses, want 1 and 2", ev.hits, ev.misses)
	}
}

func TestReaderCachesEachQueryApart(t *testing.T) {
	t.Parallel()
	rig := newReaderRig(t, rigOptions{})
	ctx := context.Background()
	ps, _ := rig.depositors(t)
	id := ps[0].PersonID // has a loan
	deposits, loans := rig.sim.Calls(coresim.GroupDeposits), rig.sim.Calls(coresim.GroupLoan)

	for range 2 {
		for _, limit := range []int{3, 5} {
			page, _, err := rig.reader.Deposits(ctx, id, core.DepositQuery{Limit: limit})
			if err != nil {
				t.Fatalf("Deposits(limit %d): %v", limit, err)
			}
			if len(page.Items) != limit {
				t.Errorf("Deposits(limit %d) has %d items; a page was served for another query", limit, len(page.Items))
			}
		}
		if _, _, err := rig.reader.Loan(ctx, id); err != nil {
			t.Fatalf("Loan: %v", err)
		}
		page, _, err := rig.reader.LoanSchedule(ctx, id, 2, "")
		if err != nil || len(page.Items) != 2 {
			t.Fatalf("LoanSchedule(limit 2) = %d items, %v", len(page.Items), err)
		}
	}
	if got := rig.sim.Calls(coresim.GroupDeposits) - deposits; got != 2 {
		t.Errorf("deposit calls = %d, want 2 (one per query, the repeats cached)", got)
	}
	if got := rig.sim.Calls(coresim.GroupLoan) - loans; got != 2 {
		t.Errorf("loan calls = %d, want 2 (summary and schedule, the repeats cached)", got)
	}
}

func TestReaderSharesOneCoreCallAmongConcurrentReads(t *testing.T) {
	t.Parallel()
	rig := newReaderRig(t, rigOptions{
		// No fresh cache: only the shared call can keep the count at one.
		reader: func(c *core.ReaderConfig) { c.Account.FreshFor = 0 },
		sim:    []simConfig{func(c *coresim.Config) { c.Faults = "account=latency:300ms" }},
	})
	ps, _ := rig.depositors(t)
	id := ps[0].PersonID
	before := rig.sim.Calls(coresim.GroupAccount)

	const readers = 100
	start := make(chan struct{})
	errs := make([]error, readers)
	numbers := make([]string, readers)
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() {
			<-start
			a, _, err := rig.reader.Account(context.Background(), id)
			numbers[i], errs[i] = a.AccountNumber, err
		})
	}
	close(start)
	wg.Wait()
	for i := range readers {
		if errs[i] != nil || numbers[i] != numbers[0] || numbers[0] == "" {
			t.Fatalf("reader %d: account %q, %v; want the shared answer %q", i, numbers[i], errs[i], numbers[0])
		}
	}
	if got := rig.sim.Calls(coresim.GroupAccount) - before; got != 1 {
		t.Errorf("core calls for %d identical concurrent reads = %d, want 1", readers, got)
	}
}

func TestReaderCallerCancelledMidFlightDoesNotFailOthers(t *testing.T) {
	t.Parallel()
	rig := newReaderRig(t, rigOptions{
		reader: func(c *core.ReaderConfig) { c.Account.FreshFor = 0 },
		sim:    []simConfig{func(c *coresim.Config) { c.Faults = "account=latency:1s" }},
	})
	ps, _ := rig.depositors(t)
	id := ps[0].PersonID
	before := rig.sim.Calls(coresim.GroupAccount)

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, _, err := rig.reader.Account(ctx, id)
		first <- err
	}()
	waitFor(t, "the core to receive the first read", func() bool {
		return rig.sim.Calls(coresim.GroupAccount) > before
	})
	cancel()
	err := <-first
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller got %v, want its context's error", err)
	}

	// The core is still working on the shared call: this read joins it.
	a, f, err := rig.reader.Account(context.Background(), id)
	if err != nil || a.AccountNumber == "" || f.Stale {
		t.Fatalf("other caller got %+v, %+v, %v; want the account", a, f, err)
	}
	if got := rig.sim.Calls(coresim.GroupAccount) - before; got != 1 {
		t.Errorf("core calls = %d, want 1: the cancelled caller must not cancel the shared call", got)
	}
}

func TestReaderTreatsUnreadableCacheAsMiss(t *testing.T) {
	t.Parallel()
	rig := newReaderRig(t, rigOptions{})
	ctx := context.Background()
	ps, _ := rig.depositors(t)
	p := ps[0]
	if _, _, err := rig.reader.Person(ctx, p.PersonID); err != nil {
		t.Fatalf("Person: %v", err)
	}

	// A replica with another secret shares the cache but cannot open it.
	var logs bytes.Buffer
	cfg := testReaderConfig(rig.harness, &readerEvents{})
	cfg.Secret = []byte("another-secret-another-secret-32")
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	other, err := core.NewReader(rig.client, cfg, rig.cache)
	if err != nil {
		t.Fatal(err)
	}
	before := rig.sim.Calls(coresim.GroupPerson)
	got, f, err := other.Person(ctx, p.PersonID)
	if err != nil || got.PersonID != p.PersonID || f.Stale {
		t.Fatalf("Person with an unreadable cache value = %+v, %+v, %v; want the core's answer", got, f, err)
	}
	if n := rig.sim.Calls(coresim.GroupPerson) - before; n != 1 {
		t.Errorf("core calls = %d, want 1 (the value was a miss)", n)
	}
	out := logs.String()
	if !strings.Contains(out, "unreadable cache value") {
		t.Errorf("log does not report the unreadable value:\n%s", out)
	}
	for _, secret := range []string{p.Name, p.IDNumber, p.Phone, p.PersonID} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains personal data %q:\n%s", secret, out)
		}
	}
}

func TestNewReaderRejectsBadConfig(t *testing.T) {
	t.Parallel()
	client, err := core.NewClient(core.ClientConfig{BaseURL: "http://127.0.0.1:1", KeyID: "bff", Secret: readerSecret()})
	if err != nil {
		t.Fatal(err)
	}
	good := func() core.ReaderConfig {
		cfg := core.DefaultReaderConfig()
		cfg.Secret = readerSecret()
		return cfg
	}
	tests := []struct {
		name   string
		change func(*core.ReaderConfig)
		want   string // the setting named in the error
	}{
		{"short secret", func(c *core.ReaderConfig) { c.Secret = c.Secret[:16] }, "Secret"},
		{"no timeout", func(c *core.ReaderConfig) { c.Account.Timeout = 0 }, "account.timeout"},
		{"too many retries", func(c *core.ReaderConfig) { c.Deposits.Retries = 9 }, "deposits.retries"},
		{"negative stale", func(c *core.ReaderConfig) { c.Loan.StaleFor = -time.Second }, "loan.stale_for"},
		{"breaker never opens", func(c *core.ReaderConfig) {
			c.Person.BreakerFailures, c.Person.BreakerFailureRatio = 0, 0
		}, "person.breaker_failures"},
		{"ratio above one", func(c *core.ReaderConfig) { c.Certificate.BreakerFailureRatio = 1.5 }, "certificate.breaker_failure_ratio"},
		{"ratio without window", func(c *core.ReaderConfig) { c.Account.BreakerWindow = 0 }, "account.breaker_window"},
		{"breaker never recovers", func(c *core.ReaderConfig) { c.Account.BreakerOpenFor = 0 }, "account.breaker_open_for"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.change(&cfg)
			_, err := core.NewReader(client, cfg, rigMemory())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewReader = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	if _, err := core.NewReader(client, good(), rigMemory()); err != nil {
		t.Errorf("NewReader(DefaultReaderConfig with a secret) = %v", err)
	}
	if _, err := core.NewReader(nil, good(), rigMemory()); err == nil {
		t.Error("NewReader without a client succeeded")
	}
	if _, err := core.NewReader(client, good(), nil); err == nil {
		t.Error("NewReader without a cache succeeded")
	}
}

func TestReaderConfigReadsYAML(t *testing.T) {
	t.Parallel()
	cfg := core.DefaultReaderConfig()
	src := "account:\n  timeout: 1500ms\n  fresh_for: 10s\n  breaker_open_for: 1m\ncertificate:\n  stale_for: 1h\n"
	if err := yaml.Unmarshal([]byte(src), &cfg); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	want := core.DefaultReaderConfig()
	want.Account.Timeout, want.Account.FreshFor, want.Account.BreakerOpenFor = 1500*time.Millisecond, 10*time.Second, time.Minute
	want.Certificate.StaleFor = time.Hour
	if diff := cmp.Diff(want, cfg, cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })); diff != "" {
		t.Errorf("decoded config (-want +got):\n%s", diff)
	}
}

// waitFor polls cond for a few seconds, for events in another goroutine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Cached reads hand every caller its own copy: a caller that changes its
// page of deposits, or its account, changes nobody else's.
func TestReaderCachedValuesAreCallersOwn(t *testing.T) {
	t.Parallel()
	rig := newReaderRig(t, rigOptions{})
	ctx := context.Background()
	ps, _ := rig.depositors(t)
	id := ps[0].PersonID
	q := core.DepositQuery{Limit: 3}
	want, _, err := rig.reader.Deposits(ctx, id, q)
	if err != nil || len(want.Items) == 0 {
		t.Fatalf("Deposits: %d items, %v", len(want.Items), err)
	}
	wantAccount, _, err := rig.reader.Account(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantItems := slices.Clone(want.Items)
	for range 3 { // from the shared cache, then from memory, decoded or kept
		page, _, err := rig.reader.Deposits(ctx, id, q)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantItems, page.Items); diff != "" {
			t.Fatalf("a cached page differs after another caller changed theirs (-want +got):\n%s", diff)
		}
		page.Items[0].AmountFen = -1
		page.Items = page.Items[:0]
		acc, _, err := rig.reader.Account(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if acc != wantAccount {
			t.Fatalf("a cached account differs after another caller changed theirs: %+v, want %+v", acc, wantAccount)
		}
		acc.BalanceFen = -1
	}
}
