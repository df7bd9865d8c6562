-- 0034_staff (SQLite): the centre's staff accounts and the per-minute
-- activity counters behind the supervision dashboard (issue 20, part 4).
-- Time columns hold INTEGER unix microseconds, as in 0001.
--
-- staff_accounts is owned by services/staff. Passwords are kept as
-- argon2id hashes in PHC string form ($argon2id$v=19$m=...,t=...,p=...$salt$hash);
-- a TOTP secret, when one is enrolled, is sealed at rest bound to its
-- staff id (store.SealText). Rows are never deleted: a staff member who
-- leaves is disabled, so that the audit trail's "staff:<id>" keeps naming
-- somebody.
CREATE TABLE staff_accounts (
    staff_id            TEXT        PRIMARY KEY,
    name                TEXT        NOT NULL,
    password_hash       TEXT        NOT NULL,
    totp_secret         TEXT        NOT NULL DEFAULT '',
    status              TEXT        NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at          TIMESTAMP   NOT NULL,
    updated_at          TIMESTAMP   NOT NULL,
    password_changed_at TIMESTAMP   NOT NULL
);

-- activity_minutes is owned by services/supervision: what handheld has no
-- other record of (core calls and their latency, rate-limit refusals),
-- counted in memory by each replica and added here once a minute. One row
-- per minute (UTC, truncated), replica, metric and label; a replica that
-- flushes the same minute twice adds to its row. le_<ms> count the calls
-- that took at most that many milliseconds, for percentiles.
CREATE TABLE activity_minutes (
    minute   TIMESTAMP   NOT NULL,
    replica  TEXT        NOT NULL,
    metric   TEXT        NOT NULL,
    label    TEXT        NOT NULL,
    n        INTEGER     NOT NULL DEFAULT 0,
    failures INTEGER     NOT NULL DEFAULT 0,
    sum_ms   INTEGER     NOT NULL DEFAULT 0,
    max_ms   INTEGER     NOT NULL DEFAULT 0,
    le_50    INTEGER     NOT NULL DEFAULT 0,
    le_100   INTEGER     NOT NULL DEFAULT 0,
    le_250   INTEGER     NOT NULL DEFAULT 0,
    le_500   INTEGER     NOT NULL DEFAULT 0,
    le_1000  INTEGER     NOT NULL DEFAULT 0,
    le_2500  INTEGER     NOT NULL DEFAULT 0,
    le_5000  INTEGER     NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, replica, metric, label)
);
CREATE INDEX activity_minutes_metric_idx ON activity_minutes (metric, minute);

-- The dashboard reads the audit trail by time range and action (volumes,
-- outcomes, shares redeemed): an index on at serves the range on every
-- partition.
CREATE INDEX audit_log_at_idx ON audit_log (at, action);
