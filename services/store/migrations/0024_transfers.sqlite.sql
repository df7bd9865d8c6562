-- 0024_transfers (SQLite): transfers in from other centres through the national
-- platform (转移接续, issue 18 part 3). Owned by services/transfer.
--
-- One row per transfer. id is handheld's id, the platform's transfer_ref
-- and the core's idempotency key of the credit; the person's
-- Idempotency-Key and the request's hash live on the row, so the
-- transfer, its outbox row and the replayable answer commit together.
-- account_ref is the account's number at the old centre, sealed.
-- sequence is the platform's last status sequence recorded (callbacks and
-- polls with a sequence at or below it are duplicates); heard_at is when
-- the platform last told anything (the poller asks after a quiet while).
CREATE TABLE transfers (
    id              TEXT        PRIMARY KEY,
    case_number     TEXT        NOT NULL UNIQUE,
    subject         TEXT        NOT NULL,
    from_centre     TEXT        NOT NULL,
    centre_name     TEXT        NOT NULL,
    account_ref     TEXT        NOT NULL,
    amount_fen      BIGINT      NOT NULL DEFAULT 0 CHECK (amount_fen >= 0),
    platform_ref    TEXT        NOT NULL DEFAULT '',
    sequence        INTEGER     NOT NULL DEFAULT 0,
    status          TEXT        NOT NULL CHECK (status IN ('accepted', 'sent', 'accepted_by_old_centre', 'funds_moved',
                                                          'merged', 'refused', 'cancelled')),
    reason          TEXT        NOT NULL DEFAULT '',
    idempotency_key TEXT        NOT NULL,
    request_hash    TEXT        NOT NULL,
    locale          TEXT        NOT NULL,
    channel         TEXT        NOT NULL,
    created_at      TIMESTAMP   NOT NULL,
    updated_at      TIMESTAMP   NOT NULL,
    heard_at        TIMESTAMP   NOT NULL,
    due_on          TEXT        NOT NULL,
    UNIQUE (subject, idempotency_key)
);

-- At most one transfer in flight per person.
CREATE UNIQUE INDEX transfers_in_flight_idx ON transfers (subject)
    WHERE status IN ('accepted', 'sent', 'accepted_by_old_centre', 'funds_moved');
-- The person's list, newest first.
CREATE INDEX transfers_subject_idx ON transfers (subject, created_at);

-- Every status a transfer has had, once each, with when and why.
CREATE TABLE transfer_events (
    transfer_id TEXT        NOT NULL REFERENCES transfers (id),
    status      TEXT        NOT NULL,
    reason      TEXT        NOT NULL DEFAULT '',
    at          TIMESTAMP   NOT NULL,
    PRIMARY KEY (transfer_id, status)
);

-- Owned by services/transfer: one case per transfer (services/cases).
CREATE VIEW transfer_cases AS
SELECT id, subject, 'transfer_in' AS type, case_number, status, created_at, updated_at, due_on
FROM transfers;

-- A finished transfer is rated like any case: SQLite changes a CHECK only
-- by rebuilding the table.
CREATE TABLE ratings_new (
    case_id    TEXT        PRIMARY KEY,
    case_kind  TEXT        NOT NULL CHECK (case_kind IN ('withdrawal', 'certificate', 'transfer')),
    subject    TEXT        NOT NULL,
    level      INTEGER     NOT NULL CHECK (level BETWEEN 1 AND 5),
    comment    TEXT        NOT NULL DEFAULT '',
    created_at TIMESTAMP   NOT NULL,
    channel    TEXT        NOT NULL DEFAULT 'miniapp'
);
INSERT INTO ratings_new (case_id, case_kind, subject, level, comment, created_at, channel)
SELECT case_id, case_kind, subject, level, comment, created_at, channel FROM ratings;
DROP TABLE ratings;
ALTER TABLE ratings_new RENAME TO ratings;
