-- 0006_withdrawals (SQLite): withdrawal applications, their status
-- Times hold INTEGER unix microseconds; closes_account is 0 or 1.
-- history, ratings of finished cases, and the sealed openid that lets the
-- centre send a WeChat notification to the person who applied.

-- One row per application. id is also the core's idempotency key; the
-- person's Idempotency-Key and the request's hash live on the row, so the
-- application, its outbox row and the replayable answer commit together.
-- payout_account is the bank card on file or an e-CNY wallet id: screens
-- show it masked. evidence_refs is a JSON array of references the core
-- confirms. due_on is the statutory decision date (3 working days).
CREATE TABLE withdrawals (
    id              TEXT        PRIMARY KEY,
    case_number     TEXT        NOT NULL UNIQUE,
    subject         TEXT        NOT NULL,
    kind            TEXT        NOT NULL,
    core_kind       TEXT        NOT NULL,
    amount_fen      INTEGER     NOT NULL CHECK (amount_fen > 0),
    payout_method   TEXT        NOT NULL CHECK (payout_method IN ('bank_card', 'ecny')),
    payout_account  TEXT        NOT NULL,
    evidence_refs   TEXT        NOT NULL DEFAULT '[]',
    closes_account  INTEGER     NOT NULL DEFAULT 0,
    status          TEXT        NOT NULL CHECK (status IN ('accepted', 'submitted', 'approved', 'rejected', 'paid', 'cancelled')),
    reason          TEXT        NOT NULL DEFAULT '',
    idempotency_key TEXT        NOT NULL,
    request_hash    TEXT        NOT NULL,
    locale          TEXT        NOT NULL,
    channel         TEXT        NOT NULL,
    created_at      TIMESTAMP   NOT NULL,
    updated_at      TIMESTAMP   NOT NULL,
    due_on          TEXT        NOT NULL,
    UNIQUE (subject, idempotency_key)
);

-- One in-flight application per person and kind.
CREATE UNIQUE INDEX withdrawals_in_flight_idx ON withdrawals (subject, kind)
    WHERE status IN ('accepted', 'submitted', 'approved');
-- The person's list, newest first.
CREATE INDEX withdrawals_subject_idx ON withdrawals (subject, created_at);

-- Every status an application has had, once each, with when and why.
CREATE TABLE withdrawal_events (
    application_id TEXT        NOT NULL REFERENCES withdrawals (id),
    status         TEXT        NOT NULL,
    reason         TEXT        NOT NULL DEFAULT '',
    at             TIMESTAMP   NOT NULL,
    PRIMARY KEY (application_id, status)
);

-- 好差评: one rating per finished case (a withdrawal or a certificate).
-- level 5 very satisfied ... 1 very dissatisfied.
CREATE TABLE ratings (
    case_id    TEXT        PRIMARY KEY,
    case_kind  TEXT        NOT NULL CHECK (case_kind IN ('withdrawal', 'certificate')),
    subject    TEXT        NOT NULL,
    level      INTEGER     NOT NULL CHECK (level BETWEEN 1 AND 5),
    comment    TEXT        NOT NULL DEFAULT '',
    created_at TIMESTAMP   NOT NULL
);

-- The openid, sealed (AES-GCM) for sending subscribe messages; the hash
-- stays the key. Empty until the person next signs in through WeChat.
ALTER TABLE wechat_bindings ADD COLUMN openid_sealed TEXT NOT NULL DEFAULT '';
CREATE INDEX wechat_bindings_subject_idx ON wechat_bindings (subject_id, bound_at);
