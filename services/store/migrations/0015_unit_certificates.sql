-- 0015_unit_certificates (both dialects): unit deposit certificates
-- (单位住房公积金缴存证明) in the certificates table, beside the personal
-- ones. Owned by services/certificate, like the table.

-- unit_code is the unit a certificate speaks for: '' for a person's
-- certificate (subject is its holder), the unified social credit code for a
-- unit's (subject is the operator who issued it). Every operator of the
-- unit reaches the unit's certificates; a person's never match a unit, and
-- a unit's never match a person.
ALTER TABLE certificates ADD COLUMN unit_code TEXT NOT NULL DEFAULT '';

-- The unit's list, newest first; within a second, the later number.
CREATE INDEX certificates_unit_idx ON certificates (unit_code, issued_at, number) WHERE unit_code <> '';

-- A unit's certificate is not a person's case (办件): the view keeps only
-- personal certificates, as services/cases lists them per person.
DROP VIEW certificate_cases;
CREATE VIEW certificate_cases AS
SELECT id, subject, type, number AS case_number, status, issued_at AS created_at,
       COALESCE(revoked_at, issued_at) AS updated_at, '' AS due_on
FROM certificates
WHERE unit_code = '';
