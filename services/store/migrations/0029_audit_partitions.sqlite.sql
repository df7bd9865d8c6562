-- 0029_audit_partitions (SQLite): nothing. On PostgreSQL the audit trail is
-- partitioned by month; SQLite, the embedded profile's store, has no
-- partitions and one file.
SELECT 1;
