-- 0029_audit_partitions (PostgreSQL): the audit trail, which is never
-- deleted, partitioned by month of `at`, so that a month can be archived
-- (detached, dumped, kept elsewhere) without touching the others and a
-- query of recent records reads recent partitions. Owned by services/audit,
-- which creates each month's partition ahead of time (audit.EnsurePartitions,
-- a daily scheduled job); the default partition catches a record outside
-- every month made so far.
--
-- A partitioned table's unique keys include the partition key: the
-- primary key becomes (seq, at) and the shards' (shard, shard_seq, at).
-- seq and shard_seq stay unique by how they are taken (the sequence, a
-- shard's lock) and `handheld audit verify` checks both.
ALTER TABLE audit_log RENAME TO audit_log_unpartitioned;
ALTER TABLE audit_log_unpartitioned RENAME CONSTRAINT audit_log_pkey TO audit_log_unpartitioned_pkey;
ALTER INDEX audit_log_subject_idx RENAME TO audit_log_unpartitioned_subject_idx;
ALTER INDEX audit_log_shard_idx RENAME TO audit_log_unpartitioned_shard_idx;

CREATE TABLE audit_log (
    seq        BIGINT      NOT NULL CHECK (seq > 0),
    at         TIMESTAMPTZ NOT NULL,
    subject    TEXT        NOT NULL,
    actor      TEXT        NOT NULL,
    channel    TEXT        NOT NULL,
    action     TEXT        NOT NULL,
    target     TEXT        NOT NULL,
    request_id TEXT        NOT NULL,
    result     TEXT        NOT NULL,
    prev_hash  TEXT        NOT NULL,
    hash       TEXT        NOT NULL,
    shard      TEXT        NOT NULL DEFAULT '',
    shard_seq  BIGINT      NOT NULL DEFAULT 0,
    PRIMARY KEY (seq, at)
) PARTITION BY RANGE (at);

CREATE INDEX audit_log_subject_idx ON audit_log (subject, seq);
CREATE UNIQUE INDEX audit_log_shard_idx ON audit_log (shard, shard_seq, at) WHERE shard <> '';
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;

-- A partition per month from the oldest record's to two months ahead.
DO $$
DECLARE
    m timestamp := date_trunc('month', COALESCE((SELECT MIN(at) FROM audit_log_unpartitioned), now()) AT TIME ZONE 'UTC');
BEGIN
    WHILE m <= date_trunc('month', now() AT TIME ZONE 'UTC') + interval '2 months' LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF audit_log FOR VALUES FROM (%L) TO (%L)',
            'audit_log_' || to_char(m, 'YYYY_MM'), m::text || '+00', (m + interval '1 month')::text || '+00');
        m := m + interval '1 month';
    END LOOP;
END
$$;

INSERT INTO audit_log (seq, at, subject, actor, channel, action, target, request_id, result, prev_hash, hash, shard, shard_seq)
SELECT seq, at, subject, actor, channel, action, target, request_id, result, prev_hash, hash, shard, shard_seq
FROM audit_log_unpartitioned;
DROP TABLE audit_log_unpartitioned;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
