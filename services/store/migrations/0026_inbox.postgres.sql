-- 0026_inbox (postgres): the message centre (issue 19, parts 2 and 5).
-- Owned by services/inbox.
--
-- messages: every notification a person is sent, whatever reaches them
-- through WeChat. dedupe_key makes a delivery retried by the outbox land
-- once. content is the notification event (kind, case, amount, ...) as
-- JSON: personal data, sealed at rest; title and body are rendered from it
-- in the reader's language. push says what became of the WeChat copy
-- (pending, deferred, sent, off, no_grant, no_recipient, refused).
CREATE TABLE messages (
    id          TEXT        PRIMARY KEY,
    subject     TEXT        NOT NULL,
    dedupe_key  TEXT        NOT NULL,
    category    TEXT        NOT NULL,
    kind        TEXT        NOT NULL,
    content     TEXT        NOT NULL,
    push        TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    pushed_at   TIMESTAMPTZ,
    read_at     TIMESTAMPTZ
);

CREATE UNIQUE INDEX messages_dedupe_idx ON messages (subject, dedupe_key);
-- The person's list, newest first, and their unread count.
CREATE INDEX messages_subject_idx ON messages (subject, created_at DESC, id DESC);
CREATE INDEX messages_unread_idx ON messages (subject) WHERE read_at IS NULL;

-- message_preferences: one row per person who changed the defaults (no
-- quiet hours, every category through WeChat). quiet_from and quiet_to
-- are "HH:MM" in the centre's time, both empty for none; wechat_off lists
-- the categories kept out of WeChat, comma-separated.
CREATE TABLE message_preferences (
    subject     TEXT        PRIMARY KEY,
    quiet_from  TEXT        NOT NULL DEFAULT '',
    quiet_to    TEXT        NOT NULL DEFAULT '',
    wechat_off  TEXT        NOT NULL DEFAULT '',
    updated_at  TIMESTAMPTZ NOT NULL
);

-- subscription_grants: what the mini-program's wx.requestSubscribeMessage
-- answered, per person and template. remaining counts one-time grants not
-- spent yet (each accept adds one, each send takes one); banned is the
-- person's "never ask again" until an accept.
CREATE TABLE subscription_grants (
    subject     TEXT        NOT NULL,
    template_id TEXT        NOT NULL,
    remaining   INTEGER     NOT NULL,
    banned      BOOLEAN     NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (subject, template_id)
);
