-- 0028_audit_shards (SQLite): the audit trail in shards, so that replicas
-- never queue on one lock. Owned by services/audit. On SQLite one writer
-- holds the file anyway: sharded writers take seq after the trail's
-- largest under that lock.
--
-- A sharded record belongs to the chain of its shard (`<replica>/<UTC
-- hour>`): shard_seq counts from 1 within it and prev_hash is the previous
-- record of the same shard. Records written before, or by a trail that is
-- not sharded, keep shard '' and the single chain by seq.
ALTER TABLE audit_log ADD COLUMN shard TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN shard_seq INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX audit_log_shard_idx ON audit_log (shard, shard_seq) WHERE shard <> '';

-- Every shard, registered by the transaction that writes its first record:
-- what the hourly anchor lists without scanning the trail.
CREATE TABLE audit_shards (
    shard      TEXT      PRIMARY KEY,
    hour       TEXT      NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_shards_hour_idx ON audit_shards (hour);

-- Each closed hour's shards anchored in a root: the heads of every shard of
-- the hour (shard, last shard_seq, hash), chained to the previous anchor.
CREATE TABLE audit_anchors (
    seq       INTEGER   PRIMARY KEY NOT NULL CHECK (seq > 0),
    hour      TEXT      NOT NULL UNIQUE,
    at        TIMESTAMP NOT NULL,
    heads     TEXT      NOT NULL,
    prev_hash TEXT      NOT NULL,
    hash      TEXT      NOT NULL
);

CREATE TRIGGER audit_anchors_no_update BEFORE UPDATE ON audit_anchors
BEGIN
    SELECT RAISE(ABORT, 'audit_anchors is append-only: UPDATE refused');
END;

CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
BEGIN
    SELECT RAISE(ABORT, 'audit_anchors is append-only: DELETE refused');
END;
