package bff

import (
	"slices"
	"strings"
	"testing"
)

// The reminder rules are configuration, checked at start-up: a centre's
// own list replaces the shipped one, its templates join those a grant may
// name, and a bad rule stops start-up naming the rule and the field.
func TestRemindersConfigured(t *testing.T) {
	cfg, err := loadFile(t, `
reminders:
  - code: heating_subsidy_2027
    category: policy_news
    when: policy_change
    period: once
    enabled: true
    params: {account_statuses: [normal, sealed]}
    message:
      zh-CN: {title: 供暖补贴, body: 新政策}
      en: {title: Heating subsidy, body: A new policy}
    wechat: {template_id: centre-news-01, page: pages/news/index, data: {thing1: "{title}"}}
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Reminders) != 1 || cfg.Reminders[0].Code != "heating_subsidy_2027" {
		t.Fatalf("rules %+v: want the configured list alone", cfg.Reminders)
	}
	tm, err := cfg.notificationTemplates()
	if err != nil {
		t.Fatal(err)
	}
	if ids := tm.TemplateIDs(); !slices.Contains(ids, "centre-news-01") || slices.Contains(ids, "hpf-reminder") {
		t.Errorf("template ids %v: want the configured rule's, not the replaced defaults'", ids)
	}
	for _, tc := range []struct{ doc, want string }{
		{`
reminders:
  - {code: x1x, category: reminders, when: birthday, period: month, enabled: true,
     message: {zh-CN: {title: t, body: b}, en: {title: t, body: b}}, wechat: {template_id: a, page: p, data: {thing1: "{title}"}}}
`, `reminders: [0] x1x: when: "birthday"`},
		{`
reminders:
  - {code: due, category: reminders, when: loan_instalment_due, period: month, enabled: true, params: {days_before: 3},
     message: {zh-CN: {title: t, body: "{expires_on}"}, en: {title: t, body: b}}, wechat: {template_id: a, page: p, data: {thing1: "{title}"}}}
`, "message.zh-CN: unknown placeholder {expires_on}"},
		{`
reminders:
  - {code: paid, category: reminders, when: deposit_arrived, period: month, enabled: true,
     message: {zh-CN: {title: t, body: b}, en: {title: t, body: b}}, wechat: {template_id: a, page: p, data: {thing1: "{title}"}}}
`, "reminders.paid: the code is a case status or a notice already"},
		{`
reminders:
  - {code: dep, category: reminders, when: deposit_arrived, period: month, enabled: true, colour: red,
     message: {zh-CN: {title: t, body: b}, en: {title: t, body: b}}, wechat: {template_id: a, page: p, data: {thing1: "{title}"}}}
`, "colour"},
	} {
		_, err := loadFile(t, tc.doc)
		if err == nil {
			var cfg Config
			if cfg, err = loadFile(t, tc.doc); err == nil {
				_, err = cfg.notificationTemplates()
			}
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.doc, err, tc.want)
		}
	}
}
