package coresim

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// shanghai is the zone every date and month of the contract is read in. A
// fixed offset (China has no daylight saving) needs no tzdata on the host.
func shanghai() *time.Location { return time.FixedZone("CST", 8*3600) }

// month counts calendar months: year*12 + (month-1). Arithmetic on it is
// plain integer arithmetic, which keeps ledgers simple.
type month int

// monthOf is the Shanghai calendar month of an instant.
func monthOf(t time.Time) month {
	t = t.In(shanghai())
	return month(t.Year()*12 + int(t.Month()) - 1)
}

func (m month) year() int           { return int(m) / 12 }
func (m month) month() time.Month   { return time.Month(int(m)%12 + 1) }
func (m month) String() string      { return fmt.Sprintf("%04d-%02d", m.year(), int(m.month())) }
func (m month) firstDay() time.Time { return time.Date(m.year(), m.month(), 1, 0, 0, 0, 0, shanghai()) }

// day is the date of day d in the month, clamped to the month's last day so
// that "the 31st" of a due date works in every month.
func (m month) day(d int) time.Time {
	last := m.firstDay().AddDate(0, 1, -1).Day()
	return time.Date(m.year(), m.month(), min(d, last), 0, 0, 0, 0, shanghai())
}

// parseMonth reads "YYYY-MM".
func parseMonth(s string) (month, error) {
	if len(s) != 7 || s[4] != '-' {
		return 0, errors.New("want YYYY-MM")
	}
	y, err1 := strconv.Atoi(s[:4])
	m, err2 := strconv.Atoi(s[5:])
	if err1 != nil || err2 != nil || y < 1900 || m < 1 || m > 12 {
		return 0, errors.New("want YYYY-MM")
	}
	return month(y*12 + m - 1), nil
}

// date formats a calendar date "YYYY-MM-DD" in Shanghai.
func date(t time.Time) string { return t.In(shanghai()).Format(time.DateOnly) }

// birthAndSex reads the birth date and sex from a GB 11643 ID number: the
// 17th character is odd for men.
func birthAndSex(idNumber string) (birth time.Time, male bool, ok bool) {
	if len(idNumber) != 18 {
		return time.Time{}, false, false
	}
	b, err := time.ParseInLocation("20060102", idNumber[6:14], shanghai())
	if err != nil {
		return time.Time{}, false, false
	}
	return b, (idNumber[16]-'0')%2 == 1, true
}

// ageOn is the age in whole years on the Shanghai date of t.
func ageOn(birth, t time.Time) int {
	t = t.In(shanghai())
	age := t.Year() - birth.Year()
	if t.Month() < birth.Month() || t.Month() == birth.Month() && t.Day() < birth.Day() {
		age--
	}
	return age
}
