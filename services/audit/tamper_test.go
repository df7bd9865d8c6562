package audit

import (
	"strings"
	"testing"
	"time"

	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/suite"
)

func TestTrailIsAppendOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		appendN(t, newLog(t, s, Options{}), 3)
		refused := []string{
			`UPDATE audit_log SET subject = 'sub_x' WHERE seq = 2`,
			`DELETE FROM audit_log WHERE seq = 3`,
			`DELETE FROM audit_log`,
		}
		if s.Dialect() == store.Postgres {
			refused = append(refused, `TRUNCATE audit_log`)
		}
		for _, q := range refused {
			_, err := s.Exec(t.Context(), q)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v, want refused as append-only", q, err)
			}
		}
		wantIntact(t, s, 3)
	})
}

// TestVerifyFindsTampering tampers with a chain of 10 as an owner of the
// database could, and expects Verify to point at the first row affected.
func TestVerifyFindsTampering(t *testing.T) {
	const forgedAt = 6 // where "insert" slips in a row
	tests := []struct {
		name  string
		stmts []string
		then  func(t *testing.T, s *store.Store) // tampering SQL alone cannot do
		want  int64
	}{
		{"field modified", []string{`UPDATE audit_log SET target = 'account:acc_other' WHERE seq = 4`}, nil, 4},
		{"result flipped", []string{`UPDATE audit_log SET result = 'denied' WHERE seq = 7`}, nil, 7},
		{"time moved by a microsecond", nil, shiftTime(8), 8},
		{"hash recomputed by the tamperer", nil, rewriteRow(4), 5},
		{"middle row deleted", []string{`DELETE FROM audit_log WHERE seq = 4`}, nil, 5},
		{"first row deleted", []string{`DELETE FROM audit_log WHERE seq = 1`}, nil, 2},
		{"contents swapped", []string{ // rows 3 and 5 hold rec(2) and rec(4)
			`UPDATE audit_log SET target = 'account:acc_4', request_id = 'req-4' WHERE seq = 3`,
			`UPDATE audit_log SET target = 'account:acc_2', request_id = 'req-2' WHERE seq = 5`,
		}, nil, 3},
		{"rows swapped with their hashes", []string{
			`UPDATE audit_log SET seq = 102 WHERE seq = 2`,
			`UPDATE audit_log SET seq = 2 WHERE seq = 3`,
			`UPDATE audit_log SET seq = 3 WHERE seq = 102`,
		}, nil, 2},
		{"row inserted", []string{
			`UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 6`,
			`UPDATE audit_log SET seq = seq - 999 WHERE seq > 1000`,
		}, forgeRow(forgedAt), forgedAt + 1}, // the forged row itself chains; the next does not
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, s *store.Store) {
				appendN(t, newLog(t, s, Options{}), 10)
				wantIntact(t, s, 10)
				tamper(t, s, tt.stmts...)
				if tt.then != nil {
					tt.then(t, s)
				}
				rep := mustVerify(t, s)
				if rep.FirstBroken != tt.want || rep.Reason == "" {
					t.Fatalf("Verify = %+v, want FirstBroken %d with a reason", rep, tt.want)
				}
				t.Logf("reason: %s", rep.Reason)
			})
		})
	}
}

// rewriteRow changes row seq's target and gives it the hash that goes with
// it, as someone who knows the encoding would.
func rewriteRow(seq int64) func(*testing.T, *store.Store) {
	return func(t *testing.T, s *store.Store) {
		row, err := scanRow(s.QueryRow(t.Context(), `SELECT `+rowColumns+` FROM audit_log WHERE seq = $1`, seq).Scan)
		if err != nil {
			t.Fatal(err)
		}
		row.rec.Target = "account:acc_other"
		hash := chainHash(suite.Env(), seq, row.rec, row.prevHash)
		if _, err := s.Exec(t.Context(), `UPDATE audit_log SET target = $1, hash = $2 WHERE seq = $3`, row.rec.Target, hash, seq); err != nil {
			t.Fatal(err)
		}
	}
}

// shiftTime moves row seq's time by one microsecond, the store's precision.
func shiftTime(seq int64) func(*testing.T, *store.Store) {
	return func(t *testing.T, s *store.Store) {
		row, err := scanRow(s.QueryRow(t.Context(), `SELECT `+rowColumns+` FROM audit_log WHERE seq = $1`, seq).Scan)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Exec(t.Context(), `UPDATE audit_log SET at = $1 WHERE seq = $2`, row.rec.At.Add(time.Microsecond), seq); err != nil {
			t.Fatal(err)
		}
	}
}

// forgeRow inserts a well-chained row at seq, after the rows below it were
// moved up by one to make room.
func forgeRow(seq int64) func(*testing.T, *store.Store) {
	return func(t *testing.T, s *store.Store) {
		var prev string
		if err := s.QueryRow(t.Context(), `SELECT hash FROM audit_log WHERE seq = $1`, seq-1).Scan(&prev); err != nil {
			t.Fatal(err)
		}
		r := rec(99)
		r.At = store.Timestamp(r.At)
		query, args := insertRows(suite.Env(), []Record{r}, seq-1, prev)
		if _, err := s.Exec(t.Context(), query, args...); err != nil {
			t.Fatal(err)
		}
	}
}
