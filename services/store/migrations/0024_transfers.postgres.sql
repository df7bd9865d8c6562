-- 0024_transfers (PostgreSQL): transfers in from other centres through the national
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
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    heard_at        TIMESTAMPTZ NOT NULL,
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
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (transfer_id, status)
);

-- Owned by services/transfer: one case per transfer (services/cases).
CREATE VIEW transfer_cases AS
SELECT id, subject, 'transfer_in' AS type, case_number, status, created_at, updated_at, due_on
FROM transfers;

-- A finished transfer is rated like any case.
ALTER TABLE ratings DROP CONSTRAINT ratings_case_kind_check;
ALTER TABLE ratings ADD CONSTRAINT ratings_case_kind_check CHECK (case_kind IN ('withdrawal', 'certificate', 'transfer'));
