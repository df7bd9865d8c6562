package audit

import (
	"context"
	"time"

	"handheld/services"
)

// Volume is how many records share an action, a channel, a result and an
// hour of the day (Asia/Shanghai), for reports.
type Volume struct {
	Action, Channel, Result string
	Hour                    int
	N                       int64
}

// Volumes counts the records of [start, end) by action, channel, result
// and hour of the day, in SQL: the supervision dashboard's volumes. It
// reads counts only, no record.
func (l *Log) Volumes(ctx context.Context, start, end time.Time) ([]Volume, error) {
	hour := l.store.Dialect().CentreHour("at")
	rows, err := l.store.Query(ctx, `SELECT action, channel, result, `+hour+` AS h, COUNT(*) FROM audit_log
		WHERE at >= $1 AND at < $2 GROUP BY action, channel, result, `+hour, start, end)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "audit: volumes: %w", err)
	}
	defer rows.Close()
	var out []Volume
	for rows.Next() {
		var v Volume
		if err := rows.Scan(&v.Action, &v.Channel, &v.Result, &v.Hour, &v.N); err != nil {
			return nil, services.Errorf(services.CodeInternal, "audit: volumes: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "audit: volumes: %w", err)
	}
	return out, nil
}

// ActorCount is how many records one actor has.
type ActorCount struct {
	Actor string
	N     int64
}

// CountByActor counts the records of [start, end) with action and result
// per actor, most first: e.g. shares redeemed per relying party.
func (l *Log) CountByActor(ctx context.Context, action, result string, start, end time.Time) ([]ActorCount, error) {
	rows, err := l.store.Query(ctx, `SELECT actor, COUNT(*) FROM audit_log WHERE at >= $1 AND at < $2
		AND action = $3 AND result = $4 GROUP BY actor ORDER BY COUNT(*) DESC, actor`, start, end, action, result)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "audit: count by actor: %w", err)
	}
	defer rows.Close()
	var out []ActorCount
	for rows.Next() {
		var c ActorCount
		if err := rows.Scan(&c.Actor, &c.N); err != nil {
			return nil, services.Errorf(services.CodeInternal, "audit: count by actor: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "audit: count by actor: %w", err)
	}
	return out, nil
}
