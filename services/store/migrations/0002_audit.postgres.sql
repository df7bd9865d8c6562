-- 0002_audit (PostgreSQL): the audit trail that the law on personal data
-- asks for — every sign-in, binding, session event and read of personal
-- data. Rows are chained: hash is SHA-256 over the row's fields and
-- prev_hash, the previous row's hash (services/audit documents the exact
-- encoding), so a row modified, removed, reordered or inserted afterwards
-- breaks the chain and audit.Verify reports where.
--
-- seq is assigned by the writer, not by a sequence: it is part of the hash
-- and must have no gaps. Writers serialise on an advisory lock; the primary
-- key refuses a second row with the same seq should one ever bypass it.
-- Fields hold identifiers only, never names, ID numbers, phones or cards.
CREATE TABLE audit_log (
    seq        BIGINT      PRIMARY KEY CHECK (seq > 0),
    at         TIMESTAMPTZ NOT NULL,
    subject    TEXT        NOT NULL,
    actor      TEXT        NOT NULL,
    channel    TEXT        NOT NULL,
    action     TEXT        NOT NULL,
    target     TEXT        NOT NULL,
    request_id TEXT        NOT NULL,
    result     TEXT        NOT NULL,
    prev_hash  TEXT        NOT NULL,
    hash       TEXT        NOT NULL
);

-- "Who saw my data": one person's records, newest first, page by page.
CREATE INDEX audit_log_subject_idx ON audit_log (subject, seq);

-- Append-only for the application: UPDATE, DELETE and TRUNCATE are refused.
-- A database owner can still drop the triggers; the hash chain is what
-- catches that.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
