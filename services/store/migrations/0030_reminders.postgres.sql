-- 0030_reminders (PostgreSQL): the reminders sent, one row per
-- rule, period and person. Owned by services/reminder.
--
-- A reminder run inserts the row and queues its message on the outbox in
-- one transaction; the primary key makes a second run of the period (a
-- replica taking over a dead one's lease, two replicas at once, an
-- operator's rerun) insert nothing and queue nothing: at most one message
-- per person, rule and period. period is the rule's own (2026-12-06,
-- 2026-W49, 2026-12, 2026, once), in the centre's time.
CREATE TABLE reminder_sends (
    rule    TEXT        NOT NULL,
    period  TEXT        NOT NULL,
    subject TEXT        NOT NULL,
    sent_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (rule, period, subject)
);

-- What the retention job removes (reminder.Purge): rows of periods long
-- over, found by age without a full scan. Rows of `once` rules stay.
CREATE INDEX reminder_sends_sent_idx ON reminder_sends (sent_at);
