-- 0013_staff_changes (SQLite): an employer's joins, leaves and rejoins,
-- accepted here and delivered to the core by the outbox (7×24: accepted
-- while the core is down or in its batch window, applied after). Owned by
-- services/employer. Times hold INTEGER unix microseconds.

-- One row per change. id is also the core's request id, so a delivery
-- repeated after any failure applies the change once. The operator's
-- Idempotency-Key and the request's hash live on the row, so the change,
-- its outbox row and the replayable answer commit together. applicant is
-- the join's name and ID number, sealed (services/seal: JSON {name,
-- id_number}); person_key is a keyed hash (HMAC) of the ID number for a
-- join and the staff id for a leave or rejoin: one change per person in
-- flight. failure_code is the core's refusal as handheld's code.
CREATE TABLE staff_changes (
    id              TEXT        PRIMARY KEY,
    unit_code       TEXT        NOT NULL,
    subject         TEXT        NOT NULL,
    kind            TEXT        NOT NULL CHECK (kind IN ('join', 'leave', 'rejoin')),
    person_key      TEXT        NOT NULL,
    person_id       TEXT        NOT NULL DEFAULT '',
    applicant       TEXT        NOT NULL DEFAULT '',
    base_fen        INTEGER     NOT NULL DEFAULT 0 CHECK (base_fen >= 0),
    month           TEXT        NOT NULL DEFAULT '',
    reason          TEXT        NOT NULL DEFAULT '',
    status          TEXT        NOT NULL CHECK (status IN ('accepted', 'done', 'failed')),
    outcome         TEXT        NOT NULL DEFAULT '',
    from_unit_code  TEXT        NOT NULL DEFAULT '',
    failure_code    TEXT        NOT NULL DEFAULT '',
    idempotency_key TEXT        NOT NULL,
    request_hash    TEXT        NOT NULL,
    created_at      TIMESTAMP   NOT NULL,
    updated_at      TIMESTAMP   NOT NULL,
    UNIQUE (subject, idempotency_key)
);

-- One change per person and unit in flight.
CREATE UNIQUE INDEX staff_changes_in_flight_idx ON staff_changes (unit_code, person_key)
    WHERE status = 'accepted';
-- The unit's list, newest first.
CREATE INDEX staff_changes_unit_idx ON staff_changes (unit_code, created_at);
