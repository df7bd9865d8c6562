-- 0033_shares (PostgreSQL): consented yes/no answers for relying parties
-- (可用不可见, issue 20). Owned by services/share.
--
-- shares is a person's consent: which registered party may ask which
-- predicates (JSON [{name, value}]) until valid_until, at most max_uses
-- times. code_hash is a keyed hash of the one-time code the person hands
-- over (never the code); NULL for a share made by approving a party's
-- request, which the party redeems by the request's id. uses is counted
-- by one conditional UPDATE, so two redemptions at once of the last use
-- cannot both win; the CHECK is the backstop. revoked_at set is final.
-- idempotency_key and request_hash make a retried creation the same share
-- (with a new code: the first answer's code was never kept).
CREATE TABLE shares (
    id          TEXT        PRIMARY KEY,
    subject     TEXT        NOT NULL,
    party       TEXT        NOT NULL,
    predicates  TEXT        NOT NULL,
    code_hash   TEXT        UNIQUE,
    request_id  TEXT        NOT NULL DEFAULT '',
    idempotency_key TEXT    NOT NULL DEFAULT '',
    request_hash    TEXT    NOT NULL DEFAULT '',
    max_uses    INTEGER     NOT NULL CHECK (max_uses >= 1),
    uses        INTEGER     NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
    valid_until TIMESTAMPTZ NOT NULL,
    channel     TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX shares_subject_idx ON shares (subject, created_at, id);
CREATE UNIQUE INDEX shares_idempotency_idx ON shares (subject, idempotency_key) WHERE idempotency_key <> '';

-- One row per redemption that answered: the party, the answers it was
-- given (JSON [{name, value, answer}]: yes, no or cannot_tell, never a
-- figure), whether it spent a use (one whose every answer was cannot_tell
-- does not) and when. The person sees each.
CREATE TABLE share_uses (
    id       TEXT        PRIMARY KEY,
    share_id TEXT        NOT NULL REFERENCES shares (id),
    party    TEXT        NOT NULL,
    answers  TEXT        NOT NULL,
    counted  BOOLEAN     NOT NULL,
    at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX share_uses_share_idx ON share_uses (share_id, at);

-- A party's request for a share. The party names the person by ID number
-- and name; only person_hash, a keyed hash of the two, is kept, and the
-- answer to the party is the same whether or not such a depositor exists.
-- The person finds the requests under their own hash. valid_until and
-- max_uses are the share approving would make; expires_at is when the
-- request stops waiting. An approved request names its share.
CREATE TABLE share_requests (
    id          TEXT        PRIMARY KEY,
    party       TEXT        NOT NULL,
    person_hash TEXT        NOT NULL,
    predicates  TEXT        NOT NULL,
    purpose     TEXT        NOT NULL DEFAULT '',
    valid_until TIMESTAMPTZ NOT NULL,
    max_uses    INTEGER     NOT NULL CHECK (max_uses >= 1),
    status      TEXT        NOT NULL CHECK (status IN ('pending', 'approved', 'declined')),
    expires_at  TIMESTAMPTZ NOT NULL,
    subject     TEXT        NOT NULL DEFAULT '',
    share_id    TEXT        NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    decided_at  TIMESTAMPTZ
);
CREATE INDEX share_requests_person_idx ON share_requests (person_hash, created_at, id);
CREATE INDEX share_requests_party_idx ON share_requests (party, created_at);
