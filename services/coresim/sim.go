// Package coresim simulates a centre's core business system behind the core
// API contract (services/core), over its own SQLite database: seeded demo
// people and employers, a deterministic generator for load tests, signed
// requests with replay protection, withdrawals that move through their
// statuses as the clock advances, and knobs for latency, errors, outages and
// the nightly maintenance window.
//
// It runs in-process (the embedded profile wires Handler into the core
// client's transport) or as its own HTTP server (AdminHandler), where the
// knobs can also be turned over HTTP.
package coresim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"

	"handheld/services/core"
)

// Config is everything a simulator needs; only Keys is required.
type Config struct {
	// Path is the SQLite file; "" keeps the database in memory for the
	// lifetime of the Sim.
	Path string
	// Keys maps a key id (header X-Core-Key) to its HMAC secret. A request
	// signed with any other key is refused; with no keys at all every call
	// is, which suits tools that only seed, generate or list personas.
	Keys map[string][]byte
	// Faults is the initial fault spec (see ParseFaults), e.g.
	// "account=latency:50ms;loan=error:1.0;withdrawal=down".
	Faults string
	// Maintenance is the nightly window (see ParseWindow), e.g.
	// "23:00-01:00"; "" means none.
	Maintenance string
	// Now is the clock; nil means time.Now. Seeding, signature windows,
	// withdrawal progress and maintenance all read it.
	Now func() time.Time
	// Logger receives one debug line per call and errors; nil discards.
	// Lines carry endpoint groups and request ids, never personal data.
	Logger *slog.Logger
	// Seed feeds the randomness of error-rate faults, so a fault run can be
	// repeated exactly.
	Seed uint64
	// ReviewDelay is how long a withdrawal stays submitted before the core
	// approves or rejects it; 0 means 30 seconds.
	ReviewDelay time.Duration
	// PayoutDelay is how long an approved withdrawal waits to be paid; 0
	// means 2 minutes.
	PayoutDelay time.Duration
	// BcryptCost is the cost operator passwords are hashed with at seeding
	// and generation; 0 means bcrypt.DefaultCost. Tests lower it.
	BcryptCost int
	// Policy is the contribution policy the unit endpoints enforce and
	// GET /core/v1/policy reports; the zero value means DefaultPolicy.
	Policy core.Policy
	// LargeUnits also seeds the 500- and 5,000-person employers (a few
	// seconds on first open); the 3-person shop and the 50-person firm
	// are always seeded.
	LargeUnits bool
	// CollectDelay is how long a declared bill waits before the unit's
	// bank starts collecting; 0 means 1 minute. SettleDelay is how long
	// the collection takes; 0 means 2 minutes. Faults of the "collection"
	// group delay (latency) or fail (error, down) collections.
	CollectDelay time.Duration
	SettleDelay  time.Duration
	// MaxNonces bounds the replay-protection memory; when it is full, calls
	// are answered 503 until old nonces expire. 0 means 4,000,000 (under
	// 100 MB; 2,000 calls a second for the 20 minutes a nonce may be kept).
	MaxNonces int
	// LoanPolicy is the early-repayment and arrears policy (GET
	// /core/v1/loan-policy); nil means DefaultLoanPolicy.
	LoanPolicy *core.LoanPolicy
}

// Sim is a running simulator. Its methods are safe for concurrent use.
type Sim struct {
	keys        map[string][]byte
	now         func() time.Time
	log         *slog.Logger
	reviewDelay time.Duration
	payoutDelay time.Duration
	bcryptCost  int
	policy      core.Policy
	largeUnits  bool
	collectWait time.Duration
	settleWait  time.Duration

	rdb *readPool // readers (the same pool as wdb for an in-memory database)
	wdb *sql.DB   // the single writer connection

	nonces  *core.NonceStore
	faults  atomic.Pointer[Faults]
	window  atomic.Pointer[Window] // nil: no maintenance window
	calls   map[string]*atomic.Int64
	rngMu   sync.Mutex
	rng     *rand.Rand
	genMu   sync.Mutex // one Generate at a time
	handler http.Handler

	loanMu     sync.Mutex
	loanPolicy core.LoanPolicy
}

