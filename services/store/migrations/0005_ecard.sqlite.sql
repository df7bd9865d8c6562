-- 0005_ecard (SQLite): the same table as 0005_ecard.postgres.sql. at holds
-- INTEGER unix microseconds (declared TIMESTAMP, as every time column).
CREATE TABLE ecard_uses (
    id       INTEGER   PRIMARY KEY NOT NULL,
    subject  TEXT      NOT NULL,
    verifier TEXT      NOT NULL,
    channel  TEXT      NOT NULL CHECK (channel IN ('verifier', 'kiosk')),
    result   TEXT      NOT NULL,
    at       TIMESTAMP NOT NULL
);

CREATE INDEX ecard_uses_subject_idx ON ecard_uses (subject, at);
