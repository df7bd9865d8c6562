-- 0025_certificate_elsewhere (sqlite): the same as
-- 0025_certificate_elsewhere.postgres.sql. SQLite cannot change a CHECK
-- constraint, so certificate_verifications is rebuilt with its rows.
ALTER TABLE certificates ADD COLUMN to_centre TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN to_centre_name TEXT NOT NULL DEFAULT '';

CREATE TABLE certificate_verifications_new (
    id             INTEGER   PRIMARY KEY NOT NULL,
    certificate_id TEXT      NOT NULL REFERENCES certificates (id),
    at             TIMESTAMP NOT NULL,
    channel        TEXT      NOT NULL CHECK (channel IN ('web', 'api', 'platform')),
    centre         TEXT      NOT NULL DEFAULT '',
    centre_name    TEXT      NOT NULL DEFAULT ''
);
INSERT INTO certificate_verifications_new (id, certificate_id, at, channel)
    SELECT id, certificate_id, at, channel FROM certificate_verifications;
DROP TABLE certificate_verifications;
ALTER TABLE certificate_verifications_new RENAME TO certificate_verifications;
CREATE INDEX certificate_verifications_certificate_idx ON certificate_verifications (certificate_id, at);
