package withdrawal_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/services/core"
	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/withdrawal"
)

// BenchmarkApplyProtections weighs what the per-person lock and the sealing
// of personal data cost an accepted application on PostgreSQL (the budget:
// at most 10 %). Four services share one simulator, one core client, one
// store pool and one schema, and differ only in those protections:
//
//	off   no lock, values stored as they are (a sealer that copies)
//	lock  the advisory lock, no sealing
//	seal  sealing, no lock
//	on    both, as in production
//
// Each iteration applies once with each of them, in an order that rotates,
// and clears the tables after each application (off the clock), so all four
// see the same machine, the same tables and the same simulator. Reported:
//
//	ns/op           the four applications together
//	x-ns            the median application of variant x
//	x/off           the median, over the iterations, of x's application
//	                over off's in the same iteration: the figure's ratio
//	lock-share      time spent getting the lock, measured inside the on
//	seal-share      applications, and time spent sealing, over their total
//	core-share      the part of an off application spent waiting on the
//	                simulator over HTTP (eligibility reads and payout
//	                accounts, in parallel; counted once when they overlap)
//
// The ratios carry the noise of two whole applications; on a busy machine
// the shares, measured directly, are the sharper figure, and on/off should
// come out near 1/(1 - lock-share - seal-share).
//
//	go test -run '^$' -bench ApplyProtections -benchtime 2s -count 3 ./services/withdrawal/
func BenchmarkApplyProtections(b *testing.B) {
	s := storetest.Migrated(b, storetest.PostgresDSN(b))
	r := newRig(b, s)
	c, err := core.NewClient(core.ClientConfig{BaseURL: r.coreURL, KeyID: "handheld", Secret: []byte(secret), Now: r.clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	plain := s.WithSealer(copySealer{})
	// In the "on" variant the time spent in the lock and in the sealer is
	// also measured directly, inside each application.
	var inLock, inSeal time.Duration
	sealed := s.WithSealer(timedSealer{storetest.Ring(), func(d time.Duration) { inSeal += d }})
	variants := []struct {
		name   string
		store  *store.Store
		locked bool
	}{
		{"off", plain, false},
		{"lock", plain, true},
		{"seal", s, false},
		{"on", sealed, true},
	}
	type variant struct {
		name   string
		svc    *withdrawal.Service
		waited *coreTime
		took   []time.Duration // one per iteration
	}
	vs := make([]*variant, len(variants))
	for i, v := range variants {
		waited := &coreTime{}
		svc, err := withdrawal.New(withdrawal.Deps{Store: v.store, Reader: timedReader{reader{c}, waited},
			Core: timedCore{c, waited}, People: r.people, Audit: &audits{}, Policies: withdrawal.DefaultPolicies(), Now: r.clock.Now})
		if err != nil {
			b.Fatal(err)
		}
		switch {
		case !v.locked:
			withdrawal.Unlocked(svc)
		case v.name == "on":
			withdrawal.TimeLock(svc, func(d time.Duration) { inLock += d })
		}
		vs[i] = &variant{name: v.name, svc: svc, waited: waited}
	}

	ctx := context.Background()
	lina := depositor("李娜")
	n := 0
	apply := func(v *variant) time.Duration {
		n++
		req := rentRequest(fmt.Sprintf("bench-%d", n), 100_000)
		start := time.Now()
		app, _, err := v.svc.Apply(ctx, lina, req)
		d := time.Since(start)
		if err != nil || app.Status != withdrawal.StatusAccepted {
			b.Fatalf("%s: apply: %+v, %v", v.name, app, err)
		}
		return d
	}
	// clear leaves the tables as they were before the application, so
	// that the next one is not in flight beside it.
	clear := func() {
		for _, table := range []string{"withdrawal_events", "outbox", "withdrawals"} {
			if _, err := s.Exec(ctx, `DELETE FROM `+table); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Warm up each variant once: connections, the simulator's caches.
	for _, v := range vs {
		apply(v)
		clear()
		v.waited.reset()
	}
	inLock, inSeal = 0, 0

	b.ResetTimer()
	b.StopTimer()
	for i := range b.N {
		for k := range vs {
			v := vs[(i+k)%len(vs)]
			b.StartTimer()
			v.took = append(v.took, apply(v))
			b.StopTimer()
			clear()
		}
	}
	byName := map[string][]time.Duration{}
	for _, v := range vs {
		byName[v.name] = v.took
		b.ReportMetric(float64(median(v.took)), v.name+"-ns")
	}
	for _, x := range []string{"on", "lock", "seal"} {
		b.ReportMetric(pairedRatio(byName[x], byName["off"]), x+"/off")
	}
	b.ReportMetric(float64(vs[0].waited.total())/float64(sum(vs[0].took)), "core-share")
	on := float64(sum(byName["on"]))
	b.ReportMetric(float64(inLock)/on, "lock-share")
	b.ReportMetric(float64(inSeal)/on, "seal-share")
}

// median is the middle of ds: one application slowed by a neighbour on a
// shared machine (a pause, a checkpoint) moves it little.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// pairedRatio is the median of x[i]/base[i]: each pair was measured in the
// same iteration, back to back, so a load that comes and goes on the
// machine weighs on both sides of each ratio.
func pairedRatio(x, base []time.Duration) float64 {
	r := make([]float64, len(x))
	for i := range x {
		r[i] = float64(x[i]) / float64(base[i])
	}
	slices.Sort(r)
	return r[len(r)/2]
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

// copySealer stores values as they are: the benchmark's "no sealing". It
// copies, as the real sealer must, so that only the cryptography is left
// out.
type copySealer struct{}

func (copySealer) Seal(plain []byte, _ store.Place) ([]byte, error) {
	return append([]byte(nil), plain...), nil
}
func (copySealer) Open(sealed []byte, _ store.Place) ([]byte, error) {
	return append([]byte(nil), sealed...), nil
}
func (copySealer) SealText(plain string, _ store.Place) (string, error) {
	return strings.Clone(plain), nil
}
func (copySealer) OpenText(sealed string, _ store.Place) (string, error) {
	return strings.Clone(sealed), nil
}
func (copySealer) KeyID([]byte) (string, bool) { return "", false }
func (copySealer) Prefix(string) string        { return "plain." }
func (copySealer) Current() string             { return "plain" }

// timedSealer reports how long each sealing and opening takes.
type timedSealer struct {
	store.Sealer
	took func(time.Duration)
}

func (t timedSealer) Seal(plain []byte, at store.Place) ([]byte, error) {
	defer t.since(time.Now())
	return t.Sealer.Seal(plain, at)
}
func (t timedSealer) Open(sealed []byte, at store.Place) ([]byte, error) {
	defer t.since(time.Now())
	return t.Sealer.Open(sealed, at)
}
func (t timedSealer) SealText(plain string, at store.Place) (string, error) {
	defer t.since(time.Now())
	return t.Sealer.SealText(plain, at)
}
func (t timedSealer) OpenText(sealed string, at store.Place) (string, error) {
	defer t.since(time.Now())
	return t.Sealer.OpenText(sealed, at)
}
func (t timedSealer) since(start time.Time) { t.took(time.Since(start)) }

// coreTime adds up the wall time during which at least one call to the
// core is in flight: calls made in parallel count once.
type coreTime struct {
	mu       sync.Mutex
	inFlight int
	since    time.Time
	sum      time.Duration
}

func (c *coreTime) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inFlight == 0 {
		c.since = time.Now()
	}
	c.inFlight++
}

func (c *coreTime) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight--
	if c.inFlight == 0 {
		c.sum += time.Since(c.since)
	}
}

func (c *coreTime) total() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sum
}

func (c *coreTime) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sum = 0
}

// timed runs call with the core's clock running.
func timed[T any](c *coreTime, call func() (T, error)) (T, error) {
	c.start()
	defer c.stop()
	return call()
}

// timedReader and timedCore time every call the service makes to the core.
type timedReader struct {
	r reader
	t *coreTime
}

func (r timedReader) Person(ctx context.Context, id string) (p core.Person, f core.Freshness, err error) {
	r.t.start()
	defer r.t.stop()
	return r.r.Person(ctx, id)
}
func (r timedReader) Account(ctx context.Context, id string) (a core.Account, f core.Freshness, err error) {
	r.t.start()
	defer r.t.stop()
	return r.r.Account(ctx, id)
}
func (r timedReader) Deposits(ctx context.Context, id string, q core.DepositQuery) (d core.DepositPage, f core.Freshness, err error) {
	r.t.start()
	defer r.t.stop()
	return r.r.Deposits(ctx, id, q)
}
func (r timedReader) Loan(ctx context.Context, id string) (l core.Loan, f core.Freshness, err error) {
	r.t.start()
	defer r.t.stop()
	return r.r.Loan(ctx, id)
}

type timedCore struct {
	c *core.Client
	t *coreTime
}

func (c timedCore) PayoutAccounts(ctx context.Context, personID string) (core.PayoutAccountList, error) {
	return timed(c.t, func() (core.PayoutAccountList, error) { return c.c.PayoutAccounts(ctx, personID) })
}
func (c timedCore) CheckEvidence(ctx context.Context, personID string, check core.EvidenceCheck) (core.EvidenceResult, error) {
	return timed(c.t, func() (core.EvidenceResult, error) { return c.c.CheckEvidence(ctx, personID, check) })
}
func (c timedCore) PutWithdrawalMaterial(ctx context.Context, applicationID, materialID, mediaType string, data []byte) error {
	_, err := timed(c.t, func() (struct{}, error) {
		return struct{}{}, c.c.PutWithdrawalMaterial(ctx, applicationID, materialID, mediaType, data)
	})
	return err
}
func (c timedCore) SubmitWithdrawal(ctx context.Context, w core.Withdrawal) (core.WithdrawalStatus, error) {
	return timed(c.t, func() (core.WithdrawalStatus, error) { return c.c.SubmitWithdrawal(ctx, w) })
}
func (c timedCore) Withdrawal(ctx context.Context, applicationID string) (core.WithdrawalStatus, error) {
	return timed(c.t, func() (core.WithdrawalStatus, error) { return c.c.Withdrawal(ctx, applicationID) })
}
func (c timedCore) CancelWithdrawal(ctx context.Context, applicationID string) (core.WithdrawalStatus, error) {
	return timed(c.t, func() (core.WithdrawalStatus, error) { return c.c.CancelWithdrawal(ctx, applicationID) })
}
