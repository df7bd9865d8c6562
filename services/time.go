package services

import "time"

// CentreTime is the centre's clock, Asia/Shanghai: UTC+8 all year (China
// keeps no daylight saving time), fixed so that no time zone database is
// needed. The days, months and years of limits, deadlines, documents and
// messages are counted in it.
var CentreTime = time.FixedZone("CST", 8*3600)

// Instant is t as the API states instants: RFC 3339 in the centre's zone
// (2026-11-25T01:32:00+08:00), so the day a person reads is the centre's.
func Instant(t time.Time) string { return t.In(CentreTime).Format(time.RFC3339) }
