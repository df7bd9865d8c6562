-- 0019_consents (postgres): a person's consent to look up their records in
-- government shared data (数据共享) for one withdrawal application, and the
-- minimal facts the sources answered. Owned by services/sharing.
--
-- One row per consent: for one withdrawal kind (purpose), naming the
-- sources it allows asking (scope, "source.fact" comma-separated, no
-- personal data). used_by is the application that used it: once set, no
-- other application may use the consent (sharing.consent_used). facts is
-- the minimal facts as JSON (deed number, dates, amounts, the sources'
-- references): personal data, so sealed at rest (services/seal, bound to
-- the row). No document is ever kept.
CREATE TABLE consents (
    id          TEXT        PRIMARY KEY,
    subject     TEXT        NOT NULL,
    purpose     TEXT        NOT NULL,
    scope       TEXT        NOT NULL,
    facts       TEXT        NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_by     TEXT,
    used_at     TIMESTAMPTZ
);

-- The person's latest unused consent for a kind (eligibility).
CREATE INDEX consents_subject_idx ON consents (subject, purpose, created_at DESC);
-- An application names at most one consent.
CREATE UNIQUE INDEX consents_used_by_idx ON consents (used_by) WHERE used_by IS NOT NULL;
