-- 0002_audit (SQLite): the same table as 0002_audit.postgres.sql. at holds
-- INTEGER unix microseconds (declared TIMESTAMP, as every time column).
-- Writers serialise on SQLite's write lock (BEGIN IMMEDIATE); seq is
-- assigned by the writer and has no gaps.
CREATE TABLE audit_log (
    seq        INTEGER   PRIMARY KEY NOT NULL CHECK (seq > 0),
    at         TIMESTAMP NOT NULL,
    subject    TEXT      NOT NULL,
    actor      TEXT      NOT NULL,
    channel    TEXT      NOT NULL,
    action     TEXT      NOT NULL,
    target     TEXT      NOT NULL,
    request_id TEXT      NOT NULL,
    result     TEXT      NOT NULL,
    prev_hash  TEXT      NOT NULL,
    hash       TEXT      NOT NULL
);

CREATE INDEX audit_log_subject_idx ON audit_log (subject, seq);

-- Append-only for the application; the hash chain catches whoever drops
-- these triggers.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused');
END;
