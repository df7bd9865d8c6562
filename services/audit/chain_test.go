package audit

import (
	"strings"
	"testing"
	"time"
)

// TestChainHashVector pins the encoding to a value computed outside Go
// (Python's hashlib and struct.pack('>I', …) over the documented fields), so
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
	if got := chainHash(7, r, genesisHash); got != want {
		t.Fatalf("chainHash = %s, want %s", got, want)
	}
}

// TestChainHashCoversEveryField changes one input at a time, including
// moving characters from one field to its neighbour, which naive
// concatenation would not notice.
func TestChainHashCoversEveryField(t *testing.T) {
	base := rec(3)
	baseHash := chainHash(4, base, genesisHash)
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
			if got := chainHash(seq, r, prev); got == baseHash {
				t.Fatalf("changing %s left the hash at %s", name, got)
			}
		})
	}
	// Time zones do not matter, only the instant.
	r := base
	r.At = r.At.In(time.FixedZone("CST", 8*3600))
	if got := chainHash(4, r, genesisHash); got != baseHash {
		t.Fatalf("the same instant in another zone hashes to %s, want %s", got, baseHash)
	}
}

func TestInsertRowsChains(t *testing.T) {
	recs := []Record{rec(0), rec(1), rec(2)}
	query, args := insertRows(recs, 41, "ab")
	if strings.Count(query, "(") != 4 || !strings.Contains(query, "$33") || strings.Contains(query, "$34") {
		t.Fatalf("query has the wrong shape: %s", query)
	}
	prev := "ab"
	for i := range recs {
		row := args[i*11 : (i+1)*11]
		seq := row[0].(int64)
		if seq != int64(42+i) || row[9] != prev || row[10] != chainHash(seq, recs[i], prev) {
			t.Fatalf("row %d: seq %v prev %v hash %v do not chain", i, row[0], row[9], row[10])
		}
		prev = row[10].(string)
	}
}
