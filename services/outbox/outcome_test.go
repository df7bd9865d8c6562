package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services/store"
	"handheld/services/store/storetest"
)

func TestBackoff(t *testing.T) {
	const base, ceiling = time.Second, 5 * time.Minute
	for _, tc := range []struct {
		attempts int
		jitter   float64
		want     time.Duration
	}{
		{1, 0.5, time.Second},
		{2, 0.5, 2 * time.Second},
		{3, 0.5, 4 * time.Second},
		{9, 0.5, 256 * time.Second},
		{10, 0.5, ceiling}, // 512s, capped
		{1_000_000, 0.5, ceiling},
		{0, 0.5, time.Second}, // never claimed: treated as the first
		{1, 0, 800 * time.Millisecond},
		{3, 0.75, 4400 * time.Millisecond},
		{10, 0, 4 * time.Minute},
		{10, 1, 6 * time.Minute}, // the jitter's bound, beyond the cap
	} {
		if got := backoff(base, ceiling, tc.attempts, tc.jitter); got != tc.want {
			t.Errorf("backoff(attempts %d, jitter %v) = %s, want %s", tc.attempts, tc.jitter, got, tc.want)
		}
	}
}

func TestJudge(t *testing.T) {
	boom := errors.New("core unavailable")
	for _, tc := range []struct {
		name string
		err  error
		want verdict
	}{
		{"nil", nil, verdict{outcome: OutcomeDelivered}},
		{"plain error", boom, verdict{outcome: OutcomeRetry, text: "core unavailable"}},
		{"deadline", fmt.Errorf("submit: %w", context.DeadlineExceeded), verdict{outcome: OutcomeRetry, text: "submit: context deadline exceeded"}},
		{"again", Again(time.Minute), verdict{outcome: OutcomeAgain, after: time.Minute}},
		{"wrapped again", fmt.Errorf("pending: %w", Again(time.Second)), verdict{outcome: OutcomeAgain, after: time.Second}},
		{"negative again", Again(-time.Second), verdict{outcome: OutcomeAgain}},
		{"permanent", Permanent(boom), verdict{outcome: OutcomeDead, text: "core unavailable"}},
		{"wrapped permanent", fmt.Errorf("submit: %w", Permanent(boom)), verdict{outcome: OutcomeDead, text: "submit: core unavailable"}},
		{"permanent nil", Permanent(nil), verdict{outcome: OutcomeDead, text: "permanent failure"}},
	} {
		if diff := cmp.Diff(tc.want, judge(tc.err), cmp.AllowUnexported(verdict{})); diff != "" {
			t.Errorf("%s: judge (-want +got):\n%s", tc.name, diff)
		}
	}
	if !errors.Is(Permanent(boom), boom) {
		t.Error("Permanent hides its cause from errors.Is")
	}
}

func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"short", "core unavailable", "core unavailable"},
		{"NUL removed", "a\x00b", "ab"},
		{"invalid UTF-8 replaced", "a\xffb", "a\uFFFDb"},
		{"exactly the limit", strings.Repeat("x", 500), strings.Repeat("x", 500)},
		{"cut", strings.Repeat("x", 501), strings.Repeat("x", 500)},
		{"cut between runes", "xx" + strings.Repeat("金", 200), "xx" + strings.Repeat("金", 166)},     // 2+498=500
		{"cut before a split rune", "x" + strings.Repeat("金", 200), "x" + strings.Repeat("金", 166)}, // 1+498=499
	} {
		if got := errorText(errors.New(tc.in)); got != tc.want {
			t.Errorf("%s: errorText = %q (%d bytes), want %q (%d bytes)", tc.name, got, len(got), tc.want, len(tc.want))
		}
	}
}

func TestClaimStatementLeasesEveryTopicAlike(t *testing.T) {
	h := func(context.Context, Message) error { return nil }
	sql, args := claimStatement(store.SQLite, []Topic{{Name: "a", Handle: h}, {Name: "b", Handle: h, AtMostOnce: true}})
	if !strings.Contains(sql, "topic IN ($4, $5)") || !strings.Contains(sql, "id IN (") || strings.Contains(sql, "delivered_at =") {
		t.Errorf("claim statement binds the topics wrongly:\n%s", sql)
	}
	if strings.Contains(sql, "SKIP LOCKED") {
		t.Errorf("a non-PostgreSQL claim has a locking clause:\n%s", sql)
	}
	if diff := cmp.Diff([]any{"a", "b"}, args); diff != "" {
		t.Errorf("claim args (-want +got):\n%s", diff)
	}
}

