package audit

import (
	"strings"
	"testing"
	"time"

	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/suite"
)

// TestChainHashVector pins the encoding to a value computed outside Go
// (Python's hashlib, SHA-256 and OpenSSL's SM3, and struct.pack('>I', …)
// over the documented fields), so
// that a change to the encoding cannot pass unnoticed: it would make every
// trail already written fail Verify.
func TestChainHashVector(t *testing.T) {
	r := Record{
		// 16:09:10.123456789 in Beijing: hashed as 08:09:10.123456Z.
		At:        time.Date(2024, 3, 1, 16, 9, 10, 123456789, time.FixedZone("CST", 8*3600)),
		Subject:   "sub_7q",
		Actor:     "operator:ab12",
		Channel:   "kiosk",
		Action:    "read.account",
		Target:    "account:acc_9",
		RequestID: "req-1",
		Result:    "ok",
	}
	const want = "2b216a30edbc9d60630f058ad506f9a40f8f57f2354f7484fe26f65f9c94b491"
	if got := chainHash(suite.Intl, 7, r, genesisHash); got != want {
		t.Fatalf("chainHash = %s, want %s", got, want)
	}
	const wantSM3 = "sm3:6a93724df1a42fd84f7c41f5a6505aacb4e8cc5a90ebe3227256456644229823"
	if got := chainHash(suite.SM, 7, r, genesisHash); got != wantSM3 {
		t.Fatalf("chainHash under sm = %s, want %s", got, wantSM3)
	}
}

// TestChainHashCoversEveryField changes one input at a time, including
// moving characters from one field to its neighbour, which naive
// concatenation would not notice.
func TestChainHashCoversEveryField(t *testing.T) {
	base := rec(3)
	baseHash := chainHash(suite.Env(), 4, base, genesisHash)
	prevOther := strings.Repeat("1", 64)
	tests := map[string]struct {
		seq  int64
		prev string
		edit func(r *Record)
	}{
		"seq":        {seq: 5},
		"prev_hash":  {prev: prevOther},
		"at":         {edit: func(r *Record) { r.At = r.At.Add(time.Microsecond) }},
		"subject":    {edit: func(r *Record) { r.Subject += "x" }},
		"actor":      {edit: func(r *Record) { r.Actor += "x" }},
		"channel":    {edit: func(r *Record) { r.Channel = "app" }},
		"action":     {edit: func(r *Record) { r.Action = "read.loan" }},
		"target":     {edit: func(r *Record) { r.Target += "x" }},
		"request_id": {edit: func(r *Record) { r.RequestID += "x" }},
		"result":     {edit: func(r *Record) { r.Result = "denied" }},
		"subject→actor shift": {edit: func(r *Record) {
			r.Actor = r.Subject[len(r.Subject)-1:] + r.Actor
			r.Subject = r.Subject[:len(r.Subject)-1]
		}},
		"target→request_id": {edit: func(r *Record) { r.RequestID = r.Target + r.RequestID; r.Target = "" }},
		"empty subject":     {edit: func(r *Record) { r.Actor = r.Subject + r.Actor; r.Subject = "" }},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r, seq, prev := base, int64(4), genesisHash
			if tt.seq != 0 {
				seq = tt.seq
			}
			if tt.prev != "" {
				prev = tt.prev
			}
			if tt.edit != nil {
				tt.edit(&r)
			}
			if got := chainHash(suite.Env(), seq, r, prev); got == baseHash {
				t.Fatalf("changing %s left the hash at %s", name, got)
			}
		})
	}
	// Time zones do not matter, only the instant.
	r := base
	r.At = r.At.In(time.FixedZone("CST", 8*3600))
	if got := chainHash(suite.Env(), 4, r, genesisHash); got != baseHash {
		t.Fatalf("the same instant in another zone hashes to %s, want %s", got, baseHash)
	}
}

func TestInsertRowsChains(t *testing.T) {
	recs := []Record{rec(0), rec(1), rec(2)}
	query, args := insertRows(suite.Env(), recs, 41, "ab")
	if strings.Count(query, "(") != 4 || !strings.Contains(query, "$33") || strings.Contains(query, "$34") {
		t.Fatalf("query has the wrong shape: %s", query)
	}
	prev := "ab"
	for i := range recs {
		row := args[i*11 : (i+1)*11]
		seq := row[0].(int64)
		if seq != int64(42+i) || row[9] != prev || row[10] != chainHash(suite.Env(), seq, recs[i], prev) {
			t.Fatalf("row %d: seq %v prev %v hash %v do not chain", i, row[0], row[9], row[10])
		}
		prev = row[10].(string)
	}
}

// TestTrailThatChangesSuitesVerifies writes a trail under intl, then under
// sm (single chain and shards, anchored under each), and verifies every
// record with the function its stored hash names; a record whose SM3 hash
// is swapped for the SHA-256 of the same fields breaks the chain after it.
func TestTrailThatChangesSuitesVerifies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		appendN(t, newLog(t, s, Options{Suite: suite.Intl}), 3)
		appendN(t, newLog(t, s, Options{Suite: suite.SM}), 3)
		c := &hourClock{t: hour0.Add(10 * time.Minute)}
		appendN(t, newLog(t, s, Options{Now: c.Now, Replica: "pod-a", Suite: suite.Intl}), 2)
		c.Set(hour0.Add(70 * time.Minute))
		appendN(t, newLog(t, s, Options{Now: c.Now, Replica: "pod-a", Suite: suite.SM}), 2)
		if n, err := Anchor(t.Context(), s, suite.Intl, hour0.Add(65*time.Minute), 0); err != nil || n != 1 {
			t.Fatalf("Anchor(intl) = %d, %v", n, err)
		}
		if n, err := Anchor(t.Context(), s, suite.SM, hour0.Add(2*time.Hour+15*time.Minute), 10*time.Minute); err != nil || n != 1 {
			t.Fatalf("Anchor(sm) = %d, %v", n, err)
		}
		rep := mustVerify(t, s)
		if rep.Records != 10 || rep.FirstBroken != 0 || rep.Anchors != 2 || !strings.HasPrefix(rep.Anchor, sm3Prefix) {
			t.Fatalf("Verify = %+v", rep)
		}

		var hash string
		var r Record
		var seq int64
		var prev string
		if err := s.QueryRow(t.Context(), `SELECT seq, at, subject, actor, channel, action, target, request_id, result, prev_hash, hash
			FROM audit_log WHERE shard = '' AND seq = 5`).Scan(&seq, &r.At, &r.Subject, &r.Actor, &r.Channel, &r.Action, &r.Target,
			&r.RequestID, &r.Result, &prev, &hash); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(hash, sm3Prefix) || chainHash(suite.SM, seq, r, prev) != hash {
			t.Fatalf("record 5 hash %s", hash)
		}
		tamper(t, s, `UPDATE audit_log SET hash = '`+chainHash(suite.Intl, seq, r, prev)+`' WHERE shard = '' AND seq = 5`)
		if rep := mustVerify(t, s); rep.FirstBroken == 0 {
			t.Fatalf("a downgraded hash passed: %+v", rep)
		}
	})
}
