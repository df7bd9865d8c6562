package bff

import (
	"slices"
	"strings"
	"testing"
)

// The WeChat templates are configuration, checked at start-up: a mistake
// stops it, naming the setting and the entry.
func TestNotificationTemplatesConfigured(t *testing.T) {
	cfg, err := loadFile(t, `
notification_templates:
  approved:
    template_id: centre-approved-01
    data: {character_string1: "{case_number}", phrase2: "{status}"}
`)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := cfg.notificationTemplates()
	if err != nil {
		t.Fatal(err)
	}
	if ids := tm.TemplateIDs(); !slices.Contains(ids, "centre-approved-01") || !slices.Contains(ids, "hpf-withdrawal-status") {
		t.Errorf("template ids %v: want the configured one beside the shipped ones still in use", ids)
	}
	if got := cfg.Redacted()["notification_templates"]; !strings.Contains(got, "centre-approved-01") {
		t.Errorf("start-up dump %q lacks the configured template", got)
	}

	for _, tc := range []struct{ doc, want string }{
		{`
notification_templates:
  lottery_win: {template_id: x, data: {thing1: "{kind}"}}
`, "notification_templates.lottery_win: not a known notification"},
		{`
notification_templates:
  paid: {template_id: centre-paid}
`, "notification_templates.paid.data: missing"},
		{`
notification_templates:
  sign_in: {template_id: "has spaces", data: {thing1: "{who}"}}
`, "notification_templates.sign_in.template_id: must be"},
		{`
notification_templates:
  paid: {template_id: centre-paid, data: {thing1: "{kind}"}, colour: red}
`, "colour"},
	} {
		if _, err := loadFile(t, tc.doc); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.doc, err, tc.want)
		}
	}
}
