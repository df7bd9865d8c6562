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

// EnqueueAll writes many rows in one statement: each due at its own time,
// a message already stored left as it is, and a bad message anywhere in
// the list writing none of them.
func TestEnqueueAll(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		clk := newClock()
		now := clk.Now()
		enqueue(t, s, outbox.Message{ID: "m-1", Topic: "notify.wechat", Payload: []byte("first")}, now.Add(time.Hour))
		var inserted int
		if err := s.Tx(ctx, func(tx *store.Tx) error {
			var err error
			inserted, err = outbox.EnqueueAll(ctx, tx,
				outbox.Due{Message: outbox.Message{ID: "m-1", Topic: "notify.wechat", Payload: []byte("second")}, At: now},
				outbox.Due{Message: outbox.Message{ID: "m-2", Topic: "notify.wechat"}, At: now},
				outbox.Due{Message: outbox.Message{ID: "m-3", Topic: "withdrawal.poll"}, At: now.Add(time.Minute)})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if inserted != 2 {
			t.Errorf("inserted %d, want 2 (m-1 was stored before)", inserted)
		}
		for id, due := range map[string]time.Time{"m-1": now.Add(time.Hour), "m-2": now, "m-3": now.Add(time.Minute)} {
			if r := readRow(t, s, id); !r.NextAttemptAt.Equal(due) || r.Attempts != 0 || !r.DeliveredAt.IsZero() {
				t.Errorf("%s: %+v, want due %v, untried", id, r, due)
			}
		}
		var (
			mu  sync.Mutex
			got []string
		)
		w := newWorker(t, s, clk, &outcomes{}, outbox.Topic{Name: "notify.wechat", Handle: func(_ context.Context, m outbox.Message) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, m.ID+"="+string(m.Payload))
			return nil
		}}, outbox.Topic{Name: "withdrawal.poll", Handle: func(context.Context, outbox.Message) error { return nil }})
		clk.Advance(2 * time.Hour)
		runOnce(t, w)
		slices.Sort(got)
		if !slices.Equal(got, []string{"m-1=first", "m-2="}) {
			t.Errorf("delivered %v, want m-1 with its first payload and m-2", got)
		}

		for name, bad := range map[string]outbox.Due{
			"empty id":    {Message: outbox.Message{Topic: "notify.wechat"}, At: now},
			"empty topic": {Message: outbox.Message{ID: "x-2"}, At: now},
			"no due time": {Message: outbox.Message{ID: "x-3", Topic: "notify.wechat"}},
		} {
			err := s.Tx(ctx, func(tx *store.Tx) error {
				_, err := outbox.EnqueueAll(ctx, tx, outbox.Due{Message: outbox.Message{ID: "x-1", Topic: "notify.wechat"}, At: now}, bad)
				return err
			})
			if err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
		var n int
		if err := s.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE id LIKE 'x-%'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d rows of the refused lists written (%v), want none", n, err)
		}
	})
}