func TestPostgresClaimLocksInOneSubSelect(t *testing.T) {
	h := func(context.Context, Message) error { return nil }
	sql, _ := claimStatement(store.Postgres, []Topic{{Name: "a", Handle: h}})
	if !strings.Contains(sql, "id = ANY(ARRAY(") || !strings.Contains(sql, "FOR UPDATE SKIP LOCKED))") {
		t.Errorf("the PostgreSQL claim does not lock its rows in an ARRAY sub-select:\n%s", sql)
	}
}

// TestClaimReadsTheIndexInOrder: with statistics taken while the table was
// empty and a backlog since, PostgreSQL would read and sort every pending
// row for each claim; the claim's setting (claimUnsorted) has it walk the
// pending index in order instead, and the plan holds no sort.
func TestClaimReadsTheIndexInOrder(t *testing.T) {
	s := storetest.Migrated(t, storetest.PostgresDSN(t))
	ctx := t.Context()
	if _, err := s.Exec(ctx, `ANALYZE outbox`); err != nil { // empty: few pending rows, say the statistics
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := s.Exec(ctx, `INSERT INTO outbox (id, topic, payload, next_attempt_at, created_at)
		SELECT 'm-' || g, 'withdrawal.submit', '\x00'::bytea, $1::timestamptz - g * interval '1 millisecond', $1
		FROM generate_series(1, 5000) AS g`, now); err != nil {
		t.Fatal(err)
	}
	h := func(context.Context, Message) error { return nil }
	query, args := claimStatement(store.Postgres, []Topic{{Name: "withdrawal.submit", Handle: h}})
	plan := func(unsorted bool) string {
		return explain(t, s, query, append([]any{now, now.Add(time.Minute), 32}, args...), unsorted)
	}
	if got := plan(true); strings.Contains(got, "Sort") || !strings.Contains(got, "outbox_pending_idx") {
		t.Errorf("the claim's plan sorts, or does not use the pending index:\n%s", got)
	}
	if got := plan(false); !strings.Contains(got, "Sort") {
		t.Logf("without the setting PostgreSQL did not sort either (its choice; the test above stands):\n%s", got)
	}
}

// explain is the plan of query with args, in a transaction rolled back,
// with the claim's setting when unsorted.
func explain(t *testing.T, s *store.Store, query string, args []any, unsorted bool) string {
	t.Helper()
	ctx := t.Context()
	var lines []string
	err := s.Tx(ctx, func(tx *store.Tx) error {
		if unsorted {
			if _, err := tx.Exec(ctx, claimUnsorted); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, `EXPLAIN `+query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			lines = append(lines, line)
		}
		return errors.Join(rows.Err(), errors.New("only a plan")) // roll back
	})
	if err == nil || len(lines) == 0 {
		t.Fatalf("explain: %v", err)
	}
	return strings.Join(lines, "\n")
}

// The first lane finds each topic's due rows through its own index, even
// behind a backlog of background rows that came after the statistics: no
// scan of the backlog, no sort. And it claims them, however many topics
// it binds.
func TestFirstLaneReadsEachTopicsRows(t *testing.T) {
	s := storetest.Migrated(t, storetest.PostgresDSN(t))
	ctx := t.Context()
	if _, err := s.Exec(ctx, `ANALYZE outbox`); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := s.Exec(ctx, `INSERT INTO outbox (id, topic, payload, next_attempt_at, created_at)
		SELECT 'n-' || g, 'notify.wechat', '\x00'::bytea, $1::timestamptz - g * interval '1 millisecond', $1
		FROM generate_series(1, 5000) AS g
		UNION ALL SELECT 'w-' || g, 'withdrawal.submit', '\x00'::bytea, $1::timestamptz - g * interval '1 second', $1
		FROM generate_series(1, 10) AS g`, now); err != nil {
		t.Fatal(err)
	}
	h := func(context.Context, Message) error { return nil }
	first, _ := claimLanes(store.Postgres, []Topic{{Name: "withdrawal.submit", Handle: h}, {Name: "transfer.send", Handle: h},
		{Name: "notify.wechat", Handle: h, Background: true}})
	args := append([]any{now, now.Add(time.Minute), 32}, first.args...)
	if got := explain(t, s, first.sql, args, false); strings.Contains(got, "Sort") || strings.Contains(got, "Seq Scan") ||
		strings.Count(got, "outbox_due_topic_idx") != 2 {
		t.Errorf("the first lane's plan sorts or scans, or does not read each topic from its index:\n%s", got)
	}
	var ids []string
	err := s.Tx(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(ctx, first.sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, topic string
			var payload []byte
			var attempts int
			var created time.Time
			var trace sql.NullString
			if err := rows.Scan(&id, &topic, &payload, &attempts, &created, &trace); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil || len(ids) != 10 || !strings.HasPrefix(ids[0], "w-") {
		t.Fatalf("the first lane claimed %v (%v), want the 10 submissions", ids, err)
	}
}