// Open opens (or creates) the simulator's database, creates the schema,
// seeds the demo data into an empty database and returns a ready Sim.
// Reopening a seeded database keeps its data.
func Open(ctx context.Context, cfg Config) (*Sim, error) {
	s := &Sim{
		keys:        make(map[string][]byte, len(cfg.Keys)),
		now:         cfg.Now,
		log:         cfg.Logger,
		reviewDelay: cfg.ReviewDelay,
		payoutDelay: cfg.PayoutDelay,
		bcryptCost:  cfg.BcryptCost,
		policy:      cfg.Policy,
		largeUnits:  cfg.LargeUnits,
		collectWait: cfg.CollectDelay,
		settleWait:  cfg.SettleDelay,
		nonces:      core.NewNonceStore(cfg.MaxNonces),
		calls:       make(map[string]*atomic.Int64),
		rng:         rand.New(rand.NewPCG(cfg.Seed, 0x636f726573696d)),
	}
	for id, secret := range cfg.Keys {
		if id == "" || len(secret) == 0 {
			return nil, errors.New("coresim: Config.Keys has an empty key id or secret")
		}
		s.keys[id] = append([]byte(nil), secret...)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if len(s.keys) == 0 {
		s.log.Warn("coresim: no signing keys configured: every call will be refused")
	}
	if s.bcryptCost == 0 {
		s.bcryptCost = bcrypt.DefaultCost
	}
	if s.reviewDelay <= 0 {
		s.reviewDelay = 30 * time.Second
	}
	if s.payoutDelay <= 0 {
		s.payoutDelay = 2 * time.Minute
	}
	if s.collectWait <= 0 {
		s.collectWait = time.Minute
	}
	if s.settleWait <= 0 {
		s.settleWait = 2 * time.Minute
	}
	if s.policy == (core.Policy{}) {
		s.policy = DefaultPolicy()
	}
	s.loanPolicy = DefaultLoanPolicy()
	if cfg.LoanPolicy != nil {
		s.loanPolicy = *cfg.LoanPolicy
	}
	if err := checkPolicy(s.policy); err != nil {
		return nil, fmt.Errorf("coresim: policy: %w", err)
	}
	for _, g := range callGroups() {
		s.calls[g] = new(atomic.Int64)
	}
	if err := s.SetFaults(cfg.Faults); err != nil {
		return nil, fmt.Errorf("coresim: faults: %w", err)
	}
	if err := s.SetMaintenance(cfg.Maintenance); err != nil {
		return nil, fmt.Errorf("coresim: maintenance: %w", err)
	}
	if err := s.openDB(cfg.Path); err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.seed(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// openDB opens a single-connection writer pool and, for a file, a separate
// read-only pool: in WAL mode readers never wait for the writer, and one
// writer connection means writes queue in Go instead of failing busy.
func (s *Sim) openDB(path string) error {
	if strings.ContainsAny(path, "?#") {
		return fmt.Errorf("coresim: database path %q must not contain ? or #", path)
	}
	if path == "" {
		// Every connection to ":memory:" is a different database, so all
		// work shares one connection.
		db, err := sql.Open("sqlite", ":memory:?_busy_timeout=10000")
		if err != nil {
			return fmt.Errorf("coresim: open database: %w", err)
		}
		db.SetMaxOpenConns(1)
		db.SetConnMaxIdleTime(0)
		db.SetConnMaxLifetime(0)
		s.rdb, s.wdb = newReadPool(db), db
		return nil
	}
	const pragmas = "_busy_timeout=10000&_journal_mode=WAL&_synchronous=NORMAL"
	w, err := sql.Open("sqlite", path+"?"+pragmas+"&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("coresim: open database: %w", err)
	}
	w.SetMaxOpenConns(1)
	// WAL is a property of the file, set by the writer; readers only read.
	r, err := sql.Open("sqlite", path+"?_busy_timeout=10000&_query_only=1")
	if err != nil {
		w.Close()
		return fmt.Errorf("coresim: open database: %w", err)
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	r.SetMaxIdleConns(max(4, runtime.GOMAXPROCS(0)))
	s.rdb, s.wdb = newReadPool(r), w
	return nil
}

// Close closes the database. Handlers must no longer be serving.
func (s *Sim) Close() error {
	err := s.rdb.closeStatements()
	err = errors.Join(err, s.wdb.Close())
	if s.rdb.DB != s.wdb {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// Handler serves the core API contract: every path in services/core.
func (s *Sim) Handler() http.Handler { return s.handler }

// Calls is how many requests reached an endpoint group (see the Group
// constants; "all" is the total), counted before faults, signatures and
// maintenance, so a test can prove that a cache or an open circuit breaker
// kept calls away from the core.
func (s *Sim) Calls(group string) int64 {
	if group == GroupAll {
		var n int64
		for _, c := range s.calls {
			n += c.Load()
		}
		return n
	}
	if c, ok := s.calls[group]; ok {
		return c.Load()
	}
	return 0
}

// WithdrawalCount is how many applications the core holds under an
// application id: 0 or 1, whatever the number of deliveries, if the
// idempotency contract holds. -1 means the database could not be read.
func (s *Sim) WithdrawalCount(applicationID string) int {
	return s.count("SELECT count(*) FROM withdrawals WHERE application_id = ?", applicationID)
}

// PaidTo reports whether the application was paid to the payout account
// (its id), for tests that follow money to where it went.
func (s *Sim) PaidTo(applicationID, accountID string) bool {
	return s.count(`SELECT count(*) FROM withdrawals WHERE application_id = ? AND payout_account_id = ? AND status = 'paid'
		AND payout_account = (SELECT number FROM payout_accounts WHERE account_id = ?)`, applicationID, accountID, accountID) == 1
}

// Withdrawals is how many applications the core holds in all.
func (s *Sim) Withdrawals() int {
	return s.count("SELECT count(*) FROM withdrawals")
}

func (s *Sim) count(query string, args ...any) int {
	var n int
	if err := s.rdb.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		s.log.Error("coresim: count", "err", err)
		return -1
	}
	return n
}

// roll draws from the seeded source, for error-rate faults.
func (s *Sim) roll() float64 {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Float64()
}
