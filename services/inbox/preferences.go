package inbox

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// QuietHours are the person's do-not-disturb hours, "HH:MM" to "HH:MM" in
// the centre's time (services.CentreTime), From included, To excluded. A
// From after To spans midnight ("22:00" to "08:00"). The zero value is no
// quiet hours.
type QuietHours struct {
	From string
	To   string
}

// Set reports whether q holds quiet hours at all.
func (q QuietHours) Set() bool { return q.From != "" || q.To != "" }

// Preferences are what a person chose for their messages.
type Preferences struct {
	// Quiet are the hours in which no message that can wait goes out
	// through WeChat; it waits until they end.
	Quiet QuietHours
	// WeChat says, per category, whether a WeChat copy may go out. The
	// inbox keeps every message whatever it says. Every category is
	// present; security is always true.
	WeChat map[Category]bool
}

// DefaultPreferences are a person's until they change them: no quiet
// hours, every category through WeChat.
func DefaultPreferences() Preferences {
	p := Preferences{WeChat: map[Category]bool{}}
	for _, c := range Categories() {
		p.WeChat[c] = true
	}
	return p
}

// PreferencesUpdate is a change of preferences: Quiet replaces the quiet
// hours (the zero value clears them); WeChat changes the categories it
// names and leaves the others as they were.
type PreferencesUpdate struct {
	Quiet  QuietHours
	WeChat map[string]bool
}

// clock is a time of day in minutes after midnight.
type clock int

// parseClock reads "HH:MM", 00:00 to 23:59, two digits each.
func parseClock(s string) (clock, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, errors.New("not HH:MM")
	}
	digits := func(a, b byte) (int, bool) {
		if a < '0' || a > '9' || b < '0' || b > '9' {
			return 0, false
		}
		return int(a-'0')*10 + int(b-'0'), true
	}
	h, okh := digits(s[0], s[1])
	m, okm := digits(s[3], s[4])
	if !okh || !okm || h > 23 || m > 59 {
		return 0, errors.New("not a time of day")
	}
	return clock(h*60 + m), nil
}

// Validate checks q: both ends or neither, each a time of day, and not the
// same (an empty or a whole-day window is no choice a person means).
func (q QuietHours) Validate() []services.FieldError {
	if !q.Set() {
		return nil
	}
	var fields []services.FieldError
	from, errFrom := parseClock(q.From)
	if errFrom != nil {
		fields = append(fields, services.FieldError{Field: "quiet_hours.from", Code: services.FieldFormat})
	}
	to, errTo := parseClock(q.To)
	if errTo != nil {
		fields = append(fields, services.FieldError{Field: "quiet_hours.to", Code: services.FieldFormat})
	}
	if errFrom == nil && errTo == nil && from == to {
		fields = append(fields, services.FieldError{Field: "quiet_hours.to", Code: services.FieldSameAs,
			Params: map[string]any{"other": "quiet_hours.from"}})
	}
	return fields
}

// QuietUntil reports whether now falls in q and, if so, when q ends: the
// next To after now, in the centre's time. q must be valid.
func (q QuietHours) QuietUntil(now time.Time) (bool, time.Time) {
	if !q.Set() {
		return false, time.Time{}
	}
	from, errFrom := parseClock(q.From)
	to, errTo := parseClock(q.To)
	if errFrom != nil || errTo != nil || from == to {
		return false, time.Time{}
	}
	local := now.In(services.CentreTime)
	m := clock(local.Hour()*60 + local.Minute())
	var quiet bool
	if from < to {
		quiet = from <= m && m < to
	} else {
		quiet = m >= from || m < to
	}
	if !quiet {
		return false, time.Time{}
	}
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, services.CentreTime)
	end := midnight.Add(time.Duration(to) * time.Minute)
	if !end.After(local) {
		end = end.AddDate(0, 0, 1)
	}
	return true, end
}

