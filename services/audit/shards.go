package audit

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"handheld/services/store"
	"handheld/services/suite"
)

// A sharded trail (Options.Replica set) writes each batch to the chain of
// its shard, `<replica>/<UTC hour>`, so that replicas never wait for one
// another: each holds its own shard's lock, which only its own writer
// takes. A shard's record hashes as
//
//	H(lp(shardDomain) ‖ lp(shard) ‖ lp(shard_seq) ‖ lp(at) ‖
//	            lp(subject) ‖ lp(actor) ‖ lp(channel) ‖ lp(action) ‖
//	            lp(target) ‖ lp(request_id) ‖ lp(result) ‖ lp(prev_hash)))
//
// with lp and the field formats of the single chain (chain.go), shard_seq
// counting from 1 in each shard and prev_hash genesisHash for its first.
// Every closed hour's shards are anchored (Anchor): their heads, chained to
// the previous hour's anchor, so that a shard cut short or slipped in
// afterwards shows.
const (
	shardDomain  = "handheld/audit/shard/v1"
	anchorDomain = "handheld/audit/anchor/v1"
	hourLayout   = "2006-01-02T15"
)

// anchorLockKey serialises anchoring across replicas ("hh-ancho").
const anchorLockKey int64 = 0x68682d616e63686f

// sm3Prefix starts every hash made under the sm suite; a hash without it
// is SHA-256. Each stored hash thus names its function, so a trail that
// changed suites part-way still verifies record by record.
const sm3Prefix = "sm3:"

