package loadtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx": the floor and the backlog count
	"golang.org/x/sync/errgroup"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/coresim"
	"handheld/services/withdrawal"
)

// benchSchema creates a schema for the run and returns a DSN whose
// search_path selects it (as storetest.PostgresDSN does), and a drop that
// removes it with everything in it.
func benchSchema(ctx context.Context, base string) (dsn, schema string, drop func(), err error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", "", nil, errors.New("-pg must be a postgres:// URL")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", "", nil, err
	}
	schema = "bench_" + strings.ToLower(rand.Text()[:16]) // base32: a valid unquoted identifier
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		return "", "", nil, fmt.Errorf("PostgreSQL at %s: %w", u.Redacted(), err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown parameters as run-time settings
	u.RawQuery = q.Encode()
	return u.String(), schema, func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(dctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			fmt.Fprintf(os.Stderr, "bench: drop schema %s: %v\n", schema, err)
		}
		admin.Close()
	}, nil
}

// serveSim starts a simulator over HTTP with no faults.
func serveSim(ctx context.Context) (*coresim.Sim, string, func(), error) {
	dir, err := os.MkdirTemp("", "handheld-bench-sim-")
	if err != nil {
		return nil, "", nil, err
	}
	sim, err := coresim.Open(ctx, coresim.Config{Path: filepath.Join(dir, "coresim.db"),
		Keys: map[string][]byte{"handheld": []byte(benchCoreSecret)}, Now: time.Now})
	if err != nil {
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return sim, "http://" + ln.Addr().String(), func() { _ = srv.Close(); _ = sim.Close(); _ = os.RemoveAll(dir) }, nil
}

// appLog is a slog.Handler that counts warnings and errors by level,
// message, route and cause.
type appLog struct {
	mu    sync.Mutex
	count map[string]int
}

func (l *appLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }
func (l *appLog) WithAttrs([]slog.Attr) slog.Handler            { return l }
func (l *appLog) WithGroup(string) slog.Handler                 { return l }

func (l *appLog) Handle(_ context.Context, r slog.Record) error {
	key := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "route", "cause", "error", "err":
			key += fmt.Sprintf(" %s=%q", a.Key, a.Value.String())
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count[key]++
	return nil
}

// report prints the commonest lines with their counts.
func (l *appLog) report(w io.Writer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := slices.SortedFunc(maps.Keys(l.count), func(a, b string) int { return l.count[b] - l.count[a] })
	if len(keys) == 0 {
		fmt.Fprintln(w, "app log: no warnings or errors")
	}
	for i, k := range keys {
		if i == 10 {
			fmt.Fprintf(w, "app log: %d more kinds of line\n", len(keys)-i)
			break
		}
		fmt.Fprintf(w, "app log: ×%d %s\n", l.count[k], k)
	}
}

// processCPU is the user and system time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// errServer marks a 5xx answer, which sign-in tries again.
var errServer = errors.New("server error")

// signedIn is a generated person with their access token.
type signedIn struct {
	bearer  string
	persona coresim.Persona
}

// signInMany signs in, from c clients, the generated people whose account
// is normal (the others may not apply for every kind) and returns their
// access tokens and how many sign-ins were tried again.
func signInMany(ctx context.Context, base string, n, c int) (bearers []signedIn, retries int64, err error) {
	var mu sync.Mutex
	var next, tries atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	errs := make(chan error, c)
	for range c {
		go func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				p := coresim.GeneratedPersona(i, withdrawalSeed)
				if !strings.HasSuffix(p.Notes, "account status "+core.StatusNormal) {
					continue
				}
				var m map[string]any
				var err error
				for try := range 5 { // setup, not measured: a 5xx (see the app log) is tried again
					if try > 0 {
						tries.Add(1)
						time.Sleep(25 * time.Millisecond << (2 * try)) // 100 ms … 6.4 s
					}
					m, err = postJSON(ctx, client, base+"/api/v1/auth/wechat", "", map[string]string{"code": fmt.Sprintf("sandbox:oBenchWd%07d", i)})
					if err == nil {
						m, err = postJSON(ctx, client, base+"/api/v1/auth/bind", fmt.Sprint(m["binding_token"]), map[string]string{"name": p.Name, "id_number": p.IDNumber,
							"face_result": p.FaceToken}) // the sandbox's face result
					}
					if !errors.Is(err, errServer) {
						break
					}
				}
				if err != nil {
					errs <- fmt.Errorf("sign in generated person %d: %w", i, err)
					return
				}
				mu.Lock()
				bearers = append(bearers, signedIn{bearer: fmt.Sprint(m["access_token"]), persona: p})
				mu.Unlock()
			}
			errs <- nil
		}()
	}
	var all []error
	for range c {
		all = append(all, <-errs)
	}
	return bearers, tries.Load(), errors.Join(all...)
}

