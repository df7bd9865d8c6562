package reminder_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"handheld/services/reminder"
)

// The shipped rules are valid and cover every trigger.
func TestDefaults(t *testing.T) {
	rs := reminder.Defaults()
	if err := rs.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, w := range reminder.Triggers() {
		if !slices.ContainsFunc(rs, func(r reminder.Rule) bool { return r.When == w && r.Enabled }) {
			t.Errorf("no enabled default rule for %s", w)
		}
	}
}

// Every kind of bad rule refuses to start, with a message naming the rule
// and the field.
func TestRulesRefused(t *testing.T) {
	one := func(yml string) reminder.Rules {
		t.Helper()
		var rs reminder.Rules
		if err := yaml.Unmarshal([]byte(yml), &rs); err != nil {
			t.Fatal(err)
		}
		return rs
	}
	base := reminder.Defaults()[0] // loan_instalment_due
	for name, tc := range map[string]struct {
		edit func(*reminder.Rule)
		want string
	}{
		"code shape":        {func(r *reminder.Rule) { r.Code = "Loan Due" }, "[0] Loan Due: code: want 3..40 of [a-z0-9_]"},
		"category":          {func(r *reminder.Rule) { r.Category = "security" }, `category: "security", want reminders or policy_news`},
		"trigger":           {func(r *reminder.Rule) { r.When = "birthday" }, `when: "birthday", want one of loan_instalment_due`},
		"period":            {func(r *reminder.Rule) { r.Period = "fortnight" }, `period: "fortnight", want one of day, week, month, year, once`},
		"every":             {func(r *reminder.Rule) { r.Every = time.Minute }, "every: 1m0s, want between 1h and 168h"},
		"days out of range": {func(r *reminder.Rule) { r.Params.DaysBefore = 90 }, "params.days_before: 90, want 0..31"},
		"foreign param":     {func(r *reminder.Rule) { r.Params.SealedMonths = 6 }, "params.sealed_months: not a parameter of loan_instalment_due"},
		"missing locale": {func(r *reminder.Rule) {
			r.Message = map[string]reminder.Text{"zh-CN": r.Message["zh-CN"]}
		}, "message.en: title and body required"},
		"extra locale": {func(r *reminder.Rule) {
			r.Message = map[string]reminder.Text{"zh-CN": r.Message["zh-CN"], "en": r.Message["en"], "fr": {Title: "x", Body: "y"}}
		}, "message.fr: not a supported locale"},
		"placeholder of another trigger": {func(r *reminder.Rule) {
			r.Message = map[string]reminder.Text{"zh-CN": {Title: "t", Body: "{expires_on}"}, "en": r.Message["en"]}
		}, "message.zh-CN: unknown placeholder {expires_on}"},
		"wechat placeholder": {func(r *reminder.Rule) { r.WeChat.Data = map[string]string{"thing1": "{name}"} }, "wechat: unknown placeholder {name}"},
	} {
		r := base
		r.Params.AccountStatuses = nil
		tc.edit(&r)
		err := reminder.Rules{r}.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	for name, tc := range map[string]struct{ yml, want string }{
		"twice": {`[{code: abc, category: reminders, when: deposit_arrived, period: month, message: {zh-CN: {title: t, body: b}, en: {title: t, body: b}}},
			{code: abc, category: reminders, when: deposit_arrived, period: month, message: {zh-CN: {title: t, body: b}, en: {title: t, body: b}}}]`,
			"[1] abc: code: named twice"},
		"no statuses": {`[{code: news, category: policy_news, when: policy_change, period: once, message: {zh-CN: {title: t, body: b}, en: {title: t, body: b}}}]`,
			"params.account_statuses: at least one"},
		"unknown status": {`[{code: news, category: policy_news, when: policy_change, period: once, params: {account_statuses: [closed]},
			message: {zh-CN: {title: t, body: b}, en: {title: t, body: b}}}]`, `account_statuses: "closed", want normal, sealed or frozen`},
		"max below min": {`[{code: rent, category: reminders, when: rent_eligible, period: once, params: {min_continuous_months: 5, max_continuous_months: 3},
			message: {zh-CN: {title: t, body: b}, en: {title: t, body: b}}}]`, "params.max_continuous_months: 3, want 5..120"},
		"sealed months missing": {`[{code: sealed, category: reminders, when: account_sealed, period: year,
			message: {zh-CN: {title: t, body: b}, en: {title: t, body: b}}}]`, "params.sealed_months: 0, want 1..120"},
	} {
		if err := one(tc.yml).Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

func TestPeriodKey(t *testing.T) {
	at := time.Date(2026, 12, 31, 17, 0, 0, 0, time.UTC) // 2027-01-01 01:00 in Shanghai
	for p, want := range map[reminder.Period]string{reminder.Day: "2027-01-01", reminder.Week: "2026-W53",
		reminder.Month: "2027-01", reminder.Year: "2027", reminder.Once: "once"} {
		if got := p.Key(at); got != want {
			t.Errorf("%s: %s, want %s", p, got, want)
		}
	}
}
