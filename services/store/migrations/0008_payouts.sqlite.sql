-- 0008_payouts (SQLite): an application names one of the person's own
-- payout accounts by the core's id; payout_account keeps its number (the
-- one column that holds it), payout_method its kind. Rows from before
-- have no id.
ALTER TABLE withdrawals ADD COLUMN payout_account_id TEXT NOT NULL DEFAULT '';
