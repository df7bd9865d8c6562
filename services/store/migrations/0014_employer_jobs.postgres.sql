-- 0014_employer_jobs (PostgreSQL): an employer's bulk files (joins,
-- leaves, rejoins or base changes), checked on upload and applied row by
-- row in the background by whichever replica holds the job's lease. Owned
-- by services/employer.

-- One row per uploaded file. A replica claims a queued job, or a running
-- one whose lease has run out (its replica died), with FOR UPDATE SKIP
-- LOCKED, and renews lease_until while it works. total, processed and
-- failed are the progress the clerk polls. The operator's Idempotency-Key
-- and the hash of the file and its kind live on the row, so a retried
-- upload names the same job.
CREATE TABLE employer_jobs (
    id              TEXT        PRIMARY KEY,
    unit_code       TEXT        NOT NULL,
    subject         TEXT        NOT NULL,
    kind            TEXT        NOT NULL CHECK (kind IN ('join', 'leave', 'rejoin', 'base')),
    status          TEXT        NOT NULL CHECK (status IN ('queued', 'running', 'done')),
    total           INTEGER     NOT NULL CHECK (total >= 0),
    processed       INTEGER     NOT NULL DEFAULT 0 CHECK (processed >= 0),
    failed          INTEGER     NOT NULL DEFAULT 0 CHECK (failed >= 0),
    idempotency_key TEXT        NOT NULL,
    request_hash    TEXT        NOT NULL,
    lease_owner     TEXT        NOT NULL DEFAULT '',
    lease_until     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    UNIQUE (subject, idempotency_key)
);

-- The runners' claim: unfinished jobs, oldest first.
CREATE INDEX employer_jobs_open_idx ON employer_jobs (created_at) WHERE status <> 'done';
-- A unit's unfinished jobs, counted against its concurrency limit.
CREATE INDEX employer_jobs_unit_idx ON employer_jobs (unit_code, status);

-- One row per data line of a file. cells is the line's cells, sealed
-- (names and ID numbers); errors is why the line was refused (JSON: column,
-- code, params; no personal data). A line goes pending → applied or
-- failed exactly once: the runner's update is conditional on pending and
-- on still holding the job's lease, and the change it makes is keyed by
-- job id and line, so a line retried after a crash is answered from the
-- change already made.
CREATE TABLE employer_job_rows (
    job_id    TEXT    NOT NULL REFERENCES employer_jobs (id) ON DELETE CASCADE,
    line      INTEGER NOT NULL,
    cells     TEXT    NOT NULL,
    status    TEXT    NOT NULL CHECK (status IN ('pending', 'applied', 'failed')),
    errors    TEXT    NOT NULL DEFAULT '',
    change_id TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, line)
);

CREATE INDEX employer_job_rows_pending_idx ON employer_job_rows (job_id, line) WHERE status = 'pending';

ALTER TABLE employer_job_rows ALTER COLUMN cells SET STORAGE EXTERNAL;
COMMENT ON COLUMN employer_job_rows.cells IS 'sealed text (services/seal): JSON array of the line''s cells';
