-- 0011_case_views (SQLite): what services/cases may read of the tables
-- other packages own. withdrawals is services/withdrawal's and certificates
-- services/certificate's; each declares here the view of its rows as cases
-- (the person's applications and certificates in one list, with ratings),
-- and services/cases reads only these views and its own ratings table. A
-- change to either table keeps its view's columns, or changes the view and
-- services/cases together.

-- Owned by services/withdrawal: one row per application.
CREATE VIEW withdrawal_cases AS
SELECT id, subject, kind AS type, case_number, status, created_at, updated_at, due_on
FROM withdrawals;

-- Owned by services/certificate: one row per issued certificate; created
-- when issued, last updated when revoked; no statutory due date.
CREATE VIEW certificate_cases AS
SELECT id, subject, type, number AS case_number, status, issued_at AS created_at,
       COALESCE(revoked_at, issued_at) AS updated_at, '' AS due_on
FROM certificates;
