-- 0025_certificate_elsewhere (postgres): the certificate for a loan
-- elsewhere (异地贷款职工住房公积金缴存使用证明) and who verified a
-- certificate. Owned by services/certificate.
--
-- certificates.to_centre and to_centre_name name the lending centre a
-- loan_elsewhere certificate is addressed to (its platform code and name,
-- as the platform listed it when issued); '' on every other type.
--
-- certificate_verifications gains the platform channel (another centre
-- verifying through the national platform) and the verifying centre's code
-- and name ('' for the web page and the JSON API, where nobody is known).
ALTER TABLE certificates ADD COLUMN to_centre TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN to_centre_name TEXT NOT NULL DEFAULT '';

ALTER TABLE certificate_verifications DROP CONSTRAINT certificate_verifications_channel_check;
ALTER TABLE certificate_verifications ADD CONSTRAINT certificate_verifications_channel_check
    CHECK (channel IN ('web', 'api', 'platform'));
ALTER TABLE certificate_verifications ADD COLUMN centre TEXT NOT NULL DEFAULT '';
ALTER TABLE certificate_verifications ADD COLUMN centre_name TEXT NOT NULL DEFAULT '';
