-- 0003_identity (SQLite): subjects, WeChat bindings, sessions and
-- refresh tokens. No names, ID numbers, phones or openids are stored here:
-- a person is known by the core's person_id and a pseudonymous subject_id,
-- a WeChat user by an HMAC of the openid.

-- The pseudonymous subject id that tokens, logs and the audit trail use.
CREATE TABLE subjects (
    subject_id TEXT        PRIMARY KEY NOT NULL,
    person_id  TEXT        NOT NULL UNIQUE,
    created_at TIMESTAMP   NOT NULL
);

-- A mini-program user bound to a person by real-name check.
CREATE TABLE wechat_bindings (
    openid_hash TEXT        PRIMARY KEY NOT NULL,
    subject_id  TEXT        NOT NULL REFERENCES subjects (subject_id),
    bound_at    TIMESTAMP   NOT NULL
);

-- One sign-in. subject is a subject_id, an operator's pseudonym or a device.
CREATE TABLE sessions (
    id            TEXT        PRIMARY KEY NOT NULL,
    subject       TEXT        NOT NULL,
    role          TEXT        NOT NULL,
    channel       TEXT        NOT NULL,
    unit_code     TEXT        NOT NULL DEFAULT '',
    device_id     TEXT        NOT NULL DEFAULT '',
    created_at    TIMESTAMP   NOT NULL,
    expires_at    TIMESTAMP   NOT NULL,
    revoked_at    TIMESTAMP  ,
    revoke_reason TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX sessions_subject_idx ON sessions (subject);

-- Refresh tokens, stored as SHA-256; single use. A session is one family:
-- presenting a used token revokes the session (RFC 9700).
CREATE TABLE refresh_tokens (
    token_hash TEXT        PRIMARY KEY NOT NULL,
    session_id TEXT        NOT NULL REFERENCES sessions (id),
    issued_at  TIMESTAMP   NOT NULL,
    expires_at TIMESTAMP   NOT NULL,
    used_at    TIMESTAMP  
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
