-- 0021_certificate_requests (sqlite): certificates asked for while the core
-- was in its maintenance window (or unreachable). Owned by
-- services/certificate.
--
-- One row per request accepted without the core's facts: the holder's
-- subject (a pending request stays bound to it), what was asked (type,
-- purpose, lang) and its state: pending until the outbox's
-- certificate.issue delivery issues it when the core returns (then issued,
-- with the certificate's id), or failed when the core's answer rules it out
-- (no account). No personal data beyond the purpose the person typed.
CREATE TABLE certificate_requests (
    id             TEXT      PRIMARY KEY,
    subject        TEXT      NOT NULL,
    type           TEXT      NOT NULL,
    purpose        TEXT      NOT NULL DEFAULT '',
    lang           TEXT      NOT NULL,
    status         TEXT      NOT NULL CHECK (status IN ('pending', 'issued', 'failed')),
    certificate_id TEXT      NOT NULL DEFAULT '',
    reason         TEXT      NOT NULL DEFAULT '',
    requested_at   TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);

CREATE INDEX certificate_requests_subject_idx ON certificate_requests (subject, requested_at);

-- The case view shows a pending or failed request as a case of its own
-- (in progress, not rateable until issued); once issued, the certificate
-- is the case.
DROP VIEW certificate_cases;
CREATE VIEW certificate_cases AS
SELECT id, subject, type, number AS case_number, status, issued_at AS created_at,
       COALESCE(revoked_at, issued_at) AS updated_at, '' AS due_on
FROM certificates
WHERE unit_code = ''
UNION ALL
SELECT id, subject, type, '' AS case_number, status, requested_at AS created_at,
       updated_at, '' AS due_on
FROM certificate_requests
WHERE status <> 'issued';
