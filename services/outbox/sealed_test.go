package outbox_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"

	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// Payloads are sealed at rest, bound to their row: the handler gets the
// payload back; a payload moved onto another row (or altered) never reaches
// a handler — the row is retried with backoff instead, its error stored.
func TestPayloadSealedAndBoundToItsRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		clk := newClock()
		var calls atomic.Int32
		var got []byte
		w := newWorker(t, s, clk, &outcomes{}, outbox.Topic{Name: "withdrawal.submit", Handle: func(_ context.Context, m outbox.Message) error {
			calls.Add(1)
			got = bytes.Clone(m.Payload)
			return nil
		}})
		card := []byte(`{"payout_account":"6222021202005128745"}`)
		enqueue(t, s, outbox.Message{ID: "a", Topic: "withdrawal.submit", Payload: card}, clk.Now())
		enqueue(t, s, outbox.Message{ID: "b", Topic: "withdrawal.submit", Payload: []byte("{}")}, clk.Now().Add(-1))
		var stored []byte
		if err := s.QueryRow(ctx, `SELECT payload FROM outbox WHERE id = 'a'`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(stored, []byte("6222")) {
			t.Fatal("payload stored in clear")
		}
		// b's row now carries a's sealed payload.
		if _, err := s.Exec(ctx, `UPDATE outbox SET payload = $1 WHERE id = 'b'`, stored); err != nil {
			t.Fatal(err)
		}
		if n := runOnce(t, w); n != 2 {
			t.Fatalf("handled %d, want 2", n)
		}
		if calls.Load() != 1 || !bytes.Equal(got, card) {
			t.Fatalf("handler called %d times with %q; want once, with a's payload", calls.Load(), got)
		}
		if r := readRow(t, s, "b"); !r.DeliveredAt.IsZero() || r.LastError == "" || bytes.Contains([]byte(r.LastError), card) {
			t.Fatalf("moved payload: row %+v; want it pending, with an error naming no value", r)
		}
	})
}
