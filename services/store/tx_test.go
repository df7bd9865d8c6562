package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"handheld/services/store"
	"handheld/services/store/storetest"
)

func countOutbox(t *testing.T, s *store.Store) int {
	t.Helper()
	var n int
	if err := s.QueryRow(t.Context(), `SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

func insertOutbox(ctx context.Context, tx *store.Tx, id string) error {
	_, err := tx.Exec(ctx, `INSERT INTO outbox (id, topic, payload, next_attempt_at, created_at) VALUES ($1, 't', $2, $3, $3)`,
		id, []byte("x"), time.Now())
	return err
}

func TestTxCommits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		err := s.Tx(t.Context(), func(tx *store.Tx) error {
			if err := insertOutbox(t.Context(), tx, "m1"); err != nil {
				return err
			}
			return insertOutbox(t.Context(), tx, "m2")
		})
		if err != nil {
			t.Fatalf("Tx: %v", err)
		}
		if n := countOutbox(t, s); n != 2 {
			t.Fatalf("rows after commit = %d, want 2", n)
		}
	})
}

// A prepared statement runs many times in its transaction, reports a
// duplicate as ErrConflict, and its rows go with the transaction.
func TestTxPrepare(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		insert := `INSERT INTO outbox (id, topic, payload, next_attempt_at, created_at) VALUES ($1, 't', $2, $3, $3)`
		err := s.Tx(ctx, func(tx *store.Tx) error {
			st, err := tx.Prepare(ctx, insert)
			if err != nil {
				return err
			}
			for _, id := range []string{"p1", "p2", "p3"} {
				if _, err := st.Exec(ctx, id, []byte("x"), time.Now()); err != nil {
					return err
				}
			}
			if _, err := st.Exec(ctx, "p1", []byte("x"), time.Now()); !errors.Is(err, store.ErrConflict) {
				t.Errorf("duplicate id: %v, want ErrConflict", err)
			}
			return errors.New("roll back")
		})
		if err == nil || countOutbox(t, s) != 0 {
			t.Fatalf("rolled back: %v, %d rows left", err, countOutbox(t, s))
		}
		if err := s.Tx(ctx, func(tx *store.Tx) error {
			st, err := tx.Prepare(ctx, insert)
			if err != nil {
				return err
			}
			_, err = st.Exec(ctx, "p4", []byte("x"), time.Now())
			return err
		}); err != nil || countOutbox(t, s) != 1 {
			t.Fatalf("committed: %v, %d rows", err, countOutbox(t, s))
		}
	})
}

func TestTxRollsBackOnError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		boom := errors.New("boom")
		err := s.Tx(t.Context(), func(tx *store.Tx) error {
			if err := insertOutbox(t.Context(), tx, "m1"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx returned %v, want fn's error", err)
		}
		if n := countOutbox(t, s); n != 0 {
			t.Fatalf("rows after rollback = %d, want 0", n)
		}
	})
}

func TestTxRollsBackOnPanic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		recovered := func() (r any) {
			defer func() { r = recover() }()
			_ = s.Tx(t.Context(), func(tx *store.Tx) error {
				if err := insertOutbox(t.Context(), tx, "m1"); err != nil {
					t.Errorf("insert: %v", err)
				}
				panic("boom")
			})
			return nil
		}()
		if recovered != "boom" {
			t.Fatalf("recovered %v, want the panic to go on", recovered)
		}
		if n := countOutbox(t, s); n != 0 {
			t.Fatalf("rows after panic = %d, want 0", n)
		}
		// The connection went back to the pool usable, not mid-transaction.
		if err := s.Tx(t.Context(), func(tx *store.Tx) error { return insertOutbox(t.Context(), tx, "m2") }); err != nil {
			t.Fatalf("Tx after panic: %v", err)
		}
		if n := countOutbox(t, s); n != 1 {
			t.Fatalf("rows = %d, want 1", n)
		}
	})
}

// TestTxRetriesSerializationFailure makes PostgreSQL abort the first try
// with SQLSTATE 40001, as it does to one of two conflicting serializable
// transactions.
func TestTxRetriesSerializationFailure(t *testing.T) {
	t.Parallel()
	s := storetest.Migrated(t, storetest.PostgresDSN(t))
	calls := 0
	err := s.Tx(t.Context(), func(tx *store.Tx) error {
		calls++
		if err := insertOutbox(t.Context(), tx, "m1"); err != nil {
			return err
		}
		if calls == 1 {
			_, err := tx.Exec(t.Context(), `DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$`)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Tx: %v", err)
	}
	if calls != 2 {
		t.Fatalf("fn ran %d times, want 2", calls)
	}
	if n := countOutbox(t, s); n != 1 {
		t.Fatalf("rows = %d, want 1 (the first try rolled back, the second committed)", n)
	}

	// Not every error is retried.
	calls = 0
	err = s.Tx(t.Context(), func(tx *store.Tx) error {
		calls++
		_, err := tx.Exec(t.Context(), `DO $$ BEGIN RAISE EXCEPTION 'no' USING ERRCODE = '22012'; END $$`)
		return err
	})
	if err == nil || calls != 1 {
		t.Fatalf("division-by-zero class error: err = %v after %d calls, want an error after 1", err, calls)
	}
}

// TestTxRetriesBusy holds SQLite's write lock from a second pool, as another
// process would, for longer than the store's busy_timeout: Tx must keep
// trying until the lock is free.
func TestTxRetriesBusy(t *testing.T) {
	t.Parallel()
	dsn := storetest.SQLiteDSN(t)
	storetest.Migrated(t, dsn)
	s := storetest.Open(t, dsn+"?_pragma=busy_timeout(10)")
	other := storetest.Open(t, dsn)

	holder, err := other.DB().BeginTx(t.Context(), nil) // BEGIN IMMEDIATE: takes the write lock
	if err != nil {
		t.Fatalf("hold lock: %v", err)
	}
	released := make(chan struct{})
	go func() {
		defer close(released)
		time.Sleep(60 * time.Millisecond)
		_ = holder.Rollback()
	}()
	start := time.Now()
	err = s.Tx(t.Context(), func(tx *store.Tx) error { return insertOutbox(t.Context(), tx, "m1") })
	<-released
	if err != nil {
		t.Fatalf("Tx while another pool held the lock: %v", err)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Fatalf("Tx finished after %v, before the lock was released: was it held?", waited)
	}
	if n := countOutbox(t, s); n != 1 {
		t.Fatalf("rows = %d, want 1", n)
	}
}

// TestConcurrentWriters runs many read-modify-write transactions at once:
// none may fail or lose an update, on either backend. None should need a
// second try either: on SQLite a write transaction takes the lock at BEGIN
// (IMMEDIATE) and waits there, rather than failing when its first write
// finds the lock taken since its read.
func TestConcurrentWriters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		mustExec(t, s, `CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`)
		mustExec(t, s, `INSERT INTO counter (id, n) VALUES (1, 0)`)
		const workers, each = 8, 10
		var (
			wg    sync.WaitGroup
			calls atomic.Int64
		)
		errs := make(chan error, workers*each)
		for range workers {
			wg.Go(func() {
				for range each {
					errs <- s.Tx(ctx, func(tx *store.Tx) error {
						calls.Add(1)
						var n int
						q := `SELECT n FROM counter WHERE id = 1`
						if tx.Dialect() == store.Postgres {
							q += ` FOR UPDATE`
						}
						if err := tx.QueryRow(ctx, q).Scan(&n); err != nil {
							return err
						}
						_, err := tx.Exec(ctx, `UPDATE counter SET n = $1 WHERE id = 1`, n+1)
						return err
					})
				}
			})
		}
		wg.Wait()
		close(errs)
		var failed []string
		for err := range errs {
			if err != nil {
				failed = append(failed, err.Error())
			}
		}
		if len(failed) > 0 {
			t.Fatalf("%d transactions failed, first: %s", len(failed), strings.Join(failed[:1], ""))
		}
		var n int
		if err := s.QueryRow(ctx, `SELECT n FROM counter WHERE id = 1`).Scan(&n); err != nil {
			t.Fatalf("read counter: %v", err)
		}
		if n != workers*each {
			t.Fatalf("counter = %d, want %d", n, workers*each)
		}
		if c := calls.Load(); c != workers*each {
			t.Errorf("transactions ran %d times for %d commits: writers failed mid-way and were retried", c, workers*each)
		}
	})
}
