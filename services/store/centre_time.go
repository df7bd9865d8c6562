package store

// CentreDate is an SQL expression for the date (YYYY-MM-DD) of the
// timestamp column col in the centre's time zone (Asia/Shanghai, UTC+8 all
// year), for grouping reports by day. col must be a column name of the
// caller's own query, never input.
func (d Dialect) CentreDate(col string) string {
	if d == Postgres {
		return `to_char(` + col + ` AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')`
	}
	// SQLite keeps unix microseconds (0001_init).
	return `date(` + col + ` / 1000000 + 28800, 'unixepoch')`
}

// CentreHour is an SQL expression for the hour of the day (0–23) of the
// timestamp column col in the centre's time zone, as an integer.
func (d Dialect) CentreHour(col string) string {
	if d == Postgres {
		return `CAST(EXTRACT(HOUR FROM ` + col + ` AT TIME ZONE 'Asia/Shanghai') AS INTEGER)`
	}
	return `CAST(((` + col + ` / 1000000 + 28800) % 86400) / 3600 AS INTEGER)`
}