// apply validates u against p and returns the preferences it makes. Every
// problem is reported at once; security cannot be switched off.
func (p Preferences) apply(u PreferencesUpdate) (Preferences, error) {
	fields := u.Quiet.Validate()
	next := Preferences{Quiet: u.Quiet, WeChat: maps.Clone(p.WeChat)}
	securityOff := false
	for _, name := range slices.Sorted(maps.Keys(u.WeChat)) {
		c := Category(name)
		if !c.Valid() {
			fields = append(fields, services.FieldError{Field: "categories." + name, Code: services.FieldOneOf,
				Params: map[string]any{"allowed": categoryNames()}})
			continue
		}
		if c == Security && !u.WeChat[name] {
			securityOff = true
		}
		next.WeChat[c] = u.WeChat[name]
	}
	if len(fields) > 0 {
		return Preferences{}, services.Invalid(fields...)
	}
	if securityOff {
		return Preferences{}, services.E(services.CodeSecurityMessagesRequired)
	}
	return next, nil
}

// categoryNames lists the categories for a field error.
func categoryNames() string {
	names := make([]string, 0, len(Categories()))
	for _, c := range Categories() {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ")
}

// Preferences are p's preferences, the defaults until changed.
func (s *Service) Preferences(ctx context.Context, p services.Principal) (Preferences, error) {
	if err := p.Depositor(); err != nil {
		return Preferences{}, err
	}
	prefs, err := s.preferencesOf(ctx, p.Subject)
	return prefs, s.record(ctx, p, ActionReadPreferences, "preferences", err)
}

// SetPreferences applies u to p's preferences and returns them; an
// invalid update changes nothing.
func (s *Service) SetPreferences(ctx context.Context, p services.Principal, u PreferencesUpdate) (Preferences, error) {
	if err := p.Depositor(); err != nil {
		return Preferences{}, err
	}
	current, err := s.preferencesOf(ctx, p.Subject)
	if err != nil {
		return Preferences{}, err
	}
	next, err := current.apply(u)
	if err != nil {
		return Preferences{}, err
	}
	var off []string
	for _, c := range Categories() {
		if !next.WeChat[c] {
			off = append(off, string(c))
		}
	}
	_, err = s.store.Exec(ctx, `INSERT INTO message_preferences (subject, quiet_from, quiet_to, wechat_off, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (subject) DO UPDATE SET quiet_from = excluded.quiet_from, quiet_to = excluded.quiet_to,
			wechat_off = excluded.wechat_off, updated_at = excluded.updated_at`,
		p.Subject, next.Quiet.From, next.Quiet.To, strings.Join(off, ","), store.Timestamp(s.now()))
	if err != nil {
		err = services.Errorf(services.CodeInternal, "inbox: save preferences: %w", err)
	}
	return next, s.record(ctx, p, ActionPreferences, "preferences", err)
}

// PreferencesOf are subject's preferences, for the notifier deciding on a
// push (no principal: it acts for the centre, not the person).
func (s *Service) PreferencesOf(ctx context.Context, subject string) (Preferences, error) {
	return s.preferencesOf(ctx, subject)
}

func (s *Service) preferencesOf(ctx context.Context, subject string) (Preferences, error) {
	all, err := s.PreferencesOfAll(ctx, subject)
	return all[subject], err
}

// PreferencesOfAll is PreferencesOf for several people, in one query: by
// subject, the defaults for those who changed nothing.
func (s *Service) PreferencesOfAll(ctx context.Context, subjects ...string) (map[string]Preferences, error) {
	all := make(map[string]Preferences, len(subjects))
	for _, subject := range subjects {
		all[subject] = DefaultPreferences()
	}
	if len(subjects) == 0 {
		return all, nil
	}
	rows, err := s.store.Query(ctx, `SELECT subject, quiet_from, quiet_to, wechat_off FROM message_preferences
		WHERE subject IN (`+store.Placeholders(1, len(subjects))+`)`, store.Args(subjects...)...)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "inbox: read preferences: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var subject, off string
		prefs := DefaultPreferences()
		if err := rows.Scan(&subject, &prefs.Quiet.From, &prefs.Quiet.To, &off); err != nil {
			return nil, services.Errorf(services.CodeInternal, "inbox: read preferences: %w", err)
		}
		for name := range strings.SplitSeq(off, ",") {
			if c := Category(name); c.Valid() && !c.Urgent() {
				prefs.WeChat[c] = false
			}
		}
		all[subject] = prefs
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "inbox: read preferences: %w", err)
	}
	return all, nil
}

// String is q for logs and tests.
func (q QuietHours) String() string { return fmt.Sprintf("%s-%s", q.From, q.To) }
