package audit

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/suite"
)

// hourClock is a settable clock for the writers' shard hours.
type hourClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *hourClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *hourClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var hour0 = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

// shardedTrail writes 6 records from each of two replicas in hour0 and 4
// more each in the hour after, and anchors both hours: 4 shards, 2 anchors.
func shardedTrail(t *testing.T, s *store.Store) {
	t.Helper()
	c := &hourClock{t: hour0.Add(10 * time.Minute)}
	a, b := newLog(t, s, Options{Now: c.Now, Replica: "pod-a:1"}), newLog(t, s, Options{Now: c.Now, Replica: "pod b"})
	var wg sync.WaitGroup
	for _, l := range []*Log{a, b} {
		wg.Go(func() { appendN(t, l, 6) })
	}
	wg.Wait()
	c.Set(hour0.Add(70 * time.Minute))
	for _, l := range []*Log{a, b} {
		wg.Go(func() { appendN(t, l, 4) })
	}
	wg.Wait()
	// At 10:05 the 10:00 hour is still open and 09:00 not yet settled.
	if n, err := Anchor(t.Context(), s, suite.Env(), hour0.Add(65*time.Minute), 10*time.Minute); err != nil || n != 0 {
		t.Fatalf("anchor too early: %d %v", n, err)
	}
	if n, err := Anchor(t.Context(), s, suite.Env(), hour0.Add(2*time.Hour+15*time.Minute), 10*time.Minute); err != nil || n != 2 {
		t.Fatalf("anchor: %d %v", n, err)
	}
	if n, err := Anchor(t.Context(), s, suite.Env(), hour0.Add(3*time.Hour), 10*time.Minute); err != nil || n != 0 {
		t.Fatalf("anchor again: %d %v", n, err)
	}
}

func TestShardedTrailVerifiesEveryRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		appendN(t, newLog(t, s, Options{}), 3) // the single chain, from before shards
		shardedTrail(t, s)
		rep := mustVerify(t, s)
		if rep.Records != 23 || rep.FirstBroken != 0 || rep.Shards != 4 || rep.Anchors != 2 || len(strings.TrimPrefix(rep.Anchor, sm3Prefix)) != 64 {
			t.Fatalf("Verify = %+v", rep)
		}
		var shards []string
		rows, err := s.Query(t.Context(), `SELECT shard FROM audit_shards ORDER BY shard`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var sh string
			_ = rows.Scan(&sh)
			shards = append(shards, sh)
		}
		rows.Close()
		want := "pod-a:1/2026-12-06T09 pod-a:1/2026-12-06T10 pod-b/2026-12-06T09 pod-b/2026-12-06T10"
		if strings.Join(shards, " ") != want {
			t.Fatalf("shards %v, want %s", shards, want)
		}
		// seq stays the trail's one order: unique, after the single chain's.
		var distinct, low int
		if err := s.QueryRow(t.Context(), `SELECT COUNT(DISTINCT seq), MIN(seq) FROM audit_log WHERE shard <> ''`).Scan(&distinct, &low); err != nil {
			t.Fatal(err)
		}
		if distinct != 20 || low <= 3 {
			t.Fatalf("sharded seqs: %d distinct, lowest %d", distinct, low)
		}
	})
}

