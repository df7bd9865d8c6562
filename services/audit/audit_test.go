package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/suite"
)

func TestAppendIsDurableAndVerifies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		wantIntact(t, s, 0) // an empty trail is intact
		l := newLog(t, s, Options{})
		for i := range 5 {
			if err := l.Append(t.Context(), rec(i)); err != nil {
				t.Fatal(err)
			}
			// Append returns after the commit, not after queuing.
			if got := count(t, s); got != i+1 {
				t.Fatalf("after Append %d the trail has %d rows, want %d", i, got, i+1)
			}
		}
		wantIntact(t, s, 5)

		rows, err := s.Query(t.Context(), `SELECT `+rowColumns+` FROM audit_log ORDER BY seq`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		prev := genesisHash
		for i := 0; rows.Next(); i++ {
			row, err := scanRow(rows.Scan)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(rec(i), row.rec); diff != "" {
				t.Errorf("row %d read back differs (-wrote +read):\n%s", i, diff)
			}
			if row.seq != int64(i+1) || row.prevHash != prev || row.hash != chainHash(suite.Env(), row.seq, row.rec, prev) {
				t.Errorf("row %d: seq %d prev %s hash %s do not chain", i, row.seq, row.prevHash, row.hash)
			}
			prev = row.hash
		}
	})
}

func TestAppendStampsZeroTimeWithClock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		now := time.Date(2025, 1, 2, 3, 4, 5, 678901234, time.FixedZone("CST", 8*3600))
		l := newLog(t, s, Options{Now: func() time.Time { return now }})
		r := rec(1)
		r.At = time.Time{}
		if err := l.Append(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		got, _, err := l.List(t.Context(), Filter{Subject: r.Subject})
		if err != nil || len(got) != 1 {
			t.Fatalf("List = %v, %v", got, err)
		}
		if want := store.Timestamp(now); !got[0].At.Equal(want) || got[0].At.Location() != time.UTC {
			t.Fatalf("At = %v, want %v in UTC", got[0].At, want)
		}
		wantIntact(t, s, 1)
	})
}

func TestConcurrentAppendsFormOneChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var batches, written atomic.Int64
		l := newLog(t, s, Options{OnBatch: func(n int, _ time.Duration, err error) {
			if err == nil {
				batches.Add(1)
				written.Add(int64(n))
			}
		}})
		const workers, each = 8, 50
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					if err := l.Append(t.Context(), rec(w*each+i)); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		wantIntact(t, s, workers*each)
		if written.Load() != workers*each {
			t.Fatalf("OnBatch saw %d records, want %d", written.Load(), workers*each)
		}
		t.Logf("%d records in %d batches", written.Load(), batches.Load())

		// Every record is there exactly once.
		var rows, distinct int
		if err := s.QueryRow(t.Context(), `SELECT COUNT(*), COUNT(DISTINCT target) FROM audit_log`).Scan(&rows, &distinct); err != nil {
			t.Fatal(err)
		}
		if rows != workers*each || distinct != workers*each {
			t.Fatalf("%d rows, %d distinct targets, want %d of each", rows, distinct, workers*each)
		}
	})
}

