package audit

import (
	"context"
	"fmt"

	"handheld/services"
	"handheld/services/store"
)

// Report is what Verify found. A trail is intact when FirstBroken is 0.
type Report struct {
	Records     int64  // rows read, the whole trail
	FirstBroken int64  // seq of the first row that does not chain; 0 if none
	Reason      string // why that row does not chain; "" if none
	// Head is the hash of the single chain's last row. The chain cannot
	// show that rows were cut off its end, or forged onto it by someone
	// who knows this encoding: publishing Head elsewhere from time to time
	// (a log shipper, a supervisor's mailbox) and comparing later does.
	Head string
	// Shards and Anchors count the shards and the hourly anchors read;
	// Anchor is the last anchor's hash, the sharded trail's Head.
	Shards  int
	Anchors int
	Anchor  string
}

// verifyPage is how many rows Verify reads per query. Paging by seq keeps
// memory constant and holds no snapshot (PostgreSQL) or read lock (SQLite)
// for the whole walk, which may take minutes on a large trail.
const verifyPage = 1000

// Verify walks the whole trail in seq order and checks that each row chains
// onto the one before: seq follows without a gap, prev_hash is the previous
// row's hash, and hash is the hash of the row's own fields. A field
// modified shows as a hash mismatch at that row; a row deleted as a gap at
// the next; rows swapped, renumbered or slipped in as a mismatch at the
// first of them. The error is for a trail that could not be read; a broken
// chain is a Report.
//
// Rows appended while Verify runs are checked too when it reaches them.
//
// Then each shard's chain is checked the same way (shard_seq from 1), and
// the anchors: chained one to the next, each naming the head of every
// shard of its hour as it still is (a record cut off a shard's end, or
// added after its hour was anchored, shows), and no shard of an anchored
// hour left out (one slipped in later shows). The first problem found is
// reported, single chain first, then shards in name order, then anchors.
func Verify(ctx context.Context, s *store.Store) (Report, error) {
	// Once shards exist they take seqs too, and the single chain's may
	// skip some (rows it wrote while shards were written, as in a rolling
	// upgrade): prev_hash still links it, and shows a row removed.
	var shards int
	if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM audit_shards`).Scan(&shards); err != nil {
		return Report{}, services.Errorf(services.CodeInternal, "audit: verify: %w", err)
	}
	rep, err := verifySingle(ctx, s, shards == 0)
	if err != nil || rep.FirstBroken != 0 {
		return rep, err
	}
	heads, err := verifyShards(ctx, s, &rep)
	if err != nil || rep.FirstBroken != 0 {
		return rep, err
	}
	return rep, verifyAnchors(ctx, s, heads, &rep)
}

// verifySingle walks the single chain (shard ”).
func verifySingle(ctx context.Context, s *store.Store, contiguous bool) (Report, error) {
	var (
		rep     Report
		last    int64 // seq of the last row read
		prev    = genesisHash
		wantSeq = int64(1)
	)
	rep.Head = genesisHash
	for {
		n, err := verifyRows(ctx, s, last, func(row storedRow) {
			rep.Records++
			last = row.seq
			if rep.FirstBroken == 0 {
				if !contiguous {
					wantSeq = row.seq
				}
				if reason := brokenLink(row, wantSeq, prev); reason != "" {
					rep.FirstBroken, rep.Reason = row.seq, reason
				}
			}
			wantSeq, prev, rep.Head = row.seq+1, row.hash, row.hash
		})
		if err != nil {
			return rep, services.Errorf(services.CodeInternal, "audit: verify after seq %d: %w", last, err)
		}
		if n < verifyPage {
			return rep, nil
		}
	}
}

// verifyRows reads the page of rows after seq and hands each to fn.
func verifyRows(ctx context.Context, s *store.Store, after int64, fn func(storedRow)) (int, error) {
	rows, err := s.Query(ctx, `SELECT `+rowColumns+` FROM audit_log WHERE shard = '' AND seq > $1 ORDER BY seq LIMIT $2`, after, verifyPage)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		row, err := scanRow(rows.Scan)
		if err != nil {
			return n, err
		}
		fn(row)
		n++
	}
	return n, rows.Err()
}

// brokenLink says why row does not follow a row whose successor should have
// wantSeq and prevHash, or "" when it does.
func brokenLink(row storedRow, wantSeq int64, prevHash string) string {
	switch {
	case row.seq != wantSeq:
		return fmt.Sprintf("seq %d follows seq %d: rows missing", row.seq, wantSeq-1)
	case row.prevHash != prevHash:
		return "prev_hash is not the previous row's hash: a row was removed, replaced or moved"
	case row.hash != chainHash(hashSuite(row.hash), row.seq, row.rec, row.prevHash):
		return "hash does not match the row's fields: the row was modified"
	}
	return ""
}
