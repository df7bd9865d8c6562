package services

import "time"

// CentreTime is the centre's clock, Asia/Shanghai: UTC+8 all year (China
// keeps no daylight saving time), fixed so that no time zone database is
// needed. The days, months and years of limits, deadlines, documents and
// messages are counted in it.
var CentreTime = time.FixedZone("CST", 8*3600)