// lpHash is the hash of the length-prefixed fields under su: the lower-case
// hex of SHA-256 under intl, sm3Prefix and the hex of SM3 under sm.
func lpHash(su suite.Suite, fields ...string) string {
	h := su.Hash()
	var n [4]byte
	for _, f := range fields {
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	if su == suite.SM {
		return sm3Prefix + hex.EncodeToString(h.Sum(nil))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashSuite is the suite a stored hash was made under.
func hashSuite(hash string) suite.Suite {
	if strings.HasPrefix(hash, sm3Prefix) {
		return suite.SM
	}
	return suite.Intl
}

// shardHash is the hash of a shard's record.
func shardHash(su suite.Suite, shard string, shardSeq int64, r Record, prev string) string {
	return lpHash(su, shardDomain, shard, strconv.FormatInt(shardSeq, 10), r.At.UTC().Format(atLayout), r.Subject, r.Actor,
		r.Channel, r.Action, r.Target, r.RequestID, r.Result, prev)
}

// HourKey is how an hour is written in shard names and anchors.
func HourKey(t time.Time) string { return t.UTC().Format(hourLayout) }

// ShardOf names the shard a replica writes to at t.
func ShardOf(replica string, t time.Time) string { return replica + "/" + HourKey(t) }

// appendShard writes recs as the next records of shard, in one
// transaction under the shard's own lock.
func appendShard(ctx context.Context, s *store.Store, su suite.Suite, shard, hour string, recs []Record, now time.Time) error {
	return s.Tx(ctx, func(tx *store.Tx) error {
		pg := tx.Dialect() == store.Postgres
		if pg {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, shard); err != nil {
				return fmt.Errorf("lock shard: %w", err)
			}
		}
		var (
			last int64
			prev = genesisHash
		)
		err := tx.QueryRow(ctx, `SELECT shard_seq, hash FROM audit_log WHERE shard = $1 ORDER BY shard_seq DESC LIMIT 1`, shard).Scan(&last, &prev)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if _, err := tx.Exec(ctx, `INSERT INTO audit_shards (shard, hour, created_at) VALUES ($1, $2, $3)`,
				shard, hour, store.Timestamp(now)); err != nil {
				return fmt.Errorf("register shard: %w", err)
			}
		case err != nil:
			return fmt.Errorf("read shard tip: %w", err)
		}
		// seq is the trail's order: a sequence on PostgreSQL (no lock
		// shared with other shards), after the largest on SQLite, whose
		// single writer holds the file.
		seq := int64(-1)
		if !pg {
			if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_log`).Scan(&seq); err != nil {
				return fmt.Errorf("read seq: %w", err)
			}
		}
		step := insertChunk(tx.Dialect())
		for start := 0; start < len(recs); start += step {
			chunk := recs[start:min(start+step, len(recs))]
			query, args, head := insertShardRows(su, chunk, shard, last, prev, seq)
			if _, err := tx.Exec(ctx, query, args...); err != nil {
				return fmt.Errorf("insert: %w", err)
			}
			last += int64(len(chunk))
			if seq >= 0 {
				seq += int64(len(chunk))
			}
			prev = head
		}
		return nil
	})
}

// insertShardRows builds one INSERT for recs after the shard's record
// last with hash prev. seq < 0 takes each row's seq from audit_log_seq.
// It returns the hash of the last row too.
func insertShardRows(su suite.Suite, recs []Record, shard string, last int64, prev string, seq int64) (string, []any, string) {
	var b strings.Builder
	b.WriteString(`INSERT INTO audit_log (seq, at, subject, actor, channel, action, target, request_id, result, prev_hash, hash, shard, shard_seq) VALUES `)
	args := make([]any, 0, 13*len(recs))
	mark := func() string { return "$" + strconv.Itoa(len(args)) }
	for i, r := range recs {
		last++
		hash := shardHash(su, shard, last, r, prev)
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		if seq < 0 {
			b.WriteString(`nextval('audit_log_seq')`)
		} else {
			seq++
			args = append(args, seq)
			b.WriteString(mark())
		}
		for _, v := range []any{r.At, r.Subject, r.Actor, r.Channel, r.Action, r.Target, r.RequestID, r.Result, prev, hash, shard, last} {
			args = append(args, v)
			b.WriteString(", " + mark())
		}
		b.WriteByte(')')
		prev = hash
	}
	return b.String(), args, prev
}

// Anchor anchors every hour whose shards are closed — the hour ended
// settle ago or more — and not anchored yet, oldest first: one row per
// hour in audit_anchors with the head of each of its shards, chained to the
// previous anchor. It is safe to run on every replica at once, and again.
// It returns how many hours it anchored.
func Anchor(ctx context.Context, s *store.Store, su suite.Suite, now time.Time, settle time.Duration) (int, error) {
	closed := HourKey(now.Add(-settle).Add(-time.Hour))
	rows, err := s.Query(ctx, `SELECT DISTINCT hour FROM audit_shards
		WHERE hour <= $1 AND hour NOT IN (SELECT hour FROM audit_anchors) ORDER BY hour`, closed)
	if err != nil {
		return 0, fmt.Errorf("audit: anchor: %w", err)
	}
	var hours []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return 0, fmt.Errorf("audit: anchor: %w", err)
		}
		hours = append(hours, h)
	}
	rows.Close()
	n := 0
	for _, h := range hours {
		done, err := anchorHour(ctx, s, su, h, now)
		if err != nil {
			return n, fmt.Errorf("audit: anchor %s: %w", h, err)
		}
		if done {
			n++
		}
	}
	return n, nil
}

// anchorHour writes the anchor of one hour, unless another replica did.
func anchorHour(ctx context.Context, s *store.Store, su suite.Suite, hour string, now time.Time) (bool, error) {
	done := false
	err := s.Tx(ctx, func(tx *store.Tx) error {
		done = false
		if tx.Dialect() == store.Postgres {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, anchorLockKey); err != nil {
				return err
			}
		}
		var exists int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM audit_anchors WHERE hour = $1`, hour).Scan(&exists); err != nil || exists > 0 {
			return err
		}
		heads, err := hourHeads(ctx, tx, hour)
		if err != nil {
			return err
		}
		seq, prev := int64(0), genesisHash
		if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_anchors ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		seq++
		at := store.Timestamp(now)
		if _, err := tx.Exec(ctx, `INSERT INTO audit_anchors (seq, hour, at, heads, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6)`,
			seq, hour, at, heads, prev, anchorHash(su, seq, hour, heads, prev)); err != nil {
			return err
		}
		done = true
		return nil
	})
	return done, err
}

// anchorHash is an anchor's hash; heads is its list as stored.
func anchorHash(su suite.Suite, seq int64, hour, heads, prev string) string {
	return lpHash(su, anchorDomain, strconv.FormatInt(seq, 10), hour, heads, prev)
}

// hourHeads lists the head of each shard of an hour, one "shard last hash"
// line per shard in shard order.
func hourHeads(ctx context.Context, tx *store.Tx, hour string) (string, error) {
	rows, err := tx.Query(ctx, `SELECT shard FROM audit_shards WHERE hour = $1 ORDER BY shard`, hour)
	if err != nil {
		return "", err
	}
	var shards []string
	for rows.Next() {
		var sh string
		if err := rows.Scan(&sh); err != nil {
			rows.Close()
			return "", err
		}
		shards = append(shards, sh)
	}
	rows.Close()
	lines := make([]string, 0, len(shards))
	for _, sh := range shards {
		var (
			last int64
			hash string
		)
		if err := tx.QueryRow(ctx, `SELECT shard_seq, hash FROM audit_log WHERE shard = $1 ORDER BY shard_seq DESC LIMIT 1`, sh).
			Scan(&last, &hash); err != nil {
			return "", fmt.Errorf("head of %s: %w", sh, err)
		}
		lines = append(lines, sh+" "+strconv.FormatInt(last, 10)+" "+hash)
	}
	return strings.Join(lines, "\n"), nil
}
