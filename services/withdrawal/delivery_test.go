package withdrawal_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/withdrawal"
)

// accepted has up to n depositors apply for rent and returns who was
// accepted, with their applications' ids.
func (r *rig) accepted(t *testing.T, n int) (people []services.Principal, ids []string) {
	t.Helper()
	for _, p := range personas() {
		if p.Role != "depositor" || len(p.PayoutAccounts) == 0 || len(ids) == n {
			continue
		}
		who := depositor(p.Name)
		req := withdrawal.Request{Kind: withdrawal.KindRent, AmountFen: 10_000, PayoutAccountID: p.PayoutAccounts[0].ID,
			IdempotencyKey: "batch-" + p.Name, RequestHash: "hash-batch-" + p.Name, Locale: "zh-CN"}
		if app, _, err := r.Apply(context.Background(), who, req); err == nil {
			people, ids = append(people, who), append(ids, app.ID)
		}
	}
	if len(ids) < n {
		t.Fatalf("only %d of %d people could apply", len(ids), n)
	}
	return people, ids
}

func submitMessage(id string) outbox.Message {
	return outbox.Message{ID: string(withdrawal.TopicSubmit) + ":" + id, Topic: withdrawal.TopicSubmit, Payload: []byte(id), Attempts: 1}
}

func TestSubmitBatchAnswersEachMessage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		people, ids := r.accepted(t, 3)
		if _, err := r.Cancel(ctx, people[2], ids[2]); err != nil {
			t.Fatal(err)
		}
		msgs := []outbox.Message{submitMessage(ids[0]), submitMessage(ids[1]), submitMessage(ids[2]), submitMessage("wd_00000000000000000000000000")}

		errs := r.SubmitBatch(ctx, msgs)
		if len(errs) != 4 || errs[0] != nil || errs[1] != nil || errs[2] != nil {
			t.Fatalf("errors = %v, want nil for the two sent and the one cancelled before it left", errs)
		}
		if errs[3] == nil || errors.Unwrap(errs[3]) == nil || errs[3].Error() == "" {
			t.Fatalf("unknown application: %v, want a permanent failure", errs[3])
		}
		for i, want := range []int{1, 1, 0} {
			if got := r.sim.WithdrawalCount(ids[i]); got != want {
				t.Errorf("core holds application %d %d times, want %d", i, got, want)
			}
		}
		for i, want := range []string{withdrawal.StatusSubmitted, withdrawal.StatusSubmitted, withdrawal.StatusCancelled} {
			got, err := r.Get(ctx, people[i], ids[i])
			if err != nil || got.Status != want {
				t.Errorf("application %d: %s %v, want %s", i, got.Status, err, want)
			}
		}
		// Each sent application has its first poll queued, once.
		var polls int
		if err := s.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE topic = $1`, string(withdrawal.TopicPoll)).Scan(&polls); err != nil || polls != 2 {
			t.Fatalf("%d polls queued (%v), want 2", polls, err)
		}

		// Delivered again (a lease ran out): the core is not asked twice,
		// nothing is recorded twice.
		if errs := r.SubmitBatch(ctx, msgs[:3]); slices.ContainsFunc(errs, func(e error) bool { return e != nil }) {
			t.Fatalf("second delivery: %v", errs)
		}
		for i := range 2 {
			if got := r.sim.WithdrawalCount(ids[i]); got != 1 {
				t.Errorf("after a second delivery the core holds application %d %d times", i, got)
			}
			got, _ := r.Get(ctx, people[i], ids[i])
			if len(got.Events) != 2 {
				t.Errorf("application %d has %d statuses after a second delivery, want accepted and submitted", i, len(got.Events))
			}
		}
	})
}

// The batch looks up its people in one call; an application whose subject
// is unknown there fails alone, to be retried (as one person's lookup
// failing did), and is not sent.
func TestSubmitBatchWithAnUnknownPerson(t *testing.T) {
	s := storetest.Migrated(t, storetest.SQLiteDSN(t))
	r := newRig(t, s)
	ctx := context.Background()
	people, ids := r.accepted(t, 2)
	delete(r.people, people[0].Subject)
	errs := r.SubmitBatch(ctx, []outbox.Message{submitMessage(ids[0]), submitMessage(ids[1])})
	if e, retried := errs[0].(*services.Error); !retried || e.Code != services.CodeSessionRevoked || errs[1] != nil {
		t.Fatalf("errors = %v, want a failure to retry for the unknown person and none for the other", errs)
	}
	for i, want := range []int{0, 1} {
		if got := r.sim.WithdrawalCount(ids[i]); got != want {
			t.Errorf("core holds application %d %d times, want %d", i, got, want)
		}
	}
}

// cancellingCore cancels an application here while its submission is at
// the core: the person pressing cancel at that moment.
type cancellingCore struct {
	*core.Client
	cancel func(id string)
}

func (c cancellingCore) SubmitWithdrawal(ctx context.Context, w core.Withdrawal) (core.WithdrawalStatus, error) {
	st, err := c.Client.SubmitWithdrawal(ctx, w)
	c.cancel(w.ApplicationID)
	return st, err
}

func TestCancelWhileOnItsWayIsCarriedToTheCore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		people, ids := r.accepted(t, 2)
		c, err := core.NewClient(core.ClientConfig{BaseURL: r.coreURL, KeyID: "handheld", Secret: []byte(secret), Now: r.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		var w *withdrawal.Service
		w, err = withdrawal.New(withdrawal.Deps{Store: s, Reader: reader{c}, People: r.people, Audit: &audits{},
			Policies: withdrawal.DefaultPolicies(), Now: r.clock.Now, Core: cancellingCore{Client: c, cancel: func(id string) {
				if id == ids[0] {
					if _, err := w.Cancel(ctx, people[0], id); err != nil {
						t.Errorf("cancel on the way: %v", err)
					}
				}
			}}})
		if err != nil {
			t.Fatal(err)
		}
		if errs := w.SubmitBatch(ctx, []outbox.Message{submitMessage(ids[0]), submitMessage(ids[1])}); errs[0] != nil || errs[1] != nil {
			t.Fatalf("errors = %v", errs)
		}
		if st, err := c.Withdrawal(ctx, ids[0]); err != nil || st.Status != withdrawal.StatusCancelled {
			t.Fatalf("at the core the one cancelled on its way is %+v (%v), want cancelled", st, err)
		}
		if st, err := c.Withdrawal(ctx, ids[1]); err != nil || st.Status != withdrawal.StatusSubmitted {
			t.Fatalf("at the core the other is %+v (%v), want submitted", st, err)
		}
		r.clock.Advance(time.Minute)
		if got, _ := w.Get(ctx, people[0], ids[0]); got.Status != withdrawal.StatusCancelled {
			t.Fatalf("here it is %s, want cancelled", got.Status)
		}
	})
}
