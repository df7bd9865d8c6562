-- 0001_init (PostgreSQL): the records every write path needs from day one.
-- Times are TIMESTAMPTZ (microseconds); the caller supplies them from its clock.

-- One row per (scope, Idempotency-Key): the first request claims the key,
-- a replay with the same request_hash gets the stored response, a replay
-- with a different one is refused. status is the HTTP status of the stored
-- response, 0 while the first request is still in flight.
CREATE TABLE idempotency_keys (
    scope        TEXT        NOT NULL,
    key          TEXT        NOT NULL,
    request_hash TEXT        NOT NULL,
    status       INTEGER     NOT NULL DEFAULT 0,
    response     BYTEA,
    created_at   TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ,
    PRIMARY KEY (scope, key)
);

-- Messages written in the same transaction as the record they announce and
-- delivered afterwards, at least once, by the outbox worker.
CREATE TABLE outbox (
    id              TEXT        PRIMARY KEY,
    topic           TEXT        NOT NULL,
    payload         BYTEA       NOT NULL,
    attempts        INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ,
    last_error      TEXT        NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL
);

-- The worker's query: undelivered rows (delivered_at IS NULL) that are due.
CREATE INDEX outbox_pending_idx ON outbox (delivered_at, next_attempt_at);
