-- 0005_ecard (PostgreSQL): every verification attempt on a genuine e-card
-- payload, for its holder to see who checked their card and when.
-- verifier is "verifier:<id>" or "device:<id>"; channel is verifier or
-- kiosk; result is ok, closed, expired, replayed, wrong_centre or
-- no_account. No payload, no address: the holder learns who, never more.
CREATE TABLE ecard_uses (
    id       BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject  TEXT        NOT NULL,
    verifier TEXT        NOT NULL,
    channel  TEXT        NOT NULL CHECK (channel IN ('verifier', 'kiosk')),
    result   TEXT        NOT NULL,
    at       TIMESTAMPTZ NOT NULL
);

-- The holder's list, newest first.
CREATE INDEX ecard_uses_subject_idx ON ecard_uses (subject, at);
