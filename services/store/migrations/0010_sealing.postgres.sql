-- 0010_sealing (PostgreSQL): personal data sealed at rest. The columns
-- below hold values sealed with AES-256-GCM under the key ring
-- (services/seal): "hs1.<key id>.<ciphertext>", bytes in BYTEA columns,
-- base64url in TEXT ones, each bound to its table, column and row. The SQL
-- only documents them and stops PostgreSQL from trying to compress
-- ciphertext, which never shrinks; the Go step that seals rows written
-- before this migration (store.Reseal over every owner's SealedColumns)
-- runs with `handheld migrate`, at the embedded start-up, and with
-- `handheld keys reseal`.
ALTER TABLE certificates ALTER COLUMN document SET STORAGE EXTERNAL;
ALTER TABLE certificates ALTER COLUMN pdf SET STORAGE EXTERNAL;
ALTER TABLE outbox ALTER COLUMN payload SET STORAGE EXTERNAL;
ALTER TABLE idempotency_keys ALTER COLUMN response SET STORAGE EXTERNAL;

COMMENT ON COLUMN certificates.document IS 'sealed (services/seal): the certificate document, naming the holder in full';
COMMENT ON COLUMN certificates.pdf IS 'sealed (services/seal): the PDF served; pdf_sha256 is the hash of the opened bytes';
COMMENT ON COLUMN withdrawals.payout_account IS 'sealed text (services/seal): bank card or e-CNY wallet number';
COMMENT ON COLUMN withdrawals.evidence_refs IS 'sealed text (services/seal): JSON array of evidence references';
COMMENT ON COLUMN outbox.payload IS 'sealed (services/seal), whatever the topic';
COMMENT ON COLUMN idempotency_keys.response IS 'sealed (services/seal): the stored response body';
COMMENT ON COLUMN ratings.comment IS 'sealed text (services/seal) when not empty';
COMMENT ON COLUMN wechat_bindings.openid_sealed IS 'sealed text (services/seal); older values sealed under HKDF of the hash secret until resealed';