// TestReplicasShareOneChain runs two Logs, each on a store of its own (its
// own pool, as another process has), on one database.
func TestReplicasShareOneChain(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		a := storetest.Migrated(t, dsn)
		b := storetest.Open(t, dsn)
		const perReplica, workers = 200, 8
		var wg sync.WaitGroup
		errs := make(chan error, 2*perReplica)
		for name, s := range map[string]*store.Store{"a": a, "b": b} {
			l := newLog(t, s, Options{})
			for w := range workers {
				wg.Go(func() {
					for i := w; i < perReplica; i += workers {
						r := rec(i)
						r.Actor = "device:replica-" + name
						r.Target = fmt.Sprintf("account:%s-%d", name, i)
						if err := l.Append(t.Context(), r); err != nil {
							errs <- err
						}
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		wantIntact(t, a, 2*perReplica)

		// On PostgreSQL the replicas' batches interleave, so the test did
		// exercise the advisory lock. SQLite's busy handler polls, and under
		// this flat-out load one process often starves the other until it
		// is done: the chain is intact all the same, but may not interleave.
		if a.Dialect() != store.Postgres {
			return
		}
		rows, err := a.Query(t.Context(), `SELECT actor FROM audit_log ORDER BY seq`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		switches, last := 0, ""
		for rows.Next() {
			var actor string
			if err := rows.Scan(&actor); err != nil {
				t.Fatal(err)
			}
			if last != "" && actor != last {
				switches++
			}
			last = actor
		}
		t.Logf("the chain switches replica %d times", switches)
		if switches < 2 {
			t.Fatalf("replicas' records switch %d times along the chain: they did not run concurrently", switches)
		}
	})
}

func TestCloseFlushesQueuedRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		// Lingering for an hour with room for all: only Close writes them.
		l := New(s, Options{BatchSize: 1000, FlushEvery: time.Hour})
		for i := range 100 {
			if err := l.Enqueue(t.Context(), rec(i)); err != nil {
				t.Fatal(err)
			}
		}
		if got := count(t, s); got != 0 {
			t.Fatalf("%d rows before Close, want 0 (the writer should still linger)", got)
		}
		if err := l.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		wantIntact(t, s, 100)

		err := l.Append(t.Context(), rec(100))
		if !errors.Is(err, ErrClosed) || services.ErrorCode(err) != services.CodeServiceClosed {
			t.Fatalf("Append after Close: %v, want ErrClosed with code %s", err, services.CodeServiceClosed)
		}
		if err := l.Close(t.Context()); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}

// TestCloseLosesNothingAccepted closes the Log while callers are still
// submitting: each record is either refused with ErrClosed or written.
func TestCloseLosesNothingAccepted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		l := New(s, Options{BatchSize: 8, Buffer: 8})
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		var accepted atomic.Int64
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range 100 {
					submit := l.Append
					if i%2 == 0 {
						submit = l.Enqueue
					}
					err := submit(ctx, rec(w*100+i))
					switch {
					case err == nil:
						accepted.Add(1)
					case errors.Is(err, ErrClosed):
						return
					default:
						t.Errorf("worker %d record %d: %v", w, i, err)
						return
					}
				}
			})
		}
		time.Sleep(5 * time.Millisecond)
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if got := int64(count(t, s)); got != accepted.Load() {
			t.Fatalf("%d records accepted, %d written", accepted.Load(), got)
		}
		wantIntact(t, s, accepted.Load())
		t.Logf("%d of 800 records accepted before Close", accepted.Load())
	})
}

// TestAppendCutsTheLingerShort: a batch with someone waiting on it is
// written at once, however long the Log would linger for reads.
func TestAppendCutsTheLingerShort(t *testing.T) {
	s := storetest.Migrated(t, storetest.SQLiteDSN(t))
	l := newLog(t, s, Options{FlushEvery: time.Hour})
	if err := l.Enqueue(t.Context(), rec(0)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := l.Append(ctx, rec(1)); err != nil {
		t.Fatalf("Append behind a lingering batch: %v", err)
	}
	if n := count(t, s); n != 2 {
		t.Fatalf("%d rows, want the read and the sign-in", n)
	}
}

func TestEnqueueWaitsWhenFull(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		l := newLog(t, s, Options{BatchSize: 4, Buffer: 4, FlushEvery: time.Hour})
		// More than the buffer and the batch together: Enqueue must wait
		// for the writer rather than drop.
		for i := range 50 {
			if err := l.Enqueue(t.Context(), rec(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		wantIntact(t, s, 50)
	})
}

func TestFailedBatchFailsItsAppends(t *testing.T) {
	s := storetest.Open(t, storetest.SQLiteDSN(t)) // not migrated: there is no audit_log
	var failed atomic.Int64
	l := newLog(t, s, Options{OnBatch: func(_ int, _ time.Duration, err error) {
		if err != nil {
			failed.Add(1)
		}
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := l.Append(ctx, rec(1))
	if err == nil || services.ErrorCode(err) != services.CodeInternal {
		t.Fatalf("Append into a missing table: %v, want an internal error", err)
	}
	if failed.Load() != 1 {
		t.Fatalf("OnBatch saw %d failed batches, want 1", failed.Load())
	}
}

func TestAppendGivesUpWithItsContext(t *testing.T) {
	s := storetest.Migrated(t, storetest.SQLiteDSN(t))
	l := newLog(t, s, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := l.Append(ctx, rec(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a cancelled context: %v, want context.Canceled", err)
	}
}
