-- 0016_operator_sessions (SQLite): an employer operator's session
-- carries the operator's role in the unit (admin or clerk; '' for other
-- sessions and for employer sessions begun before roles, which must sign
-- in again) and whether it was signed in with a temporary password, which
-- may only change it.
ALTER TABLE sessions ADD COLUMN op_role TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN password_change INTEGER NOT NULL DEFAULT 0;
