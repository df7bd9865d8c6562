-- 0027_scheduled_runs (SQLite): one row per run of a periodic job
-- (retention today; reminders and standing withdrawals share it), so that
-- with N replicas each period runs once. Owned by services/schedule.
--
-- A replica claims (job, period) by inserting the row, or by taking over a
-- row whose lease ran out before it was done (its replica died): the job
-- resumes, and every step of a job is safe to repeat. done_at marks the
-- period finished; progress is the job's own note (e.g. rows removed).
CREATE TABLE scheduled_runs (
    job         TEXT        NOT NULL,
    period      TEXT        NOT NULL,
    holder      TEXT        NOT NULL,
    lease_until TIMESTAMP NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    done_at     TIMESTAMP,
    attempts    INTEGER     NOT NULL DEFAULT 1,
    progress    TEXT        NOT NULL DEFAULT '',
    PRIMARY KEY (job, period)
);

-- What the retention job removes, found by age without a full scan.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX certificates_expires_idx ON certificates (expires_at);
