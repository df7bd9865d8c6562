-- 0035_daily_reports (SQLite): the day's report upward to the national
-- platform (issue 20, part 5): 好差评 ratings and case timeliness per
-- service, one report per centre and day.
--
-- The three *_case_ends views are declared by the owners of the tables they
-- read (services/withdrawal, services/transfer, services/repayment), like
-- the case views of 0011, 0024 and 0032: when a case was decided (its first
-- decision, whichever way) and when the person withdrew it, from the status
-- history. services/cases reads them beside the case views and never the
-- tables. Certificates are decided on the spot: certificate_cases tells
-- enough on its own.

-- Owned by services/withdrawal: an application is decided when the core
-- approves or rejects it (paid implies approved); a check not passed is
-- decided when it failed. Cancelled is withdrawn by the person.
CREATE VIEW withdrawal_case_ends AS
SELECT application_id AS id,
       MIN(CASE WHEN status IN ('approved', 'rejected', 'paid') THEN at END) AS decided_at,
       MIN(CASE WHEN status = 'cancelled' THEN at END) AS withdrawn_at
FROM withdrawal_events
GROUP BY application_id
UNION ALL
SELECT id,
       CASE WHEN status = 'failed' THEN updated_at END AS decided_at,
       CASE WHEN status = 'cancelled' THEN updated_at END AS withdrawn_at
FROM withdrawal_checks
WHERE status <> 'passed';

-- Owned by services/transfer: a transfer in is decided when it is merged
-- into the account here or refused by the old centre.
CREATE VIEW transfer_case_ends AS
SELECT transfer_id AS id,
       MIN(CASE WHEN status IN ('merged', 'refused') THEN at END) AS decided_at,
       MIN(CASE WHEN status = 'cancelled' THEN at END) AS withdrawn_at
FROM transfer_events
GROUP BY transfer_id;

-- Owned by services/repayment: a payment is decided when the core applies
-- or rejects it; a person cannot withdraw one.
CREATE VIEW loan_prepayment_case_ends AS
SELECT prepayment_id AS id,
       MIN(CASE WHEN status IN ('applied', 'rejected') THEN at END) AS decided_at,
       NULL AS withdrawn_at
FROM loan_prepayment_events
GROUP BY prepayment_id;

-- Owned by services/report: every version of a day's report, as sent.
-- version 1 is the day's report, made once by the scheduled job (or an
-- operator's `handheld report send`); a later version is a correction an
-- operator sent when the figures of the day changed. body is the JSON the
-- platform receives (figures only: no personal data), digest its SHA-256,
-- so that sending the same figures again is found and sent under the same
-- version. The primary key makes two replicas, a restart or a rerun make
-- one row, and with it one outbox message.
CREATE TABLE daily_reports (
    centre     TEXT        NOT NULL,
    day        TEXT        NOT NULL,
    version    INTEGER     NOT NULL CHECK (version >= 1),
    body       TEXT        NOT NULL,
    digest     TEXT        NOT NULL,
    made_by    TEXT        NOT NULL,
    created_at TIMESTAMP   NOT NULL,
    PRIMARY KEY (centre, day, version)
);
