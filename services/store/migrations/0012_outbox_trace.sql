-- 0012_outbox_trace (both dialects): the trace context of the request that
-- enqueued a row, as a W3C traceparent value, so that its delivery (a
-- withdrawal's later call to the core) joins that request's trace. NULL for
-- rows from before it and for rows enqueued outside any trace. Not personal
-- data: random ids and a flag. Owned by services/outbox, like the table.
ALTER TABLE outbox ADD COLUMN trace_parent TEXT;
