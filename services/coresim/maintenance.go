package coresim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Window is a daily maintenance window in Asia/Shanghai time, such as the
// core's nightly batch run. End before Start means it crosses midnight.
type Window struct {
	Start, End time.Duration // offsets from midnight
}

// ParseWindow reads "HH:MM-HH:MM", e.g. "23:00-01:00" (crossing midnight is
// allowed; "24:00" may end a window). Start and end must differ.
func ParseWindow(s string) (Window, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Window{}, fmt.Errorf("window %q: want HH:MM-HH:MM, e.g. 23:00-01:00", s)
	}
	start, err := parseClock(from, false)
	if err != nil {
		return Window{}, fmt.Errorf("window %q: start: %w", s, err)
	}
	end, err := parseClock(to, true)
	if err != nil {
		return Window{}, fmt.Errorf("window %q: end: %w", s, err)
	}
	if start == end {
		return Window{}, fmt.Errorf("window %q: start and end are the same time", s)
	}
	return Window{Start: start, End: end}, nil
}

// parseClock reads "HH:MM"; "24:00" only when allowed (as an end).
func parseClock(s string, allow24 bool) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || h == 24 && (m != 0 || !allow24) {
		return 0, fmt.Errorf("%q: not a time of day", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

func (w Window) String() string {
	clock := func(d time.Duration) string {
		return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return clock(w.Start) + "-" + clock(w.End)
}

// Remaining reports whether t falls inside the window and, if so, how long
// until it ends.
func (w Window) Remaining(t time.Time) (time.Duration, bool) {
	t = t.In(shanghai())
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	tod := t.Sub(midnight)
	switch {
	case w.Start < w.End && tod >= w.Start && tod < w.End:
		return w.End - tod, true
	case w.Start > w.End && tod >= w.Start:
		return 24*time.Hour - tod + w.End, true
	case w.Start > w.End && tod < w.End:
		return w.End - tod, true
	}
	return 0, false
}

// SetMaintenance replaces the maintenance window; "" removes it. Safe while
// serving; an invalid window changes nothing.
func (s *Sim) SetMaintenance(spec string) error {
	if strings.TrimSpace(spec) == "" {
		s.window.Store(nil)
		return nil
	}
	w, err := ParseWindow(spec)
	if err != nil {
		return err
	}
	s.window.Store(&w)
	return nil
}

// Maintenance returns the window in force, "" when none.
func (s *Sim) Maintenance() string {
	if w := s.window.Load(); w != nil {
		return w.String()
	}
	return ""
}

// inMaintenance reports whether now is inside the window and the whole
// seconds a client should wait (Retry-After), at least 1.
func (s *Sim) inMaintenance(now time.Time) (int, bool) {
	w := s.window.Load()
	if w == nil {
		return 0, false
	}
	left, in := w.Remaining(now)
	if !in {
		return 0, false
	}
	return max(1, int((left+time.Second-1)/time.Second)), true
}
