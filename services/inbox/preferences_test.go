package inbox

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
)

// local is a time of day in the centre's zone on 24 November 2026.
func local(hh, mm int) time.Time { return time.Date(2026, 11, 24, hh, mm, 0, 0, services.CentreTime) }

func TestQuietUntil(t *testing.T) {
	night := QuietHours{From: "22:00", To: "08:00"}
	lunch := QuietHours{From: "12:00", To: "13:30"}
	for _, tc := range []struct {
		q         QuietHours
		now       time.Time
		quiet     bool
		wantUntil time.Time
	}{
		{night, local(21, 59), false, time.Time{}},
		{night, local(22, 0), true, local(8, 0).AddDate(0, 0, 1)},
		{night, local(23, 59), true, local(8, 0).AddDate(0, 0, 1)},
		{night, local(0, 0), true, local(8, 0)},
		{night, local(7, 59), true, local(8, 0)},
		{night, local(8, 0), false, time.Time{}},
		{night, local(14, 5), false, time.Time{}},
		{lunch, local(11, 59), false, time.Time{}},
		{lunch, local(12, 0), true, local(13, 30)},
		{lunch, local(13, 29), true, local(13, 30)},
		{lunch, local(13, 30), false, time.Time{}},
		{QuietHours{}, local(3, 0), false, time.Time{}},
		// UTC in, the centre's hours out: 15:00 UTC is 23:00 in Shanghai.
		{night, time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC), true, local(8, 0).AddDate(0, 0, 1)},
	} {
		quiet, until := tc.q.QuietUntil(tc.now)
		if quiet != tc.quiet || !until.Equal(tc.wantUntil) {
			t.Errorf("%s at %s: %v until %s, want %v until %s", tc.q, tc.now.In(services.CentreTime).Format("15:04"),
				quiet, until, tc.quiet, tc.wantUntil)
		}
	}
}

func TestPreferencesApply(t *testing.T) {
	base := DefaultPreferences()
	fieldCodes := func(err error) []string {
		var out []string
		if e, ok := err.(*services.Error); ok {
			for _, f := range e.Fields {
				out = append(out, f.Field+" "+f.Code)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		u      PreferencesUpdate
		code   services.Code
		fields []string
	}{
		{"hour 25", PreferencesUpdate{Quiet: QuietHours{From: "25:00", To: "08:00"}}, services.CodeInvalid,
			[]string{"quiet_hours.from format"}},
		{"minute 60", PreferencesUpdate{Quiet: QuietHours{From: "22:00", To: "07:60"}}, services.CodeInvalid,
			[]string{"quiet_hours.to format"}},
		{"one digit", PreferencesUpdate{Quiet: QuietHours{From: "8:00", To: "22:00"}}, services.CodeInvalid,
			[]string{"quiet_hours.from format"}},
		{"words", PreferencesUpdate{Quiet: QuietHours{From: "night", To: "morning"}}, services.CodeInvalid,
			[]string{"quiet_hours.from format", "quiet_hours.to format"}},
		{"one end only", PreferencesUpdate{Quiet: QuietHours{From: "22:00"}}, services.CodeInvalid,
			[]string{"quiet_hours.to format"}},
		{"empty window", PreferencesUpdate{Quiet: QuietHours{From: "22:00", To: "22:00"}}, services.CodeInvalid,
			[]string{"quiet_hours.to same_as"}},
		{"unknown category", PreferencesUpdate{WeChat: map[string]bool{"gossip": false}}, services.CodeInvalid,
			[]string{"categories.gossip one_of"}},
		{"security off", PreferencesUpdate{WeChat: map[string]bool{"security": false}}, services.CodeSecurityMessagesRequired, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := base.apply(tc.u)
			if services.ErrorCode(err) != tc.code {
				t.Fatalf("%v, want %s", err, tc.code)
			}
			if diff := cmp.Diff(tc.fields, fieldCodes(err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
	got, err := base.apply(PreferencesUpdate{Quiet: QuietHours{From: "22:00", To: "08:00"},
		WeChat: map[string]bool{"policy_news": false, "security": true}})
	if err != nil {
		t.Fatal(err)
	}
	want := Preferences{Quiet: QuietHours{From: "22:00", To: "08:00"},
		WeChat: map[Category]bool{CaseProgress: true, Reminders: true, PolicyNews: false, Security: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	if !base.WeChat[PolicyNews] {
		t.Error("apply changed the preferences it started from")
	}
}
