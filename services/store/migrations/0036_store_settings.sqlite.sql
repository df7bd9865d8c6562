-- 0036_store_settings: facts fixed when the store is created, one row
-- each, never changed afterwards. Owned by services/store (settings.go).
--
-- keyed_hash names the HMAC behind every pseudonym (intl: HMAC-SHA-256,
-- sm: HMAC-SM3). Pseudonyms key stored rows, so the function is the one
-- the first start chose; a store that already held people when this
-- migration ran had been keyed with HMAC-SHA-256 and keeps it.
CREATE TABLE store_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

INSERT INTO store_settings (name, value)
SELECT 'keyed_hash', 'intl'
WHERE EXISTS (SELECT 1 FROM subjects) OR EXISTS (SELECT 1 FROM wechat_bindings) OR EXISTS (SELECT 1 FROM audit_log);