// postJSON sends a JSON body and decodes a 200 answer.
func postJSON(ctx context.Context, client *http.Client, url, bearer string, body any) (map[string]any, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
		if resp.StatusCode >= 500 {
			return nil, fmt.Errorf("%s: %w %d %v", req.URL.Path, errServer, resp.StatusCode, m)
		}
		return nil, fmt.Errorf("%s: %d %v", req.URL.Path, resp.StatusCode, m)
	}
	return m, nil
}

// hammer runs op from c goroutines until d has passed or op reports that
// the work is done, and measures the ops that succeeded, as load does.
func hammer(label string, c int, d time.Duration, op func() (ok, done bool)) result {
	var mu sync.Mutex
	var lat []time.Duration
	var fails int
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for range c {
		wg.Go(func() {
			var mine []time.Duration
			bad := 0
			for time.Now().Before(end) {
				t0 := time.Now()
				ok, done := op()
				if done {
					break
				}
				if !ok {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat, fails = append(lat, mine...), fails+bad
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(lat)
	r := result{label: label, requests: len(lat), errors: fails, rps: float64(len(lat)) / time.Since(start).Seconds()}
	if len(lat) > 0 {
		r.p50, r.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	return r
}

// floorDB opens c connections to dsn and runs ddl (the floors' tables).
func floorDB(ctx context.Context, dsn string, c int, ddl string) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(c)
	db.SetMaxIdleConns(c)
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		db.Close()
		return nil, fmt.Errorf("floor: %w", err)
	}
	return db, nil
}

// inTx runs fn in a transaction on db and commits it, or rolls it back.
func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// floorWrites is the baseline of phase 1: c connections committing, each
// in a loop, one row into a copy of withdrawals and one into a copy of
// outbox (indexes and constraints included) per transaction: what
// accepting an application writes, with nothing around it.
func floorWrites(ctx context.Context, dsn string, c int, d time.Duration) (result, error) {
	db, err := floorDB(ctx, dsn, c, `CREATE TABLE floor_withdrawals (LIKE withdrawals INCLUDING ALL);
		CREATE TABLE floor_outbox (LIKE outbox INCLUDING ALL)`)
	if err != nil {
		return result{}, err
	}
	defer db.Close()
	var seq atomic.Int64
	var firstErr atomic.Value
	op := func() (bool, bool) {
		i := seq.Add(1)
		id, now := fmt.Sprintf("wd_%032x", i), time.Now().UTC().Truncate(time.Microsecond)
		err := inTx(ctx, db, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO floor_withdrawals (id, case_number, subject, kind, core_kind, amount_fen,
				payout_method, payout_account, evidence_refs, closes_account, status, idempotency_key, request_hash,
				locale, channel, created_at, updated_at, due_on)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
				id, fmt.Sprintf("TQ20260101-%08d", i), fmt.Sprintf("sub_%024d", i), "rent", "07", 10000, "bank_card",
				"6222020000000000000", "[]", false, "accepted", fmt.Sprintf("bench-%d", i), strings.Repeat("0", 64),
				"zh-CN", "miniapp", now, now, "2026-01-06"); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO floor_outbox (id, topic, payload, attempts, next_attempt_at, last_error, created_at)
				VALUES ($1, $2, $3, 0, $4, '', $5) ON CONFLICT (id) DO NOTHING`,
				string(withdrawal.TopicSubmit)+":"+id, string(withdrawal.TopicSubmit), []byte(id), now, now)
			return err
		})
		if err != nil {
			firstErr.CompareAndSwap(nil, err)
		}
		return err == nil, false
	}
	hammer("warm-up", c, benchWarmUp, op)
	r := hammer(fmt.Sprintf("floor: tx of INSERT withdrawals copy + INSERT outbox copy (%d conns)", c), c, d, op)
	if r.requests == 0 {
		return r, fmt.Errorf("floor: no transaction committed: %v", firstErr.Load())
	}
	return r, nil
}

// floorWithReads is the fairer baseline of phase 1: the floor's write
// together with what accepting an application cannot do without, done
// directly, from c clients, each op one application's worth, for the same
// people and kinds in the same order as the applications:
//
//   - from the core, at once: the facts eligibility is judged on (the
//     account and the last 13 months of the ledger), the person's payout
//     accounts and, for the kinds that carry evidence, the evidence check
//     (core.Client over HTTP to the same simulator);
//   - in one transaction: the application under its Idempotency-Key looked
//     up, the person's lock taken, their applications in flight read, and
//     four rows written: the application, its first status, the delivery
//     row and the person's notification.
//
// It leaves out what handheld adds around that: HTTP and JSON, the token,
// the limits, the audit record, the checks and the judgement.
func floorWithReads(ctx context.Context, dsn, simURL string, personas []coresim.Persona, c int, d time.Duration) (result, error) {
	cl, err := core.NewClient(core.ClientConfig{BaseURL: simURL, KeyID: "handheld",
		Secret: []byte(benchCoreSecret), Timeout: 10 * time.Second, Now: time.Now})
	if err != nil {
		return result{}, err
	}
	ids := make([]string, len(personas))
	var next atomic.Int64
	var g errgroup.Group
	for range c { // setup, not measured
		g.Go(func() error {
			for i := int(next.Add(1) - 1); i < len(personas); i = int(next.Add(1) - 1) {
				found, err := cl.VerifyRealName(ctx, personas[i].Name, personas[i].IDNumber)
				if err != nil {
					return fmt.Errorf("floor with reads: person %d: %w", i, err)
				}
				ids[i] = found.PersonID
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return result{}, err
	}
	db, err := floorDB(ctx, dsn, c, `CREATE TABLE floor2_withdrawals (LIKE withdrawals INCLUDING ALL);
		CREATE TABLE floor2_events (LIKE withdrawal_events INCLUDING ALL);
		CREATE TABLE floor2_outbox (LIKE outbox INCLUDING ALL);
		CREATE TABLE floor2_messages (LIKE messages INCLUDING ALL)`)
	if err != nil {
		return result{}, err
	}
	defer db.Close()
	var seq atomic.Int64
	var firstErr atomic.Value
	op := func() (bool, bool) {
		i := seq.Add(1) - 1
		n := int(i) % len(personas)
		p, personID, kind := personas[n], ids[n], int(i/int64(len(personas)))%3
		from := time.Now().In(services.CentreTime).AddDate(0, -13, 0).Format("2006-01")
		var g errgroup.Group
		g.Go(func() error { _, err := cl.Account(ctx, personID); return err })
		g.Go(func() error {
			_, err := cl.Deposits(ctx, personID, core.DepositQuery{From: from, Limit: 100})
			return err
		})
		g.Go(func() error { _, err := cl.PayoutAccounts(ctx, personID); return err })
		if kind > 0 {
			cat := []string{"", "property_registration", "diagnosis"}[kind]
			g.Go(func() error {
				_, err := cl.CheckEvidence(ctx, personID, core.EvidenceCheck{Categories: []string{cat}, Refs: []string{p.Records[kind-1].Ref}})
				return err
			})
		}
		err := g.Wait()
		id, now := fmt.Sprintf("wd_%032x", i), time.Now().UTC().Truncate(time.Microsecond)
		// One subject an op: the unique index allows one open application
		// of a kind a person, as the real ones are spread over people.
		subject, key := fmt.Sprintf("sub_%s_%d", personID, i), fmt.Sprintf("bench-%d", i)
		if err == nil {
			err = inTx(ctx, db, func(tx *sql.Tx) error {
				var found int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM floor2_withdrawals WHERE subject = $1 AND idempotency_key = $2`,
					subject, key).Scan(&found); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, subject); err != nil {
					return err
				}
				rows, err := tx.QueryContext(ctx, `SELECT id, kind, amount_fen, status, created_at, updated_at FROM floor2_withdrawals
					WHERE subject = $1 AND (status IN ('accepted', 'submitted', 'approved') OR (status = 'paid' AND updated_at > $2))`,
					subject, now.AddDate(0, -13, 0))
				if err != nil {
					return err
				}
				for rows.Next() {
				}
				rows.Close()
				if _, err := tx.ExecContext(ctx, `INSERT INTO floor2_withdrawals (id, case_number, subject, kind, core_kind, amount_fen,
					payout_method, payout_account, evidence_refs, closes_account, status, idempotency_key, request_hash,
					locale, channel, created_at, updated_at, due_on)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
					id, fmt.Sprintf("TQ20260101-%08d", i), subject, "rent", "07", 10000, "bank_card",
					"6222020000000000000", "[]", false, "accepted", key, strings.Repeat("0", 64),
					"zh-CN", "miniapp", now, now, "2026-01-06"); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO floor2_events (application_id, status, reason, at) VALUES ($1, 'accepted', '', $2)
					ON CONFLICT (application_id, status) DO NOTHING`, id, now); err != nil {
					return err
				}
				for _, m := range [][2]string{{string(withdrawal.TopicSubmit), id}, {"notify.wechat", id + ":accepted"}} {
					if _, err := tx.ExecContext(ctx, `INSERT INTO floor2_outbox (id, topic, payload, attempts, next_attempt_at, last_error, created_at)
						VALUES ($1, $2, $3, 0, $4, '', $5) ON CONFLICT (id) DO NOTHING`, m[0]+":"+m[1], m[0], []byte(m[1]), now, now); err != nil {
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
	}
	hammer("warm-up", c, benchWarmUp, op)
	seq.Store(0) // the measured ops start where the applications do
	if _, err := db.ExecContext(ctx, `TRUNCATE floor2_withdrawals, floor2_events, floor2_outbox, floor2_messages`); err != nil {
		return result{}, err
	}
	r := hammer(fmt.Sprintf("floor with the reads it needs: core account, ledger, payout accounts (and evidence), then tx of key lookup, lock, own read, 4 inserts (%d clients)", c), c, d, op)
	if r.requests == 0 {
		return r, fmt.Errorf("floor with reads: nothing committed: %v", firstErr.Load())
	}
	return r, nil
}
