package core_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/kv"
	"handheld/services/suite"
)

// readerRig is a Reader over the simulator served over real HTTP, with an
// in-memory kv on the harness's clock and a record of the Reader's hooks.
type readerRig struct {
	*harness
	reader *core.Reader
	cache  *kv.Memory
	events *readerEvents
}

// rigOptions adjust a readerRig: the Reader's config, the simulator's, and
// whether the client skips the OpenAPI-validating transport (benchmarks
// measure the Reader, not the validator).
type rigOptions struct {
	reader    func(*core.ReaderConfig)
	sim       []simConfig
	plainHTTP bool
}

// readerSecret is the AES key of the test Readers' cache values.
func readerSecret() []byte { return []byte("reader-cache-key-reader-cache-k!") }

// testReaderConfig is DefaultReaderConfig on the harness's clock with waits
// short enough for tests: policies keep their defaults unless a test says
// otherwise.
func testReaderConfig(h *harness, ev *readerEvents) core.ReaderConfig {
	cfg := core.DefaultReaderConfig()
	for _, p := range []*core.ReadPolicy{&cfg.Person, &cfg.Account, &cfg.Deposits, &cfg.Loan, &cfg.Certificate, &cfg.Employer} {
		p.Backoff = time.Millisecond
	}
	cfg.Secret = readerSecret()
	cfg.Now = h.clock.Now
	cfg.Rand = rand.NewPCG(1, 2)
	cfg.OnRetry = ev.retry
	cfg.OnStale = ev.stale
	cfg.OnCache = ev.cache
	cfg.OnBreakerChange = ev.breaker
	return cfg
}

func newReaderRig(tb testing.TB, o rigOptions) *readerRig {
	tb.Helper()
	h := newHarness(tb, o.sim...)
	if o.plainHTTP {
		h.client = h.newClient(tb, func(c *core.ClientConfig) { c.HTTPClient = &http.Client{} })
	}
	rig := &readerRig{harness: h, cache: kv.NewMemory(h.clock.Now, services.NewHashKey([]byte("kv-key-hashing-secret"), suite.Env())), events: &readerEvents{}}
	cfg := testReaderConfig(h, rig.events)
	if o.reader != nil {
		o.reader(&cfg)
	}
	r, err := core.NewReader(h.client, cfg, rig.cache)
	if err != nil {
		tb.Fatalf("NewReader: %v", err)
	}
	rig.reader = r
	return rig
}

// rigMemory is a kv store for tests that never read through it.
func rigMemory() *kv.Memory {
	return kv.NewMemory(time.Now, services.NewHashKey([]byte("kv-key-hashing-secret"), suite.Env()))
}

// depositors resolves the seeded depositors with an account, and the one
// person the core knows without an account, to their person ids.
func (h *harness) depositors(tb testing.TB) (withAccount []core.Person, withoutAccount core.Person) {
	tb.Helper()
	for _, p := range h.sim.Personas() {
		if p.IDNumber == "" {
			continue
		}
		got, err := h.client.VerifyRealName(context.Background(), p.Name, p.IDNumber)
		if err != nil {
			tb.Fatalf("VerifyRealName(persona %s): %v", p.Role, err)
		}
		if got.HasAccount {
			withAccount = append(withAccount, got)
		} else {
			withoutAccount = got
		}
	}
	if len(withAccount) < 2 || withoutAccount.PersonID == "" {
		tb.Fatalf("the seed has %d depositors and no person without an account; want 2 and 1", len(withAccount))
	}
	return withAccount, withoutAccount
}

// advance moves the shared clock of the simulator, the client, the kv and
// the Reader.
func (h *harness) advance(d time.Duration) { h.clock.Set(h.clock.Now().Add(d)) }

// readerEvents records what the Reader reported through its hooks.
type readerEvents struct {
	mu sync.Mutex
	n  eventCounts
}

// eventCounts is a copy of what readerEvents recorded.
type eventCounts struct {
	retries  int
	stales   int
	hits     int
	misses   int
	breakers []string // "group:from->to"
}

func (e *readerEvents) retry(string) { e.mu.Lock(); e.n.retries++; e.mu.Unlock() }
func (e *readerEvents) stale(string) { e.mu.Lock(); e.n.stales++; e.mu.Unlock() }

func (e *readerEvents) cache(_ string, hit bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if hit {
		e.n.hits++
	} else {
		e.n.misses++
	}
}

func (e *readerEvents) breaker(group, from, to string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n.breakers = append(e.n.breakers, group+":"+from+"->"+to)
}

func (e *readerEvents) snapshot() eventCounts {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.n
	n.breakers = append([]string(nil), e.n.breakers...)
	return n
}
