package audit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"handheld/services/store"
	"handheld/services/suite"
)

// The chain's encoding. A row's hash is
//
//	H(lp(hashDomain) ‖ lp(seq) ‖ lp(at) ‖ lp(subject) ‖ lp(actor) ‖
//	            lp(channel) ‖ lp(action) ‖ lp(target) ‖ lp(request_id) ‖
//	            lp(result) ‖ lp(prev_hash)))
//
// where lp(x) is len(x) as 4 bytes big-endian followed by the bytes of x;
// seq is written in decimal, at in UTC as 2006-01-02T15:04:05.000000Z
// (RFC 3339 with exactly six fractional digits, the store's precision), and
// prev_hash is the previous row's hash in lower-case hex, or genesisHash for
// seq 1. The length prefixes make the encoding unambiguous: no two distinct
// rows encode alike, however their fields' characters are shifted about.
// The encoding is a format: changing it means a new hashDomain, never an
// edit in place.
const (
	hashDomain  = "handheld/audit/v1"
	atLayout    = "2006-01-02T15:04:05.000000Z07:00"
	genesisHash = "0000000000000000000000000000000000000000000000000000000000000000"
)

// chainLockKey is the PostgreSQL advisory lock that serialises writers of
// the chain across every replica ("hh-audit" in ASCII).
const chainLockKey int64 = 0x68682d6175646974

// chainHash is the hash of the row with this seq, record and previous hash.
func chainHash(su suite.Suite, seq int64, r Record, prevHash string) string {
	return lpHash(su, hashDomain, strconv.FormatInt(seq, 10), r.At.UTC().Format(atLayout), r.Subject, r.Actor,
		r.Channel, r.Action, r.Target, r.RequestID, r.Result, prevHash)
}

// insertChunk is how many rows one INSERT carries, as measured with
// BenchmarkAppend: on PostgreSQL a whole batch (fewer round trips; 256 rows
// of 11 parameters stay far below its limit of 65535), on SQLite, where
// there are no round trips and binding gets slower per parameter as the
// statement grows, a few (the single chain, the one SQLite has outside
// tests, goes through insertEach instead).
func insertChunk(d store.Dialect) int {
	if d == store.SQLite {
		return 8
	}
	return 256
}

// appendChain writes recs as the next rows of the chain in one transaction.
// The tip is read under the chain's lock — an advisory lock on PostgreSQL,
// the write lock that BEGIN IMMEDIATE takes on SQLite — so that every
// writer, in this process or another, extends the tip the last one left.
func appendChain(ctx context.Context, s *store.Store, su suite.Suite, recs []Record) error {
	return s.Tx(ctx, func(tx *store.Tx) error {
		if tx.Dialect() == store.Postgres {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, chainLockKey); err != nil {
				return fmt.Errorf("lock chain: %w", err)
			}
		}
		seq, prev, err := tip(ctx, tx)
		if err != nil {
			return err
		}
		if tx.Dialect() == store.SQLite {
			return insertEach(ctx, tx, su, recs, seq, prev)
		}
		step := insertChunk(tx.Dialect())
		for start := 0; start < len(recs); start += step {
			chunk := recs[start:min(start+step, len(recs))]
			query, args := insertRows(su, chunk, seq, prev)
			if _, err := tx.Exec(ctx, query, args...); err != nil {
				return fmt.Errorf("insert: %w", err)
			}
			seq += int64(len(chunk))
			prev = args[len(args)-1].(string) // the hash of the chunk's last row
		}
		if tx.Dialect() == store.Postgres {
			// Sharded writers number from the sequence: keep it past
			// what this chain took.
			if _, err := tx.Exec(ctx, `SELECT setval('audit_log_seq', GREATEST($1, (SELECT last_value FROM audit_log_seq)))`, seq); err != nil {
				return fmt.Errorf("advance seq: %w", err)
			}
		}
		return nil
	})
}

// tip is the trail's largest seq, after which the chain's next rows are
// numbered, and the hash of the single chain's last row: (0, genesisHash)
// for an empty trail. Sharded records (shard.go) take seqs too, so the
// single chain's may skip some: it is linked by prev_hash.
func tip(ctx context.Context, tx *store.Tx) (int64, string, error) {
	var (
		seq  int64
		hash string
	)
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_log`).Scan(&seq); err != nil {
		return 0, "", fmt.Errorf("read chain tip: %w", err)
	}
	err := tx.QueryRow(ctx, `SELECT hash FROM audit_log WHERE shard = '' ORDER BY seq DESC LIMIT 1`).Scan(&hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return seq, genesisHash, nil
	case err != nil:
		return 0, "", fmt.Errorf("read chain tip: %w", err)
	}
	return seq, hash, nil
}

// insertEach writes recs after the row with seq and hash prev one row at a
// time through one prepared statement: on SQLite, where a statement has no
// round trip to save, parsing it is the larger cost (a third less time per
// record than multi-row INSERTs of 8 parsed anew, BenchmarkAppend).
func insertEach(ctx context.Context, tx *store.Tx, su suite.Suite, recs []Record, seq int64, prev string) error {
	query, _ := insertRows(su, recs[:1], seq, prev)
	st, err := tx.Prepare(ctx, query)
	if err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	args := make([]any, 0, chainColumns)
	for _, r := range recs {
		seq++
		args = rowArgs(args[:0], su, seq, r, prev)
		if _, err := st.Exec(ctx, args...); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		prev = args[len(args)-1].(string)
	}
	return nil
}

// chainColumns is how many columns a chained row inserts (rowArgs).
const chainColumns = 11

// rowArgs appends the insert arguments of r, chained as row seq after the
// row whose hash is prev; the last one is r's own hash.
func rowArgs(args []any, su suite.Suite, seq int64, r Record, prev string) []any {
	return append(args, seq, r.At, r.Subject, r.Actor, r.Channel, r.Action, r.Target, r.RequestID, r.Result,
		prev, chainHash(su, seq, r, prev))
}

// insertRows builds one multi-row INSERT for recs, chained after the row
// with seq and hash prev. The last argument is the last row's hash.
func insertRows(su suite.Suite, recs []Record, seq int64, prev string) (string, []any) {
	var b strings.Builder
	b.WriteString(`INSERT INTO audit_log (seq, at, subject, actor, channel, action, target, request_id, result, prev_hash, hash) VALUES `)
	args := make([]any, 0, chainColumns*len(recs))
	for i, r := range recs {
		seq++
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range chainColumns {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(len(args) + c + 1))
		}
		b.WriteByte(')')
		args = rowArgs(args, su, seq, r, prev)
		prev = args[len(args)-1].(string)
	}
	return b.String(), args
}

// storedRow is a row as read back, for Verify and List.
type storedRow struct {
	seq      int64
	rec      Record
	prevHash string
	hash     string
}

// rowColumns are the columns scanRow reads, in its order.
const rowColumns = `seq, at, subject, actor, channel, action, target, request_id, result, prev_hash, hash`

// scanRow reads one row selected with rowColumns.
func scanRow(scan func(dest ...any) error) (storedRow, error) {
	var (
		row storedRow
		at  time.Time
	)
	r := &row.rec
	if err := scan(&row.seq, store.ScanTime(&at), &r.Subject, &r.Actor, &r.Channel, &r.Action, &r.Target,
		&r.RequestID, &r.Result, &row.prevHash, &row.hash); err != nil {
		return storedRow{}, err
	}
	r.At = at
	return row, nil
}
