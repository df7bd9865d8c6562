-- 0028_audit_shards (PostgreSQL): the audit trail in shards, so that
-- replicas never queue on one lock. Owned by services/audit.
--
-- A sharded record belongs to the chain of its shard (`<replica>/<UTC
-- hour>`): shard_seq counts from 1 within it and prev_hash is the previous
-- record of the same shard. Records written before, or by a trail that is
-- not sharded, keep shard '' and the single chain by seq. seq stays the
-- trail's unique order, taken from audit_log_seq by sharded writers
-- (no lock) and after the tip by the single chain's.
ALTER TABLE audit_log ADD COLUMN shard TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN shard_seq BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX audit_log_shard_idx ON audit_log (shard, shard_seq) WHERE shard <> '';

CREATE SEQUENCE audit_log_seq;
SELECT setval('audit_log_seq', COALESCE((SELECT MAX(seq) FROM audit_log), 0) + 1, false);

-- Every shard, registered by the transaction that writes its first record:
-- what the hourly anchor lists without scanning the trail.
CREATE TABLE audit_shards (
    shard      TEXT        PRIMARY KEY,
    hour       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_shards_hour_idx ON audit_shards (hour);

-- Each closed hour's shards anchored in a root: the heads of every shard of
-- the hour (shard, last shard_seq, hash), chained to the previous anchor.
-- A record cut off a shard's end, or a shard slipped into an anchored hour,
-- no longer matches its anchor. Append-only like the trail.
CREATE TABLE audit_anchors (
    seq       BIGINT      PRIMARY KEY CHECK (seq > 0),
    hour      TEXT        NOT NULL UNIQUE,
    at        TIMESTAMPTZ NOT NULL,
    heads     TEXT        NOT NULL,
    prev_hash TEXT        NOT NULL,
    hash      TEXT        NOT NULL
);

CREATE TRIGGER audit_anchors_append_only
    BEFORE UPDATE OR DELETE ON audit_anchors
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_anchors_no_truncate
    BEFORE TRUNCATE ON audit_anchors
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
