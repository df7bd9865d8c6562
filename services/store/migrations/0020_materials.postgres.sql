-- 0020_materials (PostgreSQL): files a person uploads as evidence for an
-- application when shared data cannot supply it. Owned by services/material.
--
-- The bytes are not here: they are sealed (services/seal, AES-256-GCM,
-- bound to the material's id) and kept in the blob store (files under the
-- data directory, or S3-compatible object storage) under the id. A row
-- holds no personal data and no file name (a name like "张三-诊断书.jpg"
-- is personal data; it is not kept at all). sha256 is of the stored,
-- sanitised plaintext (the re-encoded image or the checked PDF), so a
-- reader of the blob proves it got what was accepted. used_by is the
-- application that claimed the material (NULL while unused); an unused
-- material past expires_at is swept, row and blob.
CREATE TABLE materials (
    id          TEXT    PRIMARY KEY,
    subject     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    media_type  TEXT    NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'application/pdf')),
    size        BIGINT  NOT NULL CHECK (size > 0),
    pages       INTEGER NOT NULL CHECK (pages >= 1),
    width       INTEGER NOT NULL DEFAULT 0,
    height      INTEGER NOT NULL DEFAULT 0,
    sha256      TEXT    NOT NULL,
    used_by     TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

-- The person's materials, newest first; the sweep's expired unused ones.
CREATE INDEX materials_subject_idx ON materials (subject, created_at DESC, id DESC);
CREATE INDEX materials_expiry_idx ON materials (expires_at) WHERE used_by IS NULL;
