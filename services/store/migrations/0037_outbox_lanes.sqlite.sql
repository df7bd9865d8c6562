-- 0037_outbox_lanes: the due rows of each topic in the order they fall
-- due. Owned by services/outbox (claim.go): a person's business at the
-- core (a withdrawal to submit, a transfer to send) is claimed topic by
-- topic through this index, ahead of the background topics
-- (notifications, polls, reports), which are claimed in the order of
-- outbox_pending_idx; so that a campaign of messages queued first never
-- holds up money on its way. Partial: only pending rows are in it.
CREATE INDEX outbox_due_topic_idx ON outbox (topic, next_attempt_at) WHERE delivered_at IS NULL;