// tamperAnchors drops the anchors' append-only triggers, then runs stmts.
func tamperAnchors(t *testing.T, s *store.Store, stmts ...string) {
	t.Helper()
	drop := []string{`DROP TRIGGER audit_anchors_no_update`, `DROP TRIGGER audit_anchors_no_delete`}
	if s.Dialect() == store.Postgres {
		drop = []string{`ALTER TABLE audit_anchors DISABLE TRIGGER USER`}
	}
	for _, q := range append(drop, stmts...) {
		if _, err := s.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

const shardA9 = "pod-a:1/2026-12-06T09"

// forgeShardRecord appends a well-chained record to a shard, as someone who
// knows the encoding would.
func forgeShardRecord(shard string) func(*testing.T, *store.Store) {
	return func(t *testing.T, s *store.Store) {
		var (
			last int64
			prev string
		)
		if err := s.QueryRow(t.Context(), `SELECT shard_seq, hash FROM audit_log WHERE shard = $1 ORDER BY shard_seq DESC LIMIT 1`, shard).
			Scan(&last, &prev); err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		if prev == "" {
			prev = genesisHash
		}
		r := rec(99)
		r.At = store.Timestamp(r.At)
		query, args, _ := insertShardRows(suite.Env(), []Record{r}, shard, last, prev, 1000)
		if _, err := s.Exec(t.Context(), query, args...); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerifyFindsShardTampering(t *testing.T) {
	tests := []struct {
		name    string
		stmts   []string
		anchors []string
		then    func(*testing.T, *store.Store)
		reason  string
	}{
		{name: "record modified", stmts: []string{`UPDATE audit_log SET target = 'account:acc_x' WHERE shard = '` + shardA9 + `' AND shard_seq = 3`},
			reason: "the record was modified"},
		{name: "record deleted mid-shard", stmts: []string{`DELETE FROM audit_log WHERE shard = '` + shardA9 + `' AND shard_seq = 2`},
			reason: "records missing"},
		{name: "anchored shard's last record cut off", stmts: []string{`DELETE FROM audit_log WHERE shard = '` + shardA9 + `' AND shard_seq = 6`},
			reason: "records cut off its end"},
		{name: "record forged onto an anchored shard", then: forgeShardRecord(shardA9), reason: "records added"},
		{name: "shard slipped into an anchored hour", then: forgeShardRecord("pod-c/2026-12-06T09"), reason: "slipped in"},
		{name: "whole shard deleted", stmts: []string{`DELETE FROM audit_log WHERE shard = '` + shardA9 + `'`}, reason: "is gone"},
		{name: "anchor deleted", anchors: []string{`DELETE FROM audit_anchors WHERE seq = 1`}, reason: "anchors missing"},
		{name: "anchor's heads rewritten", anchors: []string{`UPDATE audit_anchors SET heads = 'x' WHERE seq = 2`}, reason: "the anchor was modified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, s *store.Store) {
				shardedTrail(t, s)
				wantIntact(t, s, 20)
				if len(tt.stmts) > 0 || tt.then != nil {
					tamper(t, s, tt.stmts...)
				}
				if tt.then != nil {
					tt.then(t, s)
				}
				if len(tt.anchors) > 0 {
					tamperAnchors(t, s, tt.anchors...)
				}
				rep := mustVerify(t, s)
				if rep.FirstBroken == 0 || !strings.Contains(rep.Reason, tt.reason) {
					t.Fatalf("Verify = %+v, want a break saying %q", rep, tt.reason)
				}
			})
		})
	}
}

// A single-chain writer alongside shards (a replica of the previous
// release during a rolling upgrade, or the bench): both verify, and
// neither takes the other's seq.
func TestSingleChainBesideShards(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		appendN(t, newLog(t, s, Options{}), 2)
		shardedTrail(t, s)
		appendN(t, newLog(t, s, Options{}), 3)
		c := &hourClock{t: hour0.Add(5 * time.Hour)}
		appendN(t, newLog(t, s, Options{Now: c.Now, Replica: "pod-a:1"}), 2)
		wantIntact(t, s, 27)
		tamper(t, s, `DELETE FROM audit_log WHERE shard = '' AND seq = (SELECT MAX(seq) FROM audit_log WHERE shard = '') - 1`)
		if rep := mustVerify(t, s); rep.FirstBroken == 0 || !strings.Contains(rep.Reason, "prev_hash") {
			t.Fatalf("a single-chain row removed beside shards: %+v", rep)
		}
	})
}

// The trail's months ahead get their partitions, once; SQLite has none.
func TestEnsurePartitions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		at := time.Date(2031, 11, 20, 0, 0, 0, 0, time.UTC)
		n, err := EnsurePartitions(t.Context(), s, at)
		if err != nil {
			t.Fatal(err)
		}
		if s.Dialect() != store.Postgres {
			if n != 0 {
				t.Fatalf("SQLite: %d partitions", n)
			}
			return
		}
		if n != 3 {
			t.Fatalf("made %d partitions for 2031-11..2032-01, want 3", n)
		}
		if n, err := EnsurePartitions(t.Context(), s, at.AddDate(0, 1, 0)); err != nil || n != 1 {
			t.Fatalf("a month on: %d %v, want 1 (2032-02)", n, err)
		}
		// A record of that month lands in its partition, not the default.
		r := rec(1)
		r.At = time.Date(2032, 1, 5, 0, 0, 0, 0, time.UTC)
		if err := newLog(t, s, Options{}).Append(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		var inMonth int
		if err := s.QueryRow(t.Context(), `SELECT COUNT(*) FROM audit_log_2032_01`).Scan(&inMonth); err != nil || inMonth != 1 {
			t.Fatalf("audit_log_2032_01 holds %d (%v)", inMonth, err)
		}
	})
}
