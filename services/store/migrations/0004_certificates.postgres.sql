-- 0004_certificates (PostgreSQL): issued deposit-and-use certificates,
-- their verifications, the yearly number sequence, and the content type of
-- stored idempotent responses.

-- One issued certificate. The holder's own document: pdf and document hold
-- the full name and ID number, as the printed certificate does, so only the
-- holder (subject) reads them and verify pages read only holder (masked).
-- claims is the JWS payload exactly as signed; pdf_sha256 is the SHA-256 of
-- pdf, the bytes served. verify_code is the canonical code (16 Crockford
-- base32 characters, no dashes): the PDF prints it anyway, so hashing it
-- here would protect nothing. Never log it.
CREATE TABLE certificates (
    id          TEXT        PRIMARY KEY,
    subject     TEXT        NOT NULL,
    number      TEXT        NOT NULL UNIQUE,
    verify_code TEXT        NOT NULL UNIQUE,
    type        TEXT        NOT NULL,
    purpose     TEXT        NOT NULL DEFAULT '',
    lang        TEXT        NOT NULL,
    holder      TEXT        NOT NULL,
    claims      TEXT        NOT NULL,
    jws         TEXT        NOT NULL,
    document    BYTEA       NOT NULL,
    pdf         BYTEA       NOT NULL,
    pdf_sha256  TEXT        NOT NULL,
    status      TEXT        NOT NULL CHECK (status IN ('issued', 'revoked')),
    issued_at   TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);

-- The holder's list, newest first; within a second, the later number.
CREATE INDEX certificates_subject_idx ON certificates (subject, issued_at, number);

-- Every verification of a certificate: when and through which channel
-- (web page or API). No address, no user agent: the holder sees how often
-- and when, never who.
CREATE TABLE certificate_verifications (
    id             BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    certificate_id TEXT        NOT NULL REFERENCES certificates (id),
    at             TIMESTAMPTZ NOT NULL,
    channel        TEXT        NOT NULL CHECK (channel IN ('web', 'api'))
);

CREATE INDEX certificate_verifications_certificate_idx ON certificate_verifications (certificate_id, at);

-- The last certificate number given out per prefix (<centre code>-<year>).
-- A number taken by an issue that then fails is not given out again: the
-- sequence may have gaps, never repeats.
CREATE TABLE certificate_numbers (
    prefix      TEXT   PRIMARY KEY,
    last_number BIGINT NOT NULL
);

-- A replayed response keeps its content type (JSON, problem+json, ...).
ALTER TABLE idempotency_keys ADD COLUMN content_type TEXT NOT NULL DEFAULT '';
