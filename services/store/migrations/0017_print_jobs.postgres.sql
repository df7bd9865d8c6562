-- 0017_print_jobs (PostgreSQL): documents a citizen prints at a kiosk.
-- Owned by services/printing.
--
-- One row per print. The PDF is rendered when the job is created (what the
-- citizen asked for, as the core had it then) and kept sealed at rest
-- (services/seal, bound to the row) until the kiosk's printer fetches it
-- once or the job expires; then pdf is emptied and only the row's
-- metadata stays, for the holder's list of prints and the audit trail.
-- parameters is the request's period or certificate id (JSON, no
-- personal data). The holder's Idempotency-Key lives on the row too, so
-- a retried creation names the same job. day is the creation's day in
-- Asia/Shanghai (YYYY-MM-DD), which the daily limit counts.
CREATE TABLE print_jobs (
    id              TEXT        PRIMARY KEY,
    subject         TEXT        NOT NULL,
    device_id       TEXT        NOT NULL,
    location        TEXT        NOT NULL DEFAULT '',
    document        TEXT        NOT NULL CHECK (document IN ('deposit_statement', 'loan_statement', 'loan_settled', 'certificate')),
    parameters      TEXT        NOT NULL DEFAULT '{}',
    status          TEXT        NOT NULL CHECK (status IN ('ready', 'printed', 'failed', 'expired')),
    pages           INTEGER     NOT NULL CHECK (pages >= 0),
    pdf             BYTEA       NOT NULL,
    day             TEXT        NOT NULL,
    idempotency_key TEXT        NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    printed_at      TIMESTAMPTZ
);

-- The holder's prints, newest first, and the daily count.
CREATE INDEX print_jobs_subject_idx ON print_jobs (subject, created_at DESC, id DESC);
CREATE INDEX print_jobs_day_idx ON print_jobs (subject, day);
-- A device's queue: jobs still waiting.
CREATE INDEX print_jobs_queue_idx ON print_jobs (device_id, created_at) WHERE status = 'ready';

ALTER TABLE print_jobs ALTER COLUMN pdf SET STORAGE EXTERNAL;
COMMENT ON COLUMN print_jobs.pdf IS 'sealed bytes (services/seal): the PDF to print; empty once printed or expired';
