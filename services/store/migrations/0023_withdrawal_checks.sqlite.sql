-- 0023_withdrawal_checks: applications accepted while the core could not
-- be asked (its nightly maintenance window, an outage), to be checked when
-- it returns (issue 17, part 4). Owned by services/withdrawal.
--
-- One row per such application, under the id the application keeps: the
-- outbox's withdrawal.check delivery judges it with every rule an
-- application meets at once (eligibility on fresh core data, the payout
-- account the person's own, evidence references theirs), then writes the
-- withdrawals row with the same id, case number and Idempotency-Key and
-- marks this one passed; or marks it failed with the reason and tells the
-- person. The payout account is only its id until then: the card or wallet
-- number is the core's answer. evidence_refs and evidence are sealed like
-- the withdrawals columns of the same names.
CREATE TABLE withdrawal_checks (
    id                TEXT        PRIMARY KEY,
    case_number       TEXT        NOT NULL UNIQUE,
    subject           TEXT        NOT NULL,
    kind              TEXT        NOT NULL,
    amount_fen        BIGINT      NOT NULL CHECK (amount_fen > 0),
    payout_account_id TEXT        NOT NULL,
    evidence_refs     TEXT        NOT NULL DEFAULT '',
    evidence          TEXT        NOT NULL DEFAULT '',
    idempotency_key   TEXT        NOT NULL,
    request_hash      TEXT        NOT NULL,
    locale            TEXT        NOT NULL,
    channel           TEXT        NOT NULL,
    status            TEXT        NOT NULL CHECK (status IN ('pending', 'passed', 'failed', 'cancelled')),
    reason            TEXT        NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    due_on            TEXT        NOT NULL,
    UNIQUE (subject, idempotency_key)
);

-- One pending check per person and kind, like one application in flight.
CREATE UNIQUE INDEX withdrawal_checks_pending_idx ON withdrawal_checks (subject, kind) WHERE status = 'pending';
CREATE INDEX withdrawal_checks_subject_idx ON withdrawal_checks (subject, created_at);

-- A check not passed is a case of its own (to be checked; rejected when it
-- failed; cancelled); once passed, the application is the case.
DROP VIEW withdrawal_cases;
CREATE VIEW withdrawal_cases AS
SELECT id, subject, kind AS type, case_number, status, created_at, updated_at, due_on
FROM withdrawals
UNION ALL
SELECT id, subject, kind AS type, case_number,
       CASE status WHEN 'pending' THEN 'to_be_checked' WHEN 'failed' THEN 'rejected' ELSE status END AS status,
       created_at, updated_at, due_on
FROM withdrawal_checks
WHERE status <> 'passed';
