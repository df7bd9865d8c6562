package notify

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/inbox"
)

func TestConfigureRejects(t *testing.T) {
	tm := shipped(t)
	data := map[string]string{"thing1": "{kind}", "phrase2": "{status}"}
	for _, tc := range []struct {
		name string
		o    Overrides
		want []string
	}{
		{"unknown notification", Overrides{"lost": {TemplateID: "tpl", Data: data}},
			[]string{"notification_templates.lost: not a known notification"}},
		{"no field mapping", Overrides{"approved": {TemplateID: "tpl-approved"}},
			[]string{"notification_templates.approved.data: missing"}},
		{"no template id", Overrides{"paid": {Data: data}},
			[]string{"notification_templates.paid.template_id: must be"}},
		{"bad data key and placeholder", Overrides{"sign_in": {TemplateID: "tpl", Data: map[string]string{"title": "{who}"}}},
			[]string{"notification_templates.sign_in.data.title: not a WeChat data key",
				"notification_templates.sign_in.data.title: unknown placeholder {who}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tm.Configure("notification_templates", tc.o)
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v, want one containing %q", err, w)
				}
			}
		})
	}
}

func TestConfigureReplacesTemplateInEveryLocale(t *testing.T) {
	tm, err := shipped(t).Configure("notification_templates", Overrides{
		"approved": {TemplateID: "centre-approved", Data: map[string]string{"character_string1": "{case_number}", "phrase2": "{status}"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := Event{Subject: "s", ApplicationID: "wd_1", CaseNumber: "WD1", Kind: "rent", Status: "approved", At: time.Unix(0, 0)}
	for _, locale := range []string{"zh-CN", "en"} {
		e.Locale = locale
		msg, err := tm.render(e)
		if err != nil {
			t.Fatal(err)
		}
		if msg.TemplateID != "centre-approved" || len(msg.Data) != 2 || msg.Data["character_string1"] != "WD1" ||
			msg.Page != "pages/withdrawal/detail?id=wd_1" {
			t.Errorf("%s: %+v, want the configured template, fields and the shipped page", locale, msg)
		}
	}
	if ids := tm.TemplateIDs(); !slices.Contains(ids, "centre-approved") {
		t.Errorf("template ids %v lack the configured one", ids)
	}
	e.Status = "paid"
	if msg, _ := tm.render(e); msg.TemplateID == "centre-approved" {
		t.Error("a status not configured took the configured template")
	}
}

func TestRenderText(t *testing.T) {
	tm := shipped(t)
	at := time.Date(2026, 11, 24, 14, 5, 0, 0, services.CentreTime)
	rejected, _ := json.Marshal(Event{Subject: "s", ApplicationID: "wd_1", CaseNumber: "WD1", Kind: "rent", Status: "rejected",
		Reason: "no_loan", AmountFen: 120000, At: at})
	signIn, _ := json.Marshal(Event{Subject: "s", Notice: NoticeSignIn, ID: "n1", At: at})
	for _, tc := range []struct {
		kind    string
		content []byte
		locale  string
		want    inbox.Text
	}{
		{"rejected", rejected, "zh-CN", inbox.Text{Title: "租房提取未通过",
			Body: "业务编号 WD1，租房提取 1,200.00元未通过审核：没有未结清的公积金贷款（2026-11-24 14:05）。",
			Link: "pages/withdrawal/detail?id=wd_1"}},
		{"sign_in", signIn, "en", inbox.Text{Title: "New sign-in",
			Body: "Your provident fund account was signed in to at 2026-11-24 14:05. If this was not you, call 12329 now.",
			Link: "pages/messages/index"}},
	} {
		got, err := tm.RenderText(tc.kind, tc.content, tc.locale)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tc.kind, tc.locale, diff)
		}
	}
	if _, err := tm.RenderText("paid", rejected, "en"); err == nil {
		t.Error("a rejected event rendered as paid")
	}
}
