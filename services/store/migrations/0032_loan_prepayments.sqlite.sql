-- 0032_loan_prepayments (sqlite): early repayments and arrears payments of a
-- person's HPF loan (提前还款, 逾期还款; issue 21). Owned by services/repayment.
--
-- One row per payment. id is handheld's id and the core's idempotency key;
-- the person's Idempotency-Key and the request's hash live on the row, so
-- the payment, its outbox row and the replayable answer commit together.
-- kind is prepayment or arrears; source_account_id names one of the
-- person's own accounts (the core's opaque handle) or from_hpf the HPF
-- balance. The core's answer (interest saved, the new term and
-- instalment) is kept once it is applied or rejected.
CREATE TABLE loan_prepayments (
    id                 TEXT        PRIMARY KEY,
    case_number        TEXT        NOT NULL UNIQUE,
    subject            TEXT        NOT NULL,
    kind               TEXT        NOT NULL CHECK (kind IN ('prepayment', 'arrears')),
    amount_fen         BIGINT      NOT NULL CHECK (amount_fen >= 0),
    mode               TEXT        NOT NULL DEFAULT '',
    source_account_id  TEXT        NOT NULL DEFAULT '',
    from_hpf           BOOLEAN     NOT NULL DEFAULT FALSE,
    status             TEXT        NOT NULL CHECK (status IN ('accepted', 'applied', 'rejected')),
    reason             TEXT        NOT NULL DEFAULT '',
    interest_saved_fen BIGINT      NOT NULL DEFAULT 0,
    penalty_fen        BIGINT      NOT NULL DEFAULT 0,
    months_after       INTEGER     NOT NULL DEFAULT 0,
    payment_after_fen  BIGINT      NOT NULL DEFAULT 0,
    settled            BOOLEAN     NOT NULL DEFAULT FALSE,
    applied_on         TEXT        NOT NULL DEFAULT '',
    idempotency_key    TEXT        NOT NULL,
    request_hash       TEXT        NOT NULL,
    locale             TEXT        NOT NULL,
    channel            TEXT        NOT NULL,
    created_at         TIMESTAMP   NOT NULL,
    updated_at         TIMESTAMP   NOT NULL,
    due_on             TEXT        NOT NULL,
    UNIQUE (subject, idempotency_key)
);

-- At most one payment being applied per person.
CREATE UNIQUE INDEX loan_prepayments_in_flight_idx ON loan_prepayments (subject) WHERE status = 'accepted';
-- The person's list, newest first.
CREATE INDEX loan_prepayments_subject_idx ON loan_prepayments (subject, created_at);

-- Every status a payment has had, once each, with when and why.
CREATE TABLE loan_prepayment_events (
    prepayment_id TEXT        NOT NULL REFERENCES loan_prepayments (id),
    status        TEXT        NOT NULL,
    reason        TEXT        NOT NULL DEFAULT '',
    at            TIMESTAMP   NOT NULL,
    PRIMARY KEY (prepayment_id, status)
);

-- Owned by services/repayment: one case per payment (services/cases).
CREATE VIEW loan_prepayment_cases AS
SELECT id, subject, 'loan_' || kind AS type, case_number, status, created_at, updated_at, due_on
FROM loan_prepayments;

-- A finished payment is rated like any case: SQLite changes a CHECK only
-- by rebuilding the table.
CREATE TABLE ratings_new (
    case_id    TEXT        PRIMARY KEY,
    case_kind  TEXT        NOT NULL CHECK (case_kind IN ('withdrawal', 'certificate', 'transfer', 'loan')),
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
