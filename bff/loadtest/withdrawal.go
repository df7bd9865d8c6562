package loadtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"handheld/bff"
	"handheld/services"
	"handheld/services/core"
	"handheld/services/coresim"
	"handheld/services/identity"
	"handheld/services/withdrawal"
)

// Sizing of the withdrawal scenario.
const (
	withdrawalSeed = 20240601 // numbers the generated population
	// withdrawalTargetRate is the 202s per second the population is sized
	// for, so that it does not run out within the measuring time.
	withdrawalTargetRate = 1200
	benchWarmUp          = 500 * time.Millisecond // untimed start of a write load
	outboxWorkers        = 64                     // the delivering app's (the default)
	benchCoreSecret      = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// benchWithdrawal measures withdrawals on PostgreSQL: applications accepted
// (202, outbox worker off) per second against the floor of the same
// two-row write; then the outbox delivering them to the simulator against
// the core client submitting as many directly.
func benchWithdrawal(ctx context.Context, o Options, w io.Writer) error {
	dsn, schema, dropSchema, err := benchSchema(ctx, o.PostgresURL)
	if err != nil {
		return err
	}
	defer dropSchema()
	sim, simURL, stopSim, err := serveSim(ctx)
	if err != nil {
		return err
	}
	defer stopSim()
	dataDir, err := os.MkdirTemp("", "handheld-bench-wd-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	// Both apps share the data dir (signing keys, hash secret) as replicas
	// share their configuration.
	logs := &appLog{count: map[string]int{}}
	start := func(workers int) (string, func(), error) {
		return loggedApp(ctx, logs, func(c *bff.Config) {
			c.DataDir, c.DatabaseURL, c.RedisURL = dataDir, dsn, o.RedisURL
			c.CoreURL, c.CoreSecret = simURL, benchCoreSecret
			c.RateLimits, c.OutboxWorkers = roomy(), workers
			// Binding every generated person takes longer than the
			// default step-up window; the face check at binding counts
			// for the whole run.
			c.Assurance = identity.DefaultAssurance()
			c.Assurance.Services[identity.ServiceWithdrawal] = identity.Requirement{ACR: services.ACRFace, MaxAge: time.Hour}
		})
	}

	n := int(math.Ceil(withdrawalTargetRate * (o.Duration + benchWarmUp).Seconds() / 3 / 0.9))
	t0 := time.Now()
	if err := sim.Generate(ctx, n, withdrawalSeed); err != nil {
		return err
	}
	generated := time.Since(t0)
	base, stopApp, err := start(0)
	if err != nil {
		return err
	}
	stopFirst := sync.OnceFunc(stopApp)
	defer stopFirst()
	t0 = time.Now()
	bearers, retried, err := signInMany(ctx, base, n, o.Concurrency)
	if err != nil {
		logs.report(os.Stderr)
		return err
	}
	fmt.Fprintf(w, "schema %s; %d people generated (%s); the %d with a normal account signed in by %d clients (%s, %d retried after a 5xx); outside the timing\n\n",
		schema, n, generated.Round(time.Millisecond), len(bearers), o.Concurrency, time.Since(t0).Round(time.Millisecond), retried)

	// 1. Accepted per second against the floor.
	floor, err := floorWrites(ctx, dsn, o.Concurrency, o.Duration)
	if err != nil {
		return err
	}
	personas := make([]coresim.Persona, len(bearers))
	for i, b := range bearers {
		personas[i] = b.persona
	}
	fair, err := floorWithReads(ctx, dsn, simURL, personas, o.Concurrency, o.Duration)
	if err != nil {
		return err
	}
	apps := &applications{base: base, bearers: bearers, run: strings.ToLower(rand.Text()[:8]), failures: map[string]int{},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency, MaxConnsPerHost: o.Concurrency}, Timeout: 10 * time.Second}}
	defer apps.client.CloseIdleConnections()
	apps.send(ctx, "warm-up", o.Concurrency, benchWarmUp)
	cpu0 := processCPU()
	sub := apps.send(ctx, "POST /me/withdrawals → 202 (worker off)", o.Concurrency, o.Duration)
	cpu := processCPU() - cpu0
	stopFirst()
	fmt.Fprint(w, "### 1. applications accepted per second vs the floor of their write\n\n")
	table(w, floor, fair, sub)
	fmt.Fprintf(w, "\nratio: %.2f (202s per second over floor transactions per second); %.2f over the floor with the reads it needs\n",
		sub.rps/floor.rps, sub.rps/fair.rps)
	fmt.Fprintf(w, "at %d clients a p50 of 20 ms needs about %.0f answers a second (clients / p50); the floor with reads gives p50 %s\n",
		o.Concurrency, float64(o.Concurrency)/0.020, fair.p50.Round(time.Microsecond))
	if sub.requests > 0 {
		fmt.Fprintf(w, "CPU of this process (app, simulator, clients; not PostgreSQL or Redis): %s per 202, %.0f%% of one core\n",
			(cpu / time.Duration(sub.requests)).Round(time.Microsecond), 100*cpu.Seconds()*sub.rps/float64(sub.requests))
	}
	if int(apps.next.Load()) >= apps.total() {
		fmt.Fprintf(w, "note: the %d applications ran out before %s; measured over the time they lasted\n", apps.total(), o.Duration)
	}
	if len(apps.failures) > 0 {
		fmt.Fprintf(w, "non-202 answers (warm-up included): %v\n", apps.failures)
	}
	accepted := apps.accepted
	if len(accepted) == 0 {
		logs.report(w)
		return errors.New("no application was accepted")
	}

	// 2. Delivery by the outbox against direct calls.
	fmt.Fprintf(w, "\n### 2. outbox delivery of the %d accepted applications to the simulator at 0 ms\n\n", len(accepted))
	// The direct calls run before the delivery and after it, and the
	// ratios are to their mean: on a shared machine their rate moves by a
	// fifth between runs of the same build.
	calls := min(len(accepted), fair.requests)
	before, _, _, _, err := directSubmits(ctx, simURL, nil, calls, outboxWorkers)
	if err != nil {
		return err
	}
	before.label += ", before the delivery"
	heldBefore := sim.Withdrawals()
	delivered, took, started, topics, rows, err := drainOutbox(ctx, dsn, len(accepted), func() (func(), error) {
		_, stop, err := start(outboxWorkers)
		return stop, err
	})
	if err != nil {
		logs.report(w)
		return err
	}
	held := sim.Withdrawals() - heldBefore
	missing := 0
	for _, id := range accepted {
		if sim.WithdrawalCount(id) != 1 {
			missing++
		}
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxIdleConns(outboxWorkers) // as many as the calls: no connection opened per transaction
	direct, recorded, batched, told, err := directSubmits(ctx, simURL, db, calls, outboxWorkers)
	if err != nil {
		return err
	}
	direct.label += ", after"
	mean := (before.rps + direct.rps) / 2
	fmt.Fprint(w, "| run | items | failed | per s | ratio | elapsed |\n|---|---|---|---|---|---|\n")
	for _, r := range []result{before, direct, recorded, batched, told} {
		fmt.Fprintf(w, "| %s | %d | %d | %.0f | %.2f | %s |\n", r.label, r.requests, r.errors, r.rps, r.rps/mean,
			time.Duration(float64(r.requests)/r.rps*float64(time.Second)).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "| outbox: withdrawal.submit rows delivered (%d workers) | %d | 0 | %.0f | %.2f | %s |\n",
		outboxWorkers, len(accepted), delivered, delivered/mean, took.Round(time.Millisecond))
	fromStart := float64(len(accepted)) / (took + started).Seconds()
	fmt.Fprintf(w, "\nratio: %.2f (rows delivered per second over the mean of the direct calls' rates before and after; delivery timed from the worker's start); %.2f over the calls with their answers recorded one transaction each, %.2f over those recorded by the batch\n",
		delivered/mean, delivered/recorded.rps, delivered/batched.rps)
	fmt.Fprintf(w, "timed from the app's start instead, which took %s before the worker's: %.0f per second, %.2f of the direct calls\n",
		started.Round(time.Millisecond), fromStart, fromStart/mean)
	fmt.Fprintf(w, "the floor of a delivery that also leases, loads and tells: %.2f of the direct calls; the outbox delivers at %.2f of it\n",
		told.rps/mean, delivered/told.rps)
	fmt.Fprintf(w, "direct calls: p50 %s, p99 %s\n", direct.p50.Round(time.Microsecond), direct.p99.Round(time.Microsecond))
	fmt.Fprintf(w, "outbox when the last submit row was delivered: %s\n", topics)
	fmt.Fprintf(w, "rows of every topic delivered by then: %d, %.0f per second (%.2f of the direct calls)\n",
		rows, float64(rows)/took.Seconds(), float64(rows)/took.Seconds()/mean)
	fmt.Fprintf(w, "simulator: %d applications for %d accepted ids (checked before the direct calls), %d ids not held exactly once\n", held, len(accepted), missing)
	logs.report(w)
	if held != len(accepted) || missing > 0 || direct.errors+before.errors > 0 {
		return fmt.Errorf("the simulator holds %d applications for %d accepted ids (%d not exactly once); %d direct calls failed",
			held, len(accepted), missing, direct.errors+before.errors)
	}
	return nil
}

// applications hands (person, kind) pairs to the clients of phase 1: every
// rent first, then every purchase, then every critical illness, so that one
// person's three applications are not sent at the same moment.
type applications struct {
	base     string
	client   *http.Client
	bearers  []signedIn
	run      string // in every Idempotency-Key: runs never share one
	next     atomic.Int64
	mu       sync.Mutex
	accepted []string       // application ids answered 202
	failures map[string]int // status and problem code → count
}

// applyBody is the k-th kind's application of p: 100 yuan to their card,
// with their own record as evidence where the kind needs it.
func applyBody(kind int, p coresim.Persona) string {
	account := p.PayoutAccounts[0].ID
	switch kind {
	case 0:
		return `{"type":"rent","amount_fen":10000,"payout":{"account_id":"` + account + `"}}`
	case 1:
		return `{"type":"purchase","amount_fen":10000,"payout":{"account_id":"` + account + `"},"evidence_refs":["` + p.Records[0].Ref + `"]}`
	default:
		return `{"type":"critical_illness","amount_fen":10000,"payout":{"account_id":"` + account + `"},"evidence_refs":["` + p.Records[1].Ref + `"]}`
	}
}

func (a *applications) total() int { return 3 * len(a.bearers) }

// send posts applications from c clients for d or until they run out;
// only 202s count.
func (a *applications) send(ctx context.Context, label string, c int, d time.Duration) result {
	return hammer(label, c, d, func() (bool, bool) {
		k := int(a.next.Add(1) - 1)
		if k >= a.total() {
			return false, true
		}
		req, _ := http.NewRequestWithContext(ctx, "POST", a.base+"/api/v1/me/withdrawals", strings.NewReader(applyBody(k/len(a.bearers), a.bearers[k%len(a.bearers)].persona)))
		req.Header.Set("Authorization", "Bearer "+a.bearers[k%len(a.bearers)].bearer)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%s-%d", a.run, k))
		var body struct{ ID, Code string }
		resp, err := a.client.Do(req)
		what := "transport error"
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			what = fmt.Sprintf("%d %s", resp.StatusCode, body.Code)
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if err != nil || resp.StatusCode != http.StatusAccepted || body.ID == "" {
			a.failures[what]++
			return false, false
		}
		a.accepted = append(a.accepted, body.ID)
		return true, false
	})
}

// drainOutbox starts the delivering app and times its worker, from the
// moment the app is built and serving (its worker starts with Serve) until
// no withdrawal.submit row is left undelivered, polling every 20 ms; rows
// closed with an error (dead) fail it. started is how long building the
// app took before that (fonts, templates, pools: nothing of delivery),
// reported beside the rate.
func drainOutbox(ctx context.Context, dsn string, want int, start func() (func(), error)) (perSecond float64, took, started time.Duration, topics string, rows int, err error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return 0, 0, 0, "", 0, err
	}
	defer db.Close()
	count := func(where string) (n int, err error) {
		err = db.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE topic = $1 AND `+where, withdrawal.TopicSubmit).Scan(&n)
		return n, err
	}
	if n, err := count("delivered_at IS NULL"); err != nil || n != want {
		return 0, 0, 0, "", 0, fmt.Errorf("before delivery: %d undelivered submit rows for %d accepted applications (%v)", n, want, err)
	}
	t0 := time.Now()
	stop, err := start()
	if err != nil {
		return 0, 0, 0, "", 0, err
	}
	defer stop()
	started = time.Since(t0)
	t0 = time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	// Whether any is left, not how many: a count reads every pending row,
	// which 50 times a second took an eighth of PostgreSQL's time from the
	// delivery it measures.
	left := func() (n int, err error) {
		err = db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM outbox WHERE topic = $1 AND delivered_at IS NULL LIMIT 1) AS one`,
			withdrawal.TopicSubmit).Scan(&n)
		return n, err
	}
	for {
		n, err := left()
		switch {
		case err != nil:
			return 0, 0, 0, "", 0, err
		case n == 0:
			took = time.Since(t0)
			if dead, err := count("last_error <> ''"); err != nil || dead > 0 {
				return 0, 0, 0, "", 0, fmt.Errorf("delivery: %d submit rows closed with an error (%v)", dead, err)
			}
			// What else the worker delivered meanwhile, or holds for later.
			byTopic, err := db.QueryContext(ctx, `SELECT topic, count(*), count(delivered_at) FROM outbox GROUP BY topic ORDER BY topic`)
			for err == nil && byTopic.Next() {
				var topic string
				var all, done int
				if err = byTopic.Scan(&topic, &all, &done); err == nil {
					topics += fmt.Sprintf("%s %d rows (%d delivered); ", topic, all, done)
					rows += done
				}
			}
			if byTopic != nil {
				byTopic.Close()
			}
			if err == nil {
				var all time.Duration
				var delivered int
				if all, delivered, err = drainDue(ctx, db, t0); err == nil {
					topics += fmt.Sprintf("every row due by then delivered after %s: %d rows, %.0f per second",
						all.Round(time.Millisecond), delivered, float64(delivered)/all.Seconds())
				}
			}
			return float64(want) / took.Seconds(), took, started, strings.TrimSuffix(topics, "; "), rows, err
		case time.Since(t0) > 2*time.Minute:
			n, _ = count("delivered_at IS NULL")
			return 0, 0, 0, "", 0, fmt.Errorf("delivery: %d of %d submit rows still undelivered after 2 minutes", n, want)
		}
		select {
		case <-ctx.Done():
			return 0, 0, 0, "", 0, ctx.Err()
		case <-tick.C:
		}
	}
}

