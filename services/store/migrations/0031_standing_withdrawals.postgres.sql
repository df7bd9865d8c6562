-- 0031_standing_withdrawals (PostgreSQL): monthly rent withdrawal (按月提取,
-- issue 19). Owned by services/standing.
--
-- standing_withdrawals is a person's standing instruction: each month an
-- application of kind for amount_fen, paid to payout_account_id (the id of
-- one of the person's own payout accounts, as GET /me/payout-accounts
-- names it; the number stays with the core). One that is not stopped per
-- person and kind: the partial unique index makes a second sign-up, even
-- two at once, a conflict.
CREATE TABLE standing_withdrawals (
    id                TEXT        PRIMARY KEY,
    subject           TEXT        NOT NULL,
    kind              TEXT        NOT NULL,
    amount_fen        BIGINT      NOT NULL CHECK (amount_fen > 0),
    payout_account_id TEXT        NOT NULL,
    status            TEXT        NOT NULL CHECK (status IN ('active', 'paused', 'stopped')),
    pause_reason      TEXT        NOT NULL DEFAULT '',
    channel           TEXT        NOT NULL,
    locale            TEXT        NOT NULL,
    confirmed_at      TIMESTAMPTZ NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX standing_withdrawals_one_per_kind ON standing_withdrawals (subject, kind) WHERE status <> 'stopped';
CREATE INDEX standing_withdrawals_subject_idx ON standing_withdrawals (subject, created_at, id);
CREATE INDEX standing_withdrawals_active_idx ON standing_withdrawals (id) WHERE status = 'active';

-- One row per standing withdrawal and month (YYYY-MM, Asia/Shanghai): the
-- month's application, or why the month failed. The primary key is what
-- makes a month one application however many replicas run the job, and
-- after a restart: a month with a row is never tried again.
CREATE TABLE standing_withdrawal_months (
    standing_id    TEXT        NOT NULL REFERENCES standing_withdrawals (id),
    month          TEXT        NOT NULL,
    outcome        TEXT        NOT NULL CHECK (outcome IN ('applied', 'failed')),
    application_id TEXT        NOT NULL DEFAULT '',
    reason         TEXT        NOT NULL DEFAULT '',
    amount_fen     BIGINT      NOT NULL,
    at             TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (standing_id, month)
);
