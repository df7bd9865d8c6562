package audit

import (
	"context"
	"time"

	"handheld/services"
)

// run is the writer: it takes one record, gathers what else is queued into
// a batch, writes the batch in one transaction, and tells each waiting
// Append the outcome. While it writes, new records queue up and form the
// next batch (group commit), so the batch size follows the load. Once Close
// has sealed the queue it goes on until the queue is empty, then stops.
func (l *Log) run() {
	defer close(l.stopped)
	batch := make([]entry, 0, l.batchSize)
	for {
		batch = batch[:0]
		select {
		case e := <-l.queue:
			batch = append(batch, e)
		case <-l.sealed:
			select {
			case e := <-l.queue:
				batch = append(batch, e)
			default:
				return
			}
		}
		l.write(l.fill(batch))
	}
}

// fill adds queued records to a batch of one. It takes what is queued
// without waiting; then, unless someone waits on the batch, it lingers up to
// flushEvery for more, as fire-and-forget reads come in bursts.
func (l *Log) fill(batch []entry) []entry {
	waited := batch[0].done != nil
	for len(batch) < l.batchSize {
		select {
		case e := <-l.queue:
			batch = append(batch, e)
			waited = waited || e.done != nil
			continue
		default:
		}
		break
	}
	if waited || l.flushEvery < 0 || len(batch) >= l.batchSize {
		return batch
	}
	timer := time.NewTimer(l.flushEvery)
	defer timer.Stop()
	for len(batch) < l.batchSize {
		select {
		case e := <-l.queue:
			batch = append(batch, e)
			if e.done != nil {
				return batch
			}
		case <-timer.C:
			return batch
		case <-l.closing:
			return batch
		}
	}
	return batch
}

// write commits one batch, trying again a few times when it fails: the
// store already retries lock timeouts and serialization failures, this
// covers a connection lost or a fail-over. Should a commit succeed but its
// acknowledgement be lost, the retry writes the records again: a duplicate
// in the trail is better than a gap.
func (l *Log) write(batch []entry) {
	recs := make([]Record, len(batch))
	for i, e := range batch {
		recs[i] = e.rec
	}
	start := time.Now()
	var err error
	pause := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(l.writeCtx, writeTimeout)
		if l.replica == "" {
			err = appendChain(ctx, l.store, l.suite, recs)
		} else {
			now := l.now()
			err = appendShard(ctx, l.store, l.suite, ShardOf(l.replica, now), HourKey(now), recs, now)
		}
		cancel()
		if err == nil || attempt == writeAttempts || l.writeCtx.Err() != nil {
			break
		}
		select {
		case <-time.After(pause):
		case <-l.writeCtx.Done():
		}
		pause *= 4
	}
	if l.onBatch != nil {
		l.onBatch(len(batch), time.Since(start), err)
	}
	if err != nil {
		err = services.Errorf(services.CodeInternal, "audit: write %d records: %w", len(batch), err)
	}
	lost := 0
	for _, e := range batch {
		if e.done != nil {
			e.done <- err
		} else if err != nil {
			lost++
		}
	}
	if err != nil {
		l.logger.Error("audit batch not written", "records", len(batch), "unconfirmed_lost", lost,
			"first_action", recs[0].Action, "cause", err.Error())
	}
}
