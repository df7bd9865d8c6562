-- 0001_init (SQLite): the same tables as 0001_init.postgres.sql.
-- Time columns are declared TIMESTAMP and hold INTEGER unix microseconds;
-- the store's driver settings turn them into time.Time and back. Binary
-- columns are BLOB.

CREATE TABLE idempotency_keys (
    scope        TEXT      NOT NULL,
    key          TEXT      NOT NULL,
    request_hash TEXT      NOT NULL,
    status       INTEGER   NOT NULL DEFAULT 0,
    response     BLOB,
    created_at   TIMESTAMP NOT NULL,
    completed_at TIMESTAMP,
    PRIMARY KEY (scope, key)
);

CREATE TABLE outbox (
    id              TEXT      PRIMARY KEY NOT NULL,
    topic           TEXT      NOT NULL,
    payload         BLOB      NOT NULL,
    attempts        INTEGER   NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    delivered_at    TIMESTAMP,
    last_error      TEXT      NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL
);

CREATE INDEX outbox_pending_idx ON outbox (delivered_at, next_attempt_at);
