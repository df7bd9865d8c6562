package audit

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"handheld/services"
	"handheld/services/store"
)

// shardHead is where a shard's chain ends, as read.
type shardHead struct {
	last    int64 // shard_seq of its last record
	hash    string
	lastSeq int64 // that record's seq, to point at
	// anchored is set when an anchor names the shard.
	anchored bool
}

// verifyShards walks every shard's chain, page by page in (shard,
// shard_seq) order, and returns each shard's head.
func verifyShards(ctx context.Context, s *store.Store, rep *Report) (map[string]shardHead, error) {
	heads := map[string]shardHead{}
	var (
		shard    string
		shardSeq int64
		prev     string
	)
	for {
		rows, err := s.Query(ctx, `SELECT `+rowColumns+`, shard, shard_seq FROM audit_log
			WHERE shard <> '' AND (shard > $1 OR (shard = $1 AND shard_seq > $2)) ORDER BY shard, shard_seq LIMIT $3`,
			shard, shardSeq, verifyPage)
		if err != nil {
			return nil, services.Errorf(services.CodeInternal, "audit: verify shards: %w", err)
		}
		n := 0
		for rows.Next() {
			var (
				sh  string
				ss  int64
				row storedRow
			)
			row, err = scanRow(func(dest ...any) error { return rows.Scan(append(dest, &sh, &ss)...) })
			if err != nil {
				rows.Close()
				return nil, services.Errorf(services.CodeInternal, "audit: verify shards: %w", err)
			}
			n++
			rep.Records++
			if sh != shard {
				shard, prev = sh, genesisHash
				rep.Shards++
				heads[sh] = shardHead{}
			}
			want := heads[sh].last + 1
			if rep.FirstBroken == 0 {
				switch {
				case ss != want:
					rep.FirstBroken, rep.Reason = row.seq, fmt.Sprintf("shard %s: record %d follows record %d: records missing", sh, ss, want-1)
				case row.prevHash != prev:
					rep.FirstBroken, rep.Reason = row.seq, fmt.Sprintf("shard %s: prev_hash is not the previous record's hash: a record was removed, replaced or moved", sh)
				case row.hash != shardHash(hashSuite(row.hash), sh, ss, row.rec, row.prevHash):
					rep.FirstBroken, rep.Reason = row.seq, fmt.Sprintf("shard %s: hash does not match the record's fields: the record was modified", sh)
				}
			}
			shardSeq, prev = ss, row.hash
			heads[sh] = shardHead{last: ss, hash: row.hash, lastSeq: row.seq}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, services.Errorf(services.CodeInternal, "audit: verify shards: %w", err)
		}
		if n < verifyPage {
			return heads, nil
		}
	}
}

// verifyAnchors checks the anchors' chain and each anchor against the
// shards' heads.
func verifyAnchors(ctx context.Context, s *store.Store, heads map[string]shardHead, rep *Report) error {
	rows, err := s.Query(ctx, `SELECT seq, hour, heads, prev_hash, hash FROM audit_anchors ORDER BY seq`)
	if err != nil {
		return services.Errorf(services.CodeInternal, "audit: verify anchors: %w", err)
	}
	defer rows.Close()
	prev, want := genesisHash, int64(1)
	anchored := map[string]bool{} // hours
	for rows.Next() {
		var (
			seq               int64
			hour, list, p, hh string
		)
		if err := rows.Scan(&seq, &hour, &list, &p, &hh); err != nil {
			return services.Errorf(services.CodeInternal, "audit: verify anchors: %w", err)
		}
		rep.Anchors++
		switch {
		case seq != want:
			return broken(rep, 1, "anchor %d follows anchor %d: anchors missing", seq, want-1)
		case p != prev:
			return broken(rep, 1, "anchor %d (%s): prev_hash is not the previous anchor's hash", seq, hour)
		case hh != anchorHash(hashSuite(hh), seq, hour, list, p):
			return broken(rep, 1, "anchor %d (%s): hash does not match its fields: the anchor was modified", seq, hour)
		}
		if reason, at := checkHeads(hour, list, heads); reason != "" {
			return broken(rep, at, "anchor %d (%s): %s", seq, hour, reason)
		}
		anchored[hour] = true
		prev, want, rep.Anchor = hh, seq+1, hh
	}
	if err := rows.Err(); err != nil {
		return services.Errorf(services.CodeInternal, "audit: verify anchors: %w", err)
	}
	for sh, h := range heads {
		if hour := sh[strings.LastIndexByte(sh, '/')+1:]; anchored[hour] && !h.anchored {
			return broken(rep, h.lastSeq, "shard %s is not in its hour's anchor: slipped in after the hour was anchored", sh)
		}
	}
	return nil
}

// checkHeads compares an anchor's list with the shards as read, marking
// the shards it names; it says what differs and the record to point at.
func checkHeads(hour, list string, heads map[string]shardHead) (string, int64) {
	for line := range strings.SplitSeq(list, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			return "malformed head " + strconv.Quote(line), 1
		}
		last, _ := strconv.ParseInt(f[1], 10, 64)
		h, ok := heads[f[0]]
		switch {
		case !strings.HasSuffix(f[0], "/"+hour):
			return "names shard " + f[0] + " of another hour", 1
		case !ok:
			return "shard " + f[0] + " is gone", 1
		case h.last < last:
			return fmt.Sprintf("shard %s ends at record %d, anchored at %d: records cut off its end", f[0], h.last, last), h.lastSeq
		case h.last > last:
			return fmt.Sprintf("shard %s goes on past record %d, where it was anchored: records added", f[0], last), h.lastSeq
		case h.hash != f[2]:
			return fmt.Sprintf("shard %s's head is not the anchored one", f[0]), h.lastSeq
		}
		h.anchored = true
		heads[f[0]] = h
	}
	return "", 0
}

// broken records the first problem found.
func broken(rep *Report, at int64, format string, args ...any) error {
	rep.FirstBroken, rep.Reason = max(at, 1), fmt.Sprintf(format, args...)
	return nil
}
