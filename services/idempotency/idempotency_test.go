package idempotency_test

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/idempotency"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

type clock struct{ micros atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.micros.Store(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).UnixMicro())
	return c
}

func (c *clock) Now() time.Time          { return time.UnixMicro(c.micros.Load()) }
func (c *clock) advance(d time.Duration) { c.micros.Add(d.Microseconds()) }

func wantCode(t *testing.T, err error, code services.Code) {
	t.Helper()
	if services.ErrorCode(err) != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
}

func TestClaimFinishReplay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		clk := newClock()
		k := idempotency.New(s, clk.Now)
		cl, done, err := k.Claim(ctx, "s1 POST /x", "k1", "h1")
		if err != nil || done != nil {
			t.Fatalf("first claim: %v %v", done, err)
		}
		_, _, err = k.Claim(ctx, "s1 POST /x", "k1", "h1")
		wantCode(t, err, services.CodeIdempotencyInFlight)
		_, _, err = k.Claim(ctx, "s1 POST /x", "k1", "h2")
		wantCode(t, err, services.CodeIdempotencyKeyReused)

		body := []byte(`{"name":"张伟"}`)
		if err := k.Finish(ctx, cl, idempotency.Response{Status: 201, ContentType: "application/json", Body: body}); err != nil {
			t.Fatal(err)
		}
		_, done, err = k.Claim(ctx, "s1 POST /x", "k1", "h1")
		if err != nil || done == nil || done.Status != 201 || done.ContentType != "application/json" || !bytes.Equal(done.Body, body) {
			t.Fatalf("replay: %+v %v", done, err)
		}
		// The answer is sealed at rest: the person's name is not in the row.
		var stored []byte
		if err := s.QueryRow(ctx, `SELECT response FROM idempotency_keys WHERE scope = $1 AND key = $2`, "s1 POST /x", "k1").Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(stored, []byte("张伟")) {
			t.Error("the stored response is readable at rest")
		}
		// Another scope is another key.
		if _, done, err := k.Claim(ctx, "s2 POST /x", "k1", "h1"); err != nil || done != nil {
			t.Fatalf("other scope: %v %v", done, err)
		}
		// After the retention period the key is new again.
		clk.advance(idempotency.Retention + time.Second)
		if _, done, err := k.Claim(ctx, "s1 POST /x", "k1", "h2"); err != nil || done != nil {
			t.Fatalf("after retention: %v %v", done, err)
		}
	})
}

func TestReleaseAndTakeOver(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		clk := newClock()
		k := idempotency.New(s, clk.Now)
		cl, _, err := k.Claim(ctx, "s1", "k1", "h1")
		if err != nil {
			t.Fatal(err)
		}
		k.Release(ctx, cl)
		again, done, err := k.Claim(ctx, "s1", "k1", "h2")
		if err != nil || done != nil {
			t.Fatalf("after release: %v %v", done, err)
		}

		// An abandoned claim is taken over; the first holder, back late,
		// neither finishes nor releases the new one.
		clk.advance(idempotency.ClaimTimeout + time.Second)
		taken, done, err := k.Claim(ctx, "s1", "k1", "h3")
		if err != nil || done != nil {
			t.Fatalf("take over: %v %v", done, err)
		}
		if err := k.Finish(ctx, again, idempotency.Response{Status: 201, Body: []byte("late")}); err != nil {
			t.Fatal(err)
		}
		k.Release(ctx, again)
		_, _, err = k.Claim(ctx, "s1", "k1", "h3")
		wantCode(t, err, services.CodeIdempotencyInFlight)
		if err := k.Finish(ctx, taken, idempotency.Response{Status: 201, Body: []byte("mine")}); err != nil {
			t.Fatal(err)
		}
		if _, done, err := k.Claim(ctx, "s1", "k1", "h3"); err != nil || done == nil || string(done.Body) != "mine" {
			t.Fatalf("replay after take over: %+v %v", done, err)
		}
	})
}
