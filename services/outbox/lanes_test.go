package outbox_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// laneWorker delivers every topic it is given by recording the ids, a
// round claiming at most batch rows.
func laneWorker(t *testing.T, s *store.Store, clk *clock, batch int, topics ...outbox.Topic) (*outbox.Worker, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	for i := range topics {
		topics[i].Handle = func(_ context.Context, m outbox.Message) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, m.ID)
			return nil
		}
	}
	w, err := outbox.New(outbox.Config{Store: s, Topics: topics, Enqueued: names(topics), Now: clk.Now,
		Batch: batch, Concurrency: batch, Jitter: func() float64 { return 0.5 }})
	if err != nil {
		t.Fatal(err)
	}
	return w, func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := slices.Clone(got)
		got = got[:0]
		slices.Sort(out)
		return out
	}
}

// A backlog of background messages queued first does not hold up a
// person's business: the round takes every due row of the other topics,
// and the oldest background rows with the slots left.
func TestBackgroundTopicsTakeTheSlotsLeft(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		w, delivered := laneWorker(t, s, clk, 8,
			outbox.Topic{Name: "notify.wechat", Background: true},
			outbox.Topic{Name: "withdrawal.submit"})
		now := clk.Now()
		for i := range 40 {
			enqueue(t, s, outbox.Message{ID: fmt.Sprintf("n%02d", i), Topic: "notify.wechat"}, now.Add(time.Duration(i-100)*time.Second))
		}
		for i := range 12 {
			enqueue(t, s, outbox.Message{ID: fmt.Sprintf("w%02d", i), Topic: "withdrawal.submit"}, now.Add(time.Duration(i-20)*time.Second))
		}
		want := [][]string{
			{"w00", "w01", "w02", "w03", "w04", "w05", "w06", "w07"},
			{"n00", "n01", "n02", "n03", "w08", "w09", "w10", "w11"},
			{"n04", "n05", "n06", "n07", "n08", "n09", "n10", "n11"},
		}
		for round, want := range want {
			if n := runOnce(t, w); n != 8 {
				t.Fatalf("round %d handled %d, want 8", round+1, n)
			}
			if got := delivered(); !slices.Equal(got, want) {
				t.Fatalf("round %d delivered %v, want %v: every due submission first, then the oldest messages", round+1, got, want)
			}
		}
	})
}

// Two busy topics of the first lane take turns: a backlog of one does not
// keep the other waiting for a round.
func TestFirstLaneTopicsTakeTurns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		w, delivered := laneWorker(t, s, clk, 4,
			outbox.Topic{Name: "withdrawal.submit"}, outbox.Topic{Name: "transfer.send"})
		now := clk.Now()
		for i := range 10 {
			enqueue(t, s, outbox.Message{ID: fmt.Sprintf("w%d", i), Topic: "withdrawal.submit"}, now.Add(time.Duration(i-100)*time.Second))
			enqueue(t, s, outbox.Message{ID: fmt.Sprintf("t%d", i), Topic: "transfer.send"}, now.Add(time.Duration(i-50)*time.Second))
		}
		var led []string
		for range 4 {
			if n := runOnce(t, w); n != 4 {
				t.Fatalf("round handled %d, want 4", n)
			}
			got := delivered()
			if got[0][:1] != got[3][:1] {
				t.Fatalf("a round of 4 mixed topics while both had 4 due: %v", got)
			}
			led = append(led, got[0][:1])
		}
		if led[0] == led[1] || led[2] == led[3] {
			t.Fatalf("rounds went to %v, want the topics in turn", led)
		}
	})
}
