-- 0004_certificates (SQLite): the same tables as
-- 0004_certificates.postgres.sql. Time columns are declared TIMESTAMP and
-- hold INTEGER unix microseconds; binary columns are BLOB.

CREATE TABLE certificates (
    id          TEXT      PRIMARY KEY NOT NULL,
    subject     TEXT      NOT NULL,
    number      TEXT      NOT NULL UNIQUE,
    verify_code TEXT      NOT NULL UNIQUE,
    type        TEXT      NOT NULL,
    purpose     TEXT      NOT NULL DEFAULT '',
    lang        TEXT      NOT NULL,
    holder      TEXT      NOT NULL,
    claims      TEXT      NOT NULL,
    jws         TEXT      NOT NULL,
    document    BLOB      NOT NULL,
    pdf         BLOB      NOT NULL,
    pdf_sha256  TEXT      NOT NULL,
    status      TEXT      NOT NULL CHECK (status IN ('issued', 'revoked')),
    issued_at   TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);

CREATE INDEX certificates_subject_idx ON certificates (subject, issued_at, number);

CREATE TABLE certificate_verifications (
    id             INTEGER   PRIMARY KEY NOT NULL,
    certificate_id TEXT      NOT NULL REFERENCES certificates (id),
    at             TIMESTAMP NOT NULL,
    channel        TEXT      NOT NULL CHECK (channel IN ('web', 'api'))
);

CREATE INDEX certificate_verifications_certificate_idx ON certificate_verifications (certificate_id, at);

CREATE TABLE certificate_numbers (
    prefix      TEXT    PRIMARY KEY NOT NULL,
    last_number INTEGER NOT NULL
);

ALTER TABLE idempotency_keys ADD COLUMN content_type TEXT NOT NULL DEFAULT '';
