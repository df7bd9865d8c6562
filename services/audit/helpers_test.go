package audit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"handheld/services/store"
	"handheld/services/suite"
)

// epoch is the fake clock's start; records are stamped a second apart.
var epoch = time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)

// newLog starts a Log on s and closes it when the test ends, failing the
// test if Close does.
func newLog(t testing.TB, s *store.Store, opts Options) *Log {
	t.Helper()
	if opts.Suite == "" {
		opts.Suite = suite.Env()
	}
	l := New(s, opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := l.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

// rec is a valid record, distinct for each i.
func rec(i int) Record {
	return Record{
		At:        epoch.Add(time.Duration(i) * time.Second),
		Subject:   fmt.Sprintf("sub_%d", i%5),
		Actor:     fmt.Sprintf("device:kiosk-%d", i%3),
		Channel:   "kiosk",
		Action:    "read.account",
		Target:    fmt.Sprintf("account:acc_%d", i),
		RequestID: fmt.Sprintf("req-%d", i),
		Result:    "ok",
	}
}

// appendN appends rec(0) … rec(n-1), one by one, waiting for each.
func appendN(t *testing.T, l *Log, n int) {
	t.Helper()
	for i := range n {
		if err := l.Append(t.Context(), rec(i)); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
}

// count is the number of rows in the trail.
func count(t testing.TB, s *store.Store) int {
	t.Helper()
	var n int
	if err := s.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_log`).Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

// mustVerify runs Verify and fails the test on an error.
func mustVerify(t *testing.T, s *store.Store) Report {
	t.Helper()
	rep, err := Verify(t.Context(), s)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

// wantIntact fails the test unless the trail holds n rows that chain.
func wantIntact(t *testing.T, s *store.Store, n int64) {
	t.Helper()
	rep := mustVerify(t, s)
	if rep.Records != n || rep.FirstBroken != 0 || rep.Reason != "" {
		t.Fatalf("Verify = %+v, want %d records and no break", rep, n)
	}
}

// tamper runs stmts as someone with the database owner's rights would:
// the append-only triggers dropped first.
func tamper(t *testing.T, s *store.Store, stmts ...string) {
	t.Helper()
	drop := []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
	if s.Dialect() == store.Postgres {
		drop = []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`}
	}
	for _, q := range append(drop, stmts...) {
		if _, err := s.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
