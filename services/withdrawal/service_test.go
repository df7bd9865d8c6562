package withdrawal_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/coresim"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/withdrawal"
)

// The production collaborators satisfy what the service asks for.
var (
	_ interface {
		SubmitWithdrawal(context.Context, core.Withdrawal) (core.WithdrawalStatus, error)
	} = (*core.Client)(nil)
	_ interface {
		Enqueue(context.Context, audit.Record) error
	} = (*audit.Log)(nil)
)

const secret = "withdrawal-test-core-secret-0123456789"

// clock is a settable clock shared by the simulator and the service.
type clock struct{ micros atomic.Int64 }

func (c *clock) Now() time.Time          { return time.UnixMicro(c.micros.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.micros.Add(d.Microseconds()) }

// reader reads the core through the real client, always fresh.
type reader struct{ c *core.Client }

func (r reader) Person(ctx context.Context, id string) (core.Person, core.Freshness, error) {
	p, err := r.c.Person(ctx, id)
	return p, core.Freshness{}, err
}
func (r reader) Account(ctx context.Context, id string) (core.Account, core.Freshness, error) {
	a, err := r.c.Account(ctx, id)
	return a, core.Freshness{}, err
}
func (r reader) Deposits(ctx context.Context, id string, q core.DepositQuery) (core.DepositPage, core.Freshness, error) {
	d, err := r.c.Deposits(ctx, id, q)
	return d, core.Freshness{}, err
}
func (r reader) Loan(ctx context.Context, id string) (core.Loan, core.Freshness, error) {
	l, err := r.c.Loan(ctx, id)
	return l, core.Freshness{}, err
}

// people maps subjects "s_<persona name>" to the core's person ids.
type people map[string]string

func (p people) PersonID(_ context.Context, subject string) (string, error) {
	if id, ok := p[subject]; ok {
		return id, nil
	}
	return "", services.E(services.CodeSessionRevoked)
}

func (p people) PersonIDs(_ context.Context, subjects []string) (map[string]string, error) {
	found := map[string]string{}
	for _, s := range subjects {
		if id, ok := p[s]; ok {
			found[s] = id
		}
	}
	return found, nil
}

type audits struct {
	mu   sync.Mutex
	recs []audit.Record
}

func (a *audits) Enqueue(_ context.Context, r audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.At.IsZero() {
		r.At = time.Now()
	}
	a.recs = append(a.recs, r)
	return audit.Check(r)
}

type rig struct {
	*withdrawal.Service
	store   *store.Store
	sim     *coresim.Sim
	clock   *clock
	coreURL string
	people  people
}

func newRig(t testing.TB, s *store.Store) *rig {
	t.Helper()
	ctx := context.Background()
	clk := &clock{}
	clk.micros.Store(time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC).UnixMicro())
	sim, err := coresim.Open(ctx, coresim.Config{Path: filepath.Join(t.TempDir(), "core.db"),
		Keys: map[string][]byte{"handheld": []byte(secret)}, BcryptCost: bcrypt.MinCost, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); _ = sim.Close() })
	c, err := core.NewClient(core.ClientConfig{BaseURL: srv.URL, KeyID: "handheld", Secret: []byte(secret), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ps := people{}
	for _, p := range sim.Personas() {
		if p.Role != "depositor" {
			continue
		}
		person, err := c.VerifyRealName(ctx, p.Name, p.IDNumber)
		if err != nil {
			t.Fatal(err)
		}
		ps["s_"+p.Name] = person.PersonID
	}
	pol := withdrawal.DefaultPolicies()
	w, err := withdrawal.New(withdrawal.Deps{Store: s, Reader: reader{c}, Core: c, People: ps, Audit: &audits{},
		Policies: pol, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{Service: w, store: s, sim: sim, clock: clk, coreURL: srv.URL, people: ps}
}

func depositor(name string) services.Principal {
	return services.Principal{Subject: "s_" + name, Role: services.RoleDepositor, Channel: services.ChannelMiniApp}
}

func rentRequest(key string, amount int64) withdrawal.Request {
	return withdrawal.Request{Kind: withdrawal.KindRent, AmountFen: amount, PayoutAccountID: payoutAccounts("李娜")[0].ID,
		IdempotencyKey: key, RequestHash: "hash-" + key + "-" + time.Duration(amount).String(), Locale: "zh-CN"}
}

// personas are the simulator's seed, the same for every simulator.
var personas = sync.OnceValue(func() []coresim.Persona { return (*coresim.Sim)(nil).Personas() })

// payoutAccounts are a persona's cards and wallets, as the core holds them.
func payoutAccounts(name string) []core.PayoutAccount {
	for _, p := range personas() {
		if p.Name == name {
			return p.PayoutAccounts
		}
	}
	return nil
}

// record is a persona's first record of category.
func record(name, category string) string {
	for _, p := range personas() {
		if p.Name == name {
			return p.Record(category)
		}
	}
	return ""
}

// deliverAll runs every due outbox message through the service's handlers
// the way the worker does, until none is due.
func (r *rig) deliverAll(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	w, err := outbox.New(outbox.Config{Store: r.store, Now: r.clock.Now, Enqueued: withdrawal.Topics(), Topics: []outbox.Topic{
		{Name: withdrawal.TopicSubmit, HandleBatch: r.SubmitBatch},
		{Name: withdrawal.TopicPoll, Handle: r.Poll},
		{Name: withdrawal.TopicCheck, Handle: r.Check},
		{Name: notify.Topic, AtMostOnce: true, Handle: func(context.Context, outbox.Message) error { return nil }},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		n, err := w.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func TestApplyDeliverPollOnBothStores(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		lina := depositor("李娜")

		app, replayed, err := r.Apply(ctx, lina, rentRequest("k1", 200_000))
		if err != nil || replayed || app.Status != withdrawal.StatusAccepted {
			t.Fatalf("apply: %+v %v %v", app, replayed, err)
		}
		again, replayed, err := r.Apply(ctx, lina, rentRequest("k1", 200_000))
		if err != nil || !replayed || again.ID != app.ID || again.CaseNumber != app.CaseNumber {
			t.Fatalf("replay: %+v %v %v", again, replayed, err)
		}
		if _, _, err := r.Apply(ctx, lina, rentRequest("k1", 200_001)); services.ErrorCode(err) != services.CodeIdempotencyKeyReused {
			t.Fatalf("reused key: %v", err)
		}
		if _, _, err := r.Apply(ctx, lina, rentRequest("k2", 100_000)); services.ErrorCode(err) != services.CodeWithdrawalInFlight {
			t.Fatalf("second rent: %v", err)
		}

		r.deliverAll(t)
		if n := r.sim.WithdrawalCount(app.ID); n != 1 {
			t.Fatalf("core has %d", n)
		}
		r.clock.Advance(31 * time.Second) // the core decides
		r.deliverAll(t)
		r.clock.Advance(2*time.Minute + time.Second) // and pays
		r.deliverAll(t)
		got, err := r.Get(ctx, lina, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		var steps []string
		for _, e := range got.Events {
			steps = append(steps, e.Status)
		}
		if got.Status != withdrawal.StatusPaid || !slices.Equal(steps, []string{"accepted", "submitted", "approved", "paid"}) {
			t.Fatalf("after payout: %s %v", got.Status, steps)
		}
		// One notification queued per announced status, none for submitted.
		notes := notifications(t, s, app.ID)
		if !slices.Equal(notes, []string{"accepted", "approved", "paid"}) {
			t.Errorf("notifications %v", notes)
		}
		if n := r.sim.WithdrawalCount(app.ID); n != 1 {
			t.Errorf("core has %d after the polls", n)
		}
		if _, err := r.Cancel(ctx, lina, app.ID); services.ErrorCode(err) != services.CodeWithdrawalNotCancellable {
			t.Errorf("cancel after payout: %v", err)
		}
		if _, err := r.Get(ctx, depositor("张伟"), app.ID); services.ErrorCode(err) != services.CodeNotFound {
			t.Errorf("another person's application: %v", err)
		}
	})
}

func TestCancelBeforeAndAfterDelivery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		lina := depositor("李娜")

		// Not delivered yet: cancelled here, never sent.
		app, _, err := r.Apply(ctx, lina, rentRequest("c1", 100_000))
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Cancel(ctx, lina, app.ID)
		if err != nil || got.Status != withdrawal.StatusCancelled {
			t.Fatalf("cancel: %+v %v", got, err)
		}
		r.deliverAll(t)
		if n := r.sim.WithdrawalCount(app.ID); n != 0 {
			t.Errorf("a cancelled application reached the core")
		}

		// Delivered, undecided: cancelled at the core.
		app, _, err = r.Apply(ctx, lina, rentRequest("c2", 100_000))
		if err != nil {
			t.Fatal(err)
		}
		r.deliverAll(t)
		if got, err = r.Cancel(ctx, lina, app.ID); err != nil || got.Status != withdrawal.StatusCancelled {
			t.Fatalf("cancel at the core: %+v %v", got, err)
		}
		r.clock.Advance(3 * time.Minute)
		r.deliverAll(t)
		if got, _ := r.Get(ctx, lina, app.ID); got.Status != withdrawal.StatusCancelled {
			t.Errorf("after the review delay: %s", got.Status)
		}
		if notes := notifications(t, s, app.ID); !slices.Equal(notes, []string{"accepted", "cancelled"}) {
			t.Errorf("notifications %v", notes)
		}
	})
}

func TestConcurrentRetriesMakeOneApplication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		var wg sync.WaitGroup
		ids := make([]string, 8)
		errs := make([]error, 8)
		for i := range ids {
			wg.Go(func() {
				app, _, err := r.Apply(ctx, depositor("李娜"), rentRequest("same", 100_000))
				ids[i], errs[i] = app.ID, err
			})
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("retry %d: %s %v, want %s", i, ids[i], errs[i], ids[0])
			}
		}
		var n int
		if err := s.QueryRow(ctx, `SELECT count(*) FROM withdrawals`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d rows (%v)", n, err)
		}
	})
}

// notifications lists the statuses queued for id, oldest first.
func notifications(t *testing.T, s *store.Store, id string) []string {
	t.Helper()
	rows, err := s.Query(context.Background(), `SELECT id, payload FROM outbox WHERE topic = $1 ORDER BY created_at, id`, string(notify.Topic))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var (
			rowID string
			raw   []byte
		)
		if err := rows.Scan(&rowID, &raw); err != nil {
			t.Fatal(err)
		}
		// Payloads are sealed at rest, bound to their row.
		if raw, err = s.Open(raw, store.Place{Table: "outbox", Column: "payload", Row: rowID}); err != nil {
			t.Fatal(err)
		}
		var ev notify.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.ApplicationID == id {
			out = append(out, ev.Status)
		}
	}
	return out
}
