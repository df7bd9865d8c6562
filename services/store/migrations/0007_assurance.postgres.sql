-- 0007_assurance (PostgreSQL): how strongly a session's person was
-- identified. acr is realname, phone or face (depositor sessions; '' for
-- others); auth_time is when: the last face check for face, else the
-- sign-in. openid_hash is the WeChat user a mini-program session belongs
-- to, so that a face check for a step-up runs for that user only.
ALTER TABLE sessions ADD COLUMN acr TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN auth_time TIMESTAMPTZ;
ALTER TABLE sessions ADD COLUMN openid_hash TEXT NOT NULL DEFAULT '';
