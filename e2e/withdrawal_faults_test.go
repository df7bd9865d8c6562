//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gopkg.in/yaml.v3"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/coresim"
	"handheld/services/identity"
	"handheld/services/notify"
	"handheld/services/ratelimit"
	"handheld/services/redistest"
	"handheld/services/store/storetest"
	"handheld/services/wechat/wechattest"
	"handheld/services/withdrawal"
)

// TestWithdrawalsSurviveFaults is the fault test of docs/architecture.md
// "Writes that must not be lost". Two BFF processes share PostgreSQL, Redis and
// their keys, as replicas behind a load balancer do; the core simulator
// runs as a third process. N applications from N/3 people (one of each
// kind: rent, purchase, critical illness) are sent by concurrent clients,
// about a third of them two or three times at once with the same
// Idempotency-Key and body, to both replicas. A quarter of the way in, the
// simulator is killed and comes back 2 s later on the same port and file;
// half way in, replica A is killed with SIGKILL while it has notifications
// on their way to WeChat, and restarted a second later. Clients retry what
// a real client retries (no connection, 5xx, 429, 409
// idempotency.in_flight) on the other replica with the same key and body.
//
// Once every application is decided and the outbox is empty, it checks:
// every copy of a request got the same final answer (a problem's
// request_id aside) and at most one of them created the application; every
// 202 is one row here, finished as the core decided, and exactly one
// application at the core, which holds nothing else; no refused request
// left a row; each application went accepted, submitted, then approved and
// paid, or rejected; and its person heard of each announced status exactly
// once, on their own openid, but for the messages replica A was sending at
// the instant it died: notifications go at most once, so those may be lost
// and must never come twice.
//
// WeChat takes 50 ms to accept a message, as the real one takes tens of
// milliseconds; the replicas' core-read breakers stay open 1 s instead of
// 10 s, so that the core's 2 s outage lasts about 2 s for them too.
//
// HANDHELD_FAULT_WITHDRAWALS sets N (default 300, the CI size: 15 to 30 s
// with -race on two cores, up to 5 s of it waiting for the outbox lease of
// the deliveries to the core that the killed replica had claimed). Outside
// CI, run it at 10,000 (about 4 min); HANDHELD_TEST_PROC_LOGS=<dir> keeps
// the processes' logs there:
//
//	HANDHELD_FAULT_WITHDRAWALS=10000 go test -count=1 -timeout 30m -run TestWithdrawalsSurviveFaults -v ./e2e/
func TestWithdrawalsSurviveFaults(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds handheld and kills processes: not with -short")
	}
	n := 300
	if v := os.Getenv("HANDHELD_FAULT_WITHDRAWALS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 12 || n > 1_000_000 {
			t.Fatalf("HANDHELD_FAULT_WITHDRAWALS=%q: want a number of applications from 12 to 1000000", v)
		}
	}
	t0 := time.Now()
	people := (n + 2) / 3
	r := startFaultRig(t, people+people/10+20)
	c := newFaultClient(r.bases)
	persons := r.bindPeople(c, people)
	apps := faultApplications(n)
	bound := time.Now()

	r.submitWithFaults(c, apps, persons, 24)
	submitted := time.Now()
	logSubmissions(t, c, apps)

	ctx := context.Background()
	db, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	// At 10,000 the replicas' outbox is busy polling the core for thousands of
	// undecided applications every 200 ms; notifications queue behind.
	if err := r.drain(ctx, db, 90*time.Second+time.Duration(n)*30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	drained := time.Now()
	sent := r.settledNotifications()
	t.Logf("core down %s, replica A down %s; %d notifications sent", r.simDown.Round(time.Millisecond),
		r.bffDown.Round(time.Millisecond), len(sent))

	checkAnswers(t, apps)
	stored := checkStore(t, ctx, db, apps)
	r.checkCore(ctx, apps, stored)
	checkNotifications(t, ctx, db, apps, persons, stored, sent, r.sendingAtKill)
	t.Logf("timings: start and bind %s, submit %s, drain %s, checks %s, total %s", bound.Sub(t0).Round(time.Millisecond),
		submitted.Sub(bound).Round(time.Millisecond), drained.Sub(submitted).Round(time.Millisecond),
		time.Since(drained).Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
}

// logSubmissions reports what the clients sent and got.
func logSubmissions(t *testing.T, c *faultClient, apps []*faultApp) {
	repeated, dups, finals := 0, 0, map[string]int{}
	for _, a := range apps {
		if a.copies > 1 {
			repeated, dups = repeated+1, dups+a.copies-1
		}
		for k, ans := range a.answers {
			if a.errs[k] == nil {
				finals[strings.TrimSpace(fmt.Sprint(ans.Status, " ", ans.problemCode()))]++
			}
		}
	}
	t.Logf("%d applications from %d people, %d of them sent two or three times (%d duplicate requests); final answers %v; "+
		"%d requests, %d retried (%d without connection, %d 5xx, %d 429, %d 409 in flight)", len(apps), (len(apps)+2)/3,
		repeated, dups, finals, c.requests.Load(), c.retries(), c.connErrors.Load(), c.serverErrors.Load(),
		c.throttled.Load(), c.contended.Load())
}

const (
	// outboxWorkers is how many deliveries a replica runs at once.
	outboxWorkers = 16
	// wechatLatency is how long the fake WeChat takes to accept a message.
	wechatLatency = 50 * time.Millisecond
)

// faultRig is the simulator and two BFF replicas as processes, with the
// fake WeChat they share.
type faultRig struct {
	t      *testing.T
	wx     *wechattest.Server
	dsn    string
	sim    *proc
	simURL string
	simDB  string
	bffs   [2]*proc
	bases  [2]string
	// How long each fault lasted, from the kill to ready again.
	simDown, bffDown time.Duration
	// When replica A was killed, and the notifications being sent at that
	// moment (outbox ids closed but not received by WeChat once A was
	// gone): at most once means these may be lost, never sent twice.
	killedAt      time.Time
	sendingAtKill map[string]bool
}

func startFaultRig(t *testing.T, people int) *faultRig {
	t.Helper()
	bin := buildHandheld(t)
	dir := t.TempDir()
	redistest.Client(t) // fails without Redis; deletes this test's keys at the end
	r := &faultRig{t: t, wx: wechattest.NewServer(t), dsn: storetest.PostgresDSN(t), simDB: filepath.Join(dir, "coresim.db")}

	simAddr := freeAddr(t)
	r.simURL = "http://" + simAddr
	args := []string{"coresim", "-addr", simAddr, "-db", r.simDB, "-seed", "1", "-review-delay", "1s", "-payout-delay", "1s"}
	r.sim = newProc(t, "coresim", bin, []string{"HANDHELD_CORE_SECRET=" + coreSecret, "HANDHELD_CORE_KEY_ID=handheld"},
		append(slices.Clone(args), "-generate", strconv.Itoa(people))...)
	if err := r.startSim(); err != nil {
		t.Fatal(err)
	}
	r.sim.args = args // a restart reopens the file, people and all

	// WeChat answers in tens of milliseconds, not at once: a replica
	// always has messages on their way.
	r.wx.SetDelay(wechattest.Send, wechatLatency)
	config := filepath.Join(dir, "handheld.yaml")
	if err := os.WriteFile(config, faultConfig(t), 0o600); err != nil {
		t.Fatal(err)
	}
	shared := []string{
		"HANDHELD_PROFILE=embedded",
		"HANDHELD_KEYS_DIR=" + filepath.Join(dir, "keys"),
		"HANDHELD_HASH_SECRET=fault-test-hash-secret-0123456789abcdef",
		"HANDHELD_DATABASE_URL=" + r.dsn,
		"HANDHELD_REDIS_URL=" + redistest.URL(),
		"HANDHELD_REDIS_PREFIX=" + redistest.Prefix(t),
		"HANDHELD_CORE_URL=" + r.simURL,
		"HANDHELD_CORE_KEY_ID=handheld",
		"HANDHELD_CORE_SECRET=" + coreSecret,
		"HANDHELD_WECHAT_SANDBOX=false",
		"HANDHELD_WECHAT_API_BASE=" + r.wx.URL,
		"HANDHELD_WECHAT_APP_ID=" + r.wx.AppID,
		"HANDHELD_WECHAT_APP_SECRET=" + r.wx.AppSecret,
		"HANDHELD_WITHDRAWAL_POLL_INTERVAL=200ms",
		"HANDHELD_OUTBOX_WORKERS=" + strconv.Itoa(outboxWorkers),
		// The killed replica's claims come back after 5 s, not 30.
		"HANDHELD_OUTBOX_LEASE=5s",
		"HANDHELD_REPLICAS=2",
		"HANDHELD_CONFIG_FILE=" + config,
		// Limits are not under test: a 20 ms Redis deadline (the default)
		// on two loaded cores turns sign-ins into 500s and limits into
		// per-replica estimates, which is noise here.
		"HANDHELD_REDIS_TIMEOUT=200ms",
		"HANDHELD_LOG_LEVEL=warn",
		// Two replicas on one machine: neither runs the demo kiosk's agent
		// on its fixed address.
		"HANDHELD_DEMO_KIOSK_LISTEN=off",
	}
	// One after the other: the first creates the keys and migrates.
	for i, name := range []string{"bff-a", "bff-b"} {
		addr := freeAddr(t)
		r.bases[i] = "http://" + addr
		env := append(slices.Clone(shared), "HANDHELD_ADDR="+addr, "HANDHELD_DATA_DIR="+filepath.Join(dir, name))
		r.bffs[i] = newProc(t, name, bin, env, "serve")
		if err := r.startBFF(i); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (r *faultRig) startSim() error {
	if err := r.sim.start(); err != nil {
		return err
	}
	return r.sim.waitOutput("core simulator on http://", time.Minute)
}

func (r *faultRig) startBFF(i int) error {
	if err := r.bffs[i].start(); err != nil {
		return err
	}
	return r.bffs[i].waitReady(r.bases[i]+"/readyz", time.Minute)
}

// faultConfig is the replicas' config file: the shipped rate-limit
// policies made roomy enough never to refuse the test's load (limits are
// not under test), and core-read breakers that stay open 1 s rather than
// 10 s, so that the simulator's 2 s outage lasts about 2 s for the
// replicas too.
func faultConfig(t *testing.T) []byte {
	var policies []ratelimit.Policy
	for _, p := range ratelimit.DefaultPolicies() {
		p.Rate, p.Burst, p.Period = 100_000, 100_000, time.Second
		if p.Key == ratelimit.KeyChannel { // ceilings stay above the per-address limits
			p.Rate, p.Burst = 200_000, 200_000
		}
		policies = append(policies, p)
	}
	reads := core.DefaultReaderConfig()
	for _, p := range []*core.ReadPolicy{&reads.Person, &reads.Account, &reads.Deposits, &reads.Loan, &reads.Certificate, &reads.Employer} {
		p.BreakerOpenFor = time.Second
	}
	// People bind with a face check and then apply for minutes on end at
	// the larger sizes: the step-up window is not under test either.
	assurance := identity.DefaultAssurance()
	assurance.Services[identity.ServiceWithdrawal] = identity.Requirement{ACR: services.ACRFace, MaxAge: 24 * time.Hour}
	// A client here retries through the core's outage until it has a final
	// answer, and every 202 must be an application at once: applications
	// accepted to be checked while the core is away (TestNightWindow) are
	// not this test's subject.
	withdrawals := withdrawal.DefaultPolicies()
	withdrawals.AcceptWhenCoreDown = false
	b, err := yaml.Marshal(struct {
		RateLimits  []ratelimit.Policy  `yaml:"rate_limits"`
		CoreReads   *core.ReaderConfig  `yaml:"core_reads"`
		Assurance   identity.Assurance  `yaml:"assurance"`
		Withdrawals withdrawal.Policies `yaml:"withdrawals"`
	}{policies, &reads, assurance, withdrawals})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// faultPerson is a generated depositor signed in through WeChat.
type faultPerson struct {
	openid, token string
}

// bindPeople signs in and binds generated depositors 0..k-1, each with
// an openid of their own, alternately on A and B.
func (r *faultRig) bindPeople(c *faultClient, k int) []faultPerson {
	r.t.Helper()
	out := make([]faultPerson, k)
	errs := make([]error, k)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < k; i = int(next.Add(1) - 1) {
				p := coresim.GeneratedPersona(i, 1)
				out[i].openid = fmt.Sprintf("o-fault-%06d", i)
				out[i].token, errs[i] = c.bind(i%2, r.wx, out[i].openid, p)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			r.t.Fatalf("bind generated person %d: %v", i, err)
		}
	}
	return out
}

// faultApp is one application and what each copy of its request got.
type faultApp struct {
	index, person, copies int
	key                   string
	id                    string // the application a 202 named
	body                  []byte
	answers               []answer // the final answer of each copy
	errs                  []error  // a copy that never got one
}

// faultApplications makes n applications: person i/3 applies for rent,
// purchase and critical illness; about a third are sent 2 or 3 times.
func faultApplications(n int) []*faultApp {
	kinds := []string{"rent", "purchase", "critical_illness"}
	dup := rand.New(rand.NewPCG(1, 2))
	apps := make([]*faultApp, n)
	for i := range apps {
		p := coresim.GeneratedPersona(i/3, 1) // the person's own card and records
		body := map[string]any{"type": kinds[i%3], "amount_fen": 10_000, "payout": map[string]any{"account_id": p.PayoutAccounts[0].ID}}
		if i%3 != 0 {
			body["evidence_refs"] = []string{p.Records[i%3-1].Ref}
		}
		raw, _ := json.Marshal(body)
		copies := 1
		if dup.IntN(3) == 0 {
			copies = 2 + dup.IntN(2)
		}
		apps[i] = &faultApp{index: i, person: i / 3, copies: copies, key: fmt.Sprintf("fault-%06d", i), body: raw}
	}
	return apps
}

// submitWithFaults sends every application from workers concurrent
// clients while the faults happen: when a quarter has been handed out the
// simulator is killed (back 2 s later), at half replica A (back 1 s later,
// once the simulator is back). Handing out waits for each kill, so that
// it always lands mid-run, whatever the machine's speed.
func (r *faultRig) submitWithFaults(c *faultClient, apps []*faultApp, persons []faultPerson, workers int) {
	r.t.Helper()
	var (
		faults   sync.WaitGroup
		mu       sync.Mutex
		faultErr []error
	)
	fault := func(f func() error) {
		faults.Go(func() {
			if err := f(); err != nil {
				mu.Lock()
				faultErr = append(faultErr, err)
				mu.Unlock()
			}
		})
	}
	work := make(chan *faultApp)
	var clients sync.WaitGroup
	var answered atomic.Int64
	for range workers {
		clients.Go(func() {
			for a := range work {
				c.applyAll(a, persons[a.person].token)
				answered.Add(1)
			}
		})
	}
	t0 := time.Now()
	note := func(format string, args ...any) {
		r.t.Logf("submit +%s (%d of %d answered, at %s): %s", time.Since(t0).Round(time.Millisecond), answered.Load(), len(apps),
			time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
	n := len(apps)
	for i, a := range apps {
		switch i {
		case n / 4:
			note("killing the core simulator")
			r.sim.kill()
			down := time.Now()
			fault(func() error {
				time.Sleep(2 * time.Second) // the outage
				err := r.startSim()
				r.simDown = time.Since(down)
				note("the core simulator is back")
				return err
			})
		case n / 2:
			faults.Wait() // one fault at a time
			r.killWhileSending(note)
			down := time.Now()
			fault(func() error {
				time.Sleep(time.Second)
				err := r.startBFF(0)
				r.bffDown = time.Since(down)
				note("replica A is back")
				return err
			})
		}
		work <- a
	}
	close(work)
	clients.Wait()
	faults.Wait()
	for _, err := range faultErr {
		r.t.Fatalf("fault: %v", err)
	}
	if c.connErrors.Load() == 0 {
		r.t.Errorf("no request met the killed replica: the fault did not happen mid-run")
	}
}

// killWhileSending kills replica A while it sends notifications: WeChat
// slows to 1 s a message, and A dies once more messages are on their way
// than one replica sends at once (outboxWorkers), some of them A's.
func (r *faultRig) killWhileSending(note func(string, ...any)) {
	r.wx.SetDelay(wechattest.Send, time.Second)
	defer r.wx.SetDelay(wechattest.Send, wechatLatency)
	from := r.wx.Calls(wechattest.Send)
	onTheirWay := func() int { return r.wx.Calls(wechattest.Send) - from }
	for deadline := time.Now().Add(900 * time.Millisecond); onTheirWay() <= outboxWorkers && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	note("killing replica A with %d messages on their way to WeChat", onTheirWay())
	r.killedAt = time.Now()
	r.bffs[0].kill()
	r.sendingAtKill = r.closedNotReceived()
	note("%d notifications were closed and not received when A died", len(r.sendingAtKill))
}

// closedNotReceived lists the notifications the outbox has closed (marked
// delivered just before sending) that WeChat has not received.
func (r *faultRig) closedNotReceived() map[string]bool {
	ctx := context.Background()
	db, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		r.t.Fatalf("snapshot at the kill: %v", err)
	}
	defer db.Close(ctx)
	received := map[string]bool{}
	labels := statusLabels(r.t)
	for _, s := range r.wx.Sent() {
		if u, err := url.Parse(s.Page); err == nil {
			for _, v := range s.Data {
				if st, ok := labels[v]; ok {
					received[string(notify.Topic)+":"+u.Query().Get("id")+":"+st] = true
				}
			}
		}
	}
	rows, err := db.Query(ctx, `SELECT id FROM outbox WHERE topic = $1 AND delivered_at IS NOT NULL`, string(notify.Topic))
	if err != nil {
		r.t.Fatalf("snapshot at the kill: %v", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			r.t.Fatalf("snapshot at the kill: %v", err)
		}
		if !received[id] {
			out[id] = true
		}
	}
	return out
}
