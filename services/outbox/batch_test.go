package outbox_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// batchRecorder is a HandleBatch that keeps every call's message ids and
// answers each message by its id's first word.
type batchRecorder struct {
	mu    sync.Mutex
	calls [][]string
}

func (b *batchRecorder) handle(_ context.Context, ms []outbox.Message) []error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	errs := make([]error, len(ms))
	for i, m := range ms {
		ids = append(ids, m.ID)
		switch strings.SplitN(m.ID, "-", 2)[0] {
		case "again":
			errs[i] = outbox.Again(time.Minute)
		case "dead":
			errs[i] = outbox.Permanent(errors.New("refused"))
		case "retry":
			errs[i] = errors.New("core busy")
		}
	}
	slices.Sort(ids)
	b.calls = append(b.calls, ids)
	return errs
}

func TestBatchTopicDeliversARoundInOneCall(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		obs := &outcomes{}
		var b batchRecorder
		var singles []string
		var mu sync.Mutex
		w := newWorker(t, s, clk, obs,
			outbox.Topic{Name: "withdrawal.submit", HandleBatch: b.handle},
			outbox.Topic{Name: "notify.wechat", Handle: func(_ context.Context, m outbox.Message) error {
				mu.Lock()
				defer mu.Unlock()
				singles = append(singles, m.ID)
				return nil
			}})
		now := clk.Now()
		for _, id := range []string{"ok-1", "again-1", "dead-1", "retry-1", "ok-2"} {
			enqueue(t, s, outbox.Message{ID: id, Topic: "withdrawal.submit"}, now)
		}
		enqueue(t, s, outbox.Message{ID: "n-1", Topic: "notify.wechat"}, now)

		if n := runOnce(t, w); n != 6 {
			t.Fatalf("round handled %d, want 6", n)
		}
		want := [][]string{{"again-1", "dead-1", "ok-1", "ok-2", "retry-1"}}
		if !slices.EqualFunc(b.calls, want, slices.Equal) {
			t.Fatalf("batch calls = %v, want one call with the five rows %v", b.calls, want)
		}
		if !slices.Equal(singles, []string{"n-1"}) {
			t.Fatalf("single handler got %v, want n-1", singles)
		}
		for id, check := range map[string]func(row) bool{
			"ok-1": func(r row) bool { return r.DeliveredAt.Equal(now) },
			"ok-2": func(r row) bool { return r.DeliveredAt.Equal(now) },
			"again-1": func(r row) bool {
				return r.DeliveredAt.IsZero() && r.Attempts == 0 && r.NextAttemptAt.Equal(now.Add(time.Minute))
			},
			"dead-1": func(r row) bool { return r.DeliveredAt.Equal(now) && r.LastError == "refused" },
			"retry-1": func(r row) bool {
				return r.DeliveredAt.IsZero() && r.Attempts == 1 && r.LastError == "core busy" && r.NextAttemptAt.Equal(now.Add(time.Second))
			},
		} {
			if r := readRow(t, s, id); !check(r) {
				t.Errorf("row %s = %+v: not as its answer says", id, r)
			}
		}
		got := obs.list()
		slices.Sort(got)
		wantObs := []string{"notify.wechat:delivered", "withdrawal.submit:again", "withdrawal.submit:dead",
			"withdrawal.submit:delivered", "withdrawal.submit:delivered", "withdrawal.submit:retry"}
		if !slices.Equal(got, wantObs) {
			t.Fatalf("outcomes = %v, want %v", got, wantObs)
		}
	})
}

func TestBatchHandlerThatMisbehavesRetriesEveryMessage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for name, h := range map[string]outbox.BatchHandler{
			"short answer": func(_ context.Context, ms []outbox.Message) []error { return make([]error, len(ms)-1) },
			"panic":        func(context.Context, []outbox.Message) []error { panic("payload quoted here") },
		} {
			t.Run(name, func(t *testing.T) {
				clk := newClock()
				topic := outbox.TopicName("t." + strings.ReplaceAll(name, " ", "_"))
				w := newWorker(t, s, clk, nil, outbox.Topic{Name: topic, HandleBatch: h})
				for _, id := range []string{"1", "2", "3"} {
					enqueue(t, s, outbox.Message{ID: string(topic) + id, Topic: topic}, clk.Now())
				}
				if n := runOnce(t, w); n != 3 {
					t.Fatalf("round handled %d, want 3", n)
				}
				for _, id := range []string{"1", "2", "3"} {
					r := readRow(t, s, string(topic)+id)
					if !r.DeliveredAt.IsZero() || r.LastError == "" || strings.Contains(r.LastError, "payload") {
						t.Fatalf("row %s = %+v, want retried with an error that quotes nothing", id, r)
					}
				}
			})
		}
	})
}

func TestBatchAtMostOnceClosesBeforeTheCall(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		var openDuringCall []int
		h := func(ctx context.Context, ms []outbox.Message) []error {
			n, err := outbox.Pending(ctx, s)
			if err != nil {
				t.Error(err)
			}
			openDuringCall = append(openDuringCall, n)
			errs := make([]error, len(ms))
			for i, m := range ms {
				if m.ID == "fails" {
					errs[i] = errors.New("wechat busy")
				}
			}
			return errs
		}
		w := newWorker(t, s, clk, nil, outbox.Topic{Name: "notify.wechat", AtMostOnce: true, HandleBatch: h})
		for _, id := range []string{"a", "b", "fails"} {
			enqueue(t, s, outbox.Message{ID: id, Topic: "notify.wechat"}, clk.Now())
		}
		runOnce(t, w)
		if !slices.Equal(openDuringCall, []int{0}) {
			t.Fatalf("rows open while the batch ran = %v, want one call with 0: all closed before it", openDuringCall)
		}
		if r := readRow(t, s, "fails"); !r.DeliveredAt.IsZero() || r.LastError != "wechat busy" {
			t.Fatalf("failed row = %+v, want re-opened for a retry", r)
		}
		if r := readRow(t, s, "a"); r.DeliveredAt.IsZero() {
			t.Fatalf("row a = %+v, want closed", r)
		}
	})
}

func TestTopicTakesOneKindOfHandler(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		_, err := outbox.New(outbox.Config{Store: s, Enqueued: []outbox.TopicName{"x"}, Topics: []outbox.Topic{{Name: "x",
			Handle:      func(context.Context, outbox.Message) error { return nil },
			HandleBatch: func(context.Context, []outbox.Message) []error { return nil }}}})
		if err == nil || !strings.Contains(err.Error(), "both Handle and HandleBatch") {
			t.Fatalf("New with both handlers: %v", err)
		}
	})
}