// drainDue waits, from t0, until no row of any topic is due (the
// notifications delivered after the submissions, background topics taking
// the slots the submissions left), and returns how long it took and how
// many rows had been delivered then.
func drainDue(ctx context.Context, db *sql.DB, t0 time.Time) (time.Duration, int, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Since(t0) < 2*time.Minute {
		var left int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= now() LIMIT 1) AS one`).Scan(&left); err != nil {
			return 0, 0, err
		}
		if left == 0 {
			took := time.Since(t0)
			var n int
			err := db.QueryRowContext(ctx, `SELECT count(delivered_at) FROM outbox`).Scan(&n)
			return took, n, err
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-tick.C:
		}
	}
	return 0, 0, errors.New("delivery: rows still due after 2 minutes")
}

// directSubmits is the baseline of phase 2: the core client alone, as
// bff/app.go configures it, sending n fresh applications from c goroutines
// to the same simulator; then, with db, the same followed each by the
// transaction that records the answer (the fairer baseline); then the same
// by the batch, as a perfect batch handler would (the fairest).
func directSubmits(ctx context.Context, simURL string, db *sql.DB, n, c int) (direct, recorded, batched, told result, err error) {
	cl, err := core.NewClient(core.ClientConfig{BaseURL: simURL, KeyID: bff.Defaults().CoreKeyID,
		Secret: []byte(benchCoreSecret), Timeout: bff.Defaults().CoreTimeout, Now: time.Now})
	if err != nil {
		return result{}, result{}, result{}, result{}, err
	}
	var people []core.Person
	var accounts []core.PayoutAccount
	for i := range 32 {
		p := coresim.GeneratedPersona(i, withdrawalSeed)
		accounts = append(accounts, p.PayoutAccounts[0])
		person, err := cl.VerifyRealName(ctx, p.Name, p.IDNumber)
		if err != nil {
			return result{}, result{}, result{}, result{}, fmt.Errorf("direct: person %d: %w", i, err)
		}
		people = append(people, person)
	}
	var seq atomic.Int64
	submit := func(i int) error {
		p, a := people[i%len(people)], accounts[i%len(people)]
		_, err := cl.SubmitWithdrawal(ctx, core.Withdrawal{ApplicationID: "wd_" + strings.ToLower(rand.Text()[:26]), PersonID: p.PersonID,
			Kind: "07", AmountFen: 10000, PayoutMethod: a.Kind, PayoutAccount: a.Number, PayoutAccountID: a.ID})
		return err
	}
	direct = hammer(fmt.Sprintf("direct: core.Client.SubmitWithdrawal (%d goroutines)", c), c, 10*time.Minute, func() (bool, bool) {
		i := int(seq.Add(1) - 1)
		if i >= n {
			return false, true
		}
		return submit(i) == nil, false
	})
	if db == nil {
		return direct, result{}, result{}, result{}, nil
	}
	// The same calls, each followed by the transaction that records its
	// answer, as a delivery must: the application moved on, its status
	// added, the next poll and the person's notification queued, the
	// delivery row closed (on the rows the fairer floor of phase 1 wrote).
	seq.Store(0)
	var firstErr atomic.Value
	recorded = hammer(fmt.Sprintf("direct + recorded: each call, then a tx of UPDATE application, INSERT status, 2 outbox rows, close the delivery row (%d goroutines)", c), c, 10*time.Minute, func() (bool, bool) {
		i := int(seq.Add(1) - 1)
		if i >= n {
			return false, true
		}
		err := submit(i)
		id, now := fmt.Sprintf("wd_%032x", i), time.Now().UTC().Truncate(time.Microsecond)
		if err == nil {
			err = inTx(ctx, db, func(tx *sql.Tx) error {
				for _, q := range []struct {
					sql  string
					args []any
				}{
					{`UPDATE floor2_withdrawals SET status = 'submitted', updated_at = $1 WHERE id = $2 AND status = 'accepted'`, []any{now, id}},
					{`INSERT INTO floor2_events (application_id, status, reason, at) VALUES ($1, 'submitted', '', $2) ON CONFLICT (application_id, status) DO NOTHING`, []any{id, now}},
					{`INSERT INTO floor2_outbox (id, topic, payload, attempts, next_attempt_at, last_error, created_at) VALUES ($1, $2, $3, 0, $4, '', $4) ON CONFLICT (id) DO NOTHING`,
						[]any{"withdrawal.poll:" + id, "withdrawal.poll", []byte(id), now}},
					{`INSERT INTO floor2_outbox (id, topic, payload, attempts, next_attempt_at, last_error, created_at) VALUES ($1, $2, $3, 0, $4, '', $4) ON CONFLICT (id) DO NOTHING`,
						[]any{"notify.wechat:" + id + ":submitted", "notify.wechat", []byte(id), now}},
					{`UPDATE floor2_outbox SET delivered_at = $1 WHERE id = $2`, []any{now, string(withdrawal.TopicSubmit) + ":" + id}},
				} {
					if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err != nil {
			firstErr.CompareAndSwap(nil, err)
		}
		return err == nil, false
	})
	if recorded.errors > 0 {
		return direct, recorded, result{}, result{}, fmt.Errorf("direct + recorded: %v", firstErr.Load())
	}
	if batched, err = batchedSubmits(ctx, db, n, c, submit, false); err != nil {
		return direct, recorded, batched, result{}, err
	}
	told, err = batchedSubmits(ctx, db, n, c, submit, true)
	return direct, recorded, batched, told, err
}

// batchedSubmits is the floor of a perfect batch handler: c calls at once,
// as c/claim rounds of claim calls each (the outbox's workers and claim),
// each round's answers recorded in one transaction of one statement per
// kind of row. It moves the applications the fairer baseline moved one
// step further, so that each statement writes as many rows as there.
//
// told adds what a delivery also needs before and after: the round's rows
// leased and its applications loaded, one statement each, and afterwards
// each person told of their application, as the notification topic does,
// perfectly batched: one transaction that closes the round's notification
// rows (at most once) and posts the messages to the inbox. Each
// application gets one message here, the one its acceptance queued; by the
// time the outbox has sent the last application it has delivered about one
// and a half, so this is the floor of the least work a delivery must do.
func batchedSubmits(ctx context.Context, db *sql.DB, n, c int, submit func(int) error, told bool) (result, error) {
	const claim = 32 // bff/app.go's outbox Batch
	var (
		next     atomic.Int64
		items    atomic.Int64
		firstErr atomic.Value
		rounds   sync.WaitGroup
	)
	start := time.Now()
	for range max(c/claim, 1) {
		rounds.Go(func() {
			for {
				from := int(next.Add(claim) - claim)
				if from >= n || ctx.Err() != nil {
					return
				}
				idx := make([]int, 0, claim)
				for i := from; i < min(from+claim, n); i++ {
					idx = append(idx, i)
				}
				ids, polls, notes, closes := make([]string, len(idx)), make([]string, len(idx)), make([]string, len(idx)), make([]string, len(idx))
				from2, to2 := "submitted", "approved" // the step the fairer baseline left them at, and the next
				if told {
					from2, to2 = "approved", "paid"
				}
				for k, i := range idx {
					ids[k] = fmt.Sprintf("wd_%032x", i)
					polls[k], notes[k] = "withdrawal.poll:"+ids[k]+":"+to2, "notify.wechat:"+ids[k]+":"+to2
					closes[k] = string(withdrawal.TopicSubmit) + ":" + ids[k]
				}
				if told {
					if err := leaseAndLoad(ctx, db, closes, ids); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
				}
				errs := make([]error, len(idx))
				var calls sync.WaitGroup
				for k, i := range idx {
					calls.Go(func() { errs[k] = submit(i) })
				}
				calls.Wait()
				if err := errors.Join(errs...); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				now := time.Now().UTC().Truncate(time.Microsecond)
				err := inTx(ctx, db, func(tx *sql.Tx) error {
					for _, q := range []struct {
						sql  string
						args []any
					}{
						{`UPDATE floor2_withdrawals SET status = $3, updated_at = $1 WHERE id = ANY($2) AND status = $4`, []any{now, ids, to2, from2}},
						{`INSERT INTO floor2_events (application_id, status, reason, at) SELECT id, $3, '', $2 FROM unnest($1::text[]) AS id ON CONFLICT (application_id, status) DO NOTHING`, []any{ids, now, to2}},
						{`INSERT INTO floor2_outbox (id, topic, payload, attempts, next_attempt_at, last_error, created_at) SELECT id, $2, convert_to(id, 'UTF8'), 0, $3, '', $3 FROM unnest($1::text[]) AS id ON CONFLICT (id) DO NOTHING`,
							[]any{polls, "withdrawal.poll", now}},
						{`INSERT INTO floor2_outbox (id, topic, payload, attempts, next_attempt_at, last_error, created_at) SELECT id, $2, convert_to(id, 'UTF8'), 0, $3, '', $3 FROM unnest($1::text[]) AS id ON CONFLICT (id) DO NOTHING`,
							[]any{notes, "notify.wechat", now}},
						{`UPDATE floor2_outbox SET delivered_at = $1 WHERE id = ANY($2)`, []any{now, closes}},
					} {
						if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
							return err
						}
					}
					return nil
				})
				if err == nil && told {
					err = tell(ctx, db, ids, now)
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				items.Add(int64(len(idx)))
			}
		})
	}
	rounds.Wait()
	if err := firstErr.Load(); err != nil {
		return result{}, fmt.Errorf("direct + recorded by the batch: %v", err)
	}
	label := fmt.Sprintf("direct + recorded by the batch: %d rounds of %d calls at once, then one tx of one statement per kind of row", max(c/claim, 1), claim)
	if told {
		label = "direct + recorded and told by the batch: as above, with the rows leased and the applications loaded first, and each person's message closed and posted after (one tx)"
	}
	return result{label: label, requests: int(items.Load()), rps: float64(items.Load()) / time.Since(start).Seconds()}, nil
}

// leaseAndLoad is what a batch delivery does before its calls: lease the
// round's rows (one UPDATE … RETURNING by id, the claim a perfect worker
// would make) and load their applications (one SELECT).
func leaseAndLoad(ctx context.Context, db *sql.DB, rows, ids []string) error {
	until := time.Now().Add(time.Minute).UTC().Truncate(time.Microsecond)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE floor2_outbox SET next_attempt_at = $2, attempts = attempts + 1 WHERE id = ANY($1) RETURNING id, topic, payload, attempts, created_at`, []any{rows, until}},
		{`SELECT id, case_number, subject, kind, core_kind, amount_fen, payout_method, payout_account, evidence_refs, status FROM floor2_withdrawals WHERE id = ANY($1)`, []any{ids}},
	} {
		r, err := db.QueryContext(ctx, q.sql, q.args...)
		if err != nil {
			return err
		}
		for r.Next() {
		}
		if err := errors.Join(r.Err(), r.Close()); err != nil {
			return err
		}
	}
	return nil
}

// tell delivers each application's message as the notification topic
// does, perfectly batched: the rows closed before sending (at most once)
// and the messages posted to the inbox with their push outcome, in one
// transaction.
func tell(ctx context.Context, db *sql.DB, ids []string, now time.Time) error {
	notes, keys := make([]string, len(ids)), make([]string, len(ids))
	for k, id := range ids {
		notes[k], keys[k] = "notify.wechat:"+id+":accepted", "withdrawal:"+id+":accepted"
	}
	return inTx(ctx, db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE floor2_outbox SET delivered_at = $2, attempts = attempts + 1 WHERE id = ANY($1)`, notes, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO floor2_messages (id, subject, dedupe_key, category, kind, content, push, created_at, pushed_at)
			SELECT 'msg_' || key, 'subject-' || key, key, 'case', 'accepted', '{"case":"' || key || '"}', 'no_grant', $2, $2
			FROM unnest($1::text[]) AS key ON CONFLICT (subject, dedupe_key) DO NOTHING`, keys, now)
		return err
	})
}
