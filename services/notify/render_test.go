package notify

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/wechat"
	"handheld/templates"
)

func shipped(t *testing.T) *Templates {
	t.Helper()
	tm, err := LoadTemplates(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestFormatAmount(t *testing.T) {
	zh := amountFormat{Suffix: "元", Thousands: ","}
	en := amountFormat{Prefix: "CNY ", Thousands: ","}
	for _, tc := range []struct {
		fen  int64
		f    amountFormat
		want string
	}{
		{450000, zh, "4,500.00元"},
		{450000, en, "CNY 4,500.00"},
		{0, zh, "0.00元"},
		{1, zh, "0.01元"},
		{10, en, "CNY 0.10"},
		{99999, zh, "999.99元"},
		{100000, zh, "1,000.00元"},
		{123456789012, en, "CNY 1,234,567,890.12"},
		{450000, amountFormat{Suffix: "元"}, "4500.00元"},
		{-150, zh, "-1.50元"},
		{-123456, en, "CNY -1,234.56"},
		{math.MinInt64, zh, "-92,233,720,368,547,758.08元"},
	} {
		if got := formatAmount(tc.fen, tc.f); got != tc.want {
			t.Errorf("formatAmount(%d, %+v) = %q, want %q", tc.fen, tc.f, got, tc.want)
		}
	}
}

func TestFit(t *testing.T) {
	for _, tc := range []struct {
		v, typ, want string
	}{
		{"Critical illness withdrawal", "thing", "Critical illness wi…"},
		{"证明材料不全，请补充后重新申请并携带原件到柜台办理", "thing", "证明材料不全，请补充后重新申请并携带原…"},
		{"exactly twenty chars", "thing", "exactly twenty chars"},
		{"审核通过了吗", "phrase", "审核通过了"},
		{"审核通过", "phrase", "审核通过"},
		{"WD2026112400000000000000000000000042", "character_string", "WD202611240000000000000000000000"},
		{"CNY 1,234,567,890,123,456.00", "amount", "CNY 1,234,567,890,123,456.00"},
		{"2026-11-24 14:05", "time", "2026-11-24 14:05"},
	} {
		got := fit(tc.v, tc.typ)
		if got != tc.want {
			t.Errorf("fit(%q, %s) = %q, want %q", tc.v, tc.typ, got, tc.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("fit(%q, %s) split a character: %q", tc.v, tc.typ, got)
		}
		if limit := fieldLimits[tc.typ]; limit > 0 && utf8.RuneCountInString(got) > limit {
			t.Errorf("fit(%q, %s) = %d characters, over %d", tc.v, tc.typ, utf8.RuneCountInString(got), limit)
		}
	}
}

func TestRender(t *testing.T) {
	tm := shipped(t)
	// 06:05 UTC is 14:05 in Shanghai; 16:30 UTC is already the next day there.
	afternoon := time.Date(2026, 11, 24, 6, 5, 0, 0, time.UTC)
	lateUTC := time.Date(2026, 11, 24, 16, 30, 0, 0, time.UTC)
	base := Event{Subject: "s_abc", ApplicationID: "wd_01", CaseNumber: "WD20261124000042", Kind: "rent",
		Status: "rejected", Reason: "rent_too_frequent", AmountFen: 450000, At: afternoon}
	for _, tc := range []struct {
		name string
		edit func(e *Event)
		want wechat.Message
	}{
		{"zh rejected", func(e *Event) { e.Locale = "zh-CN" }, wechat.Message{
			TemplateID: "hpf-withdrawal-status", Page: "pages/withdrawal/detail?id=wd_01", Lang: "zh_CN",
			Data: map[string]string{"character_string1": "WD20261124000042", "thing2": "租房提取", "amount3": "4,500.00元",
				"phrase4": "未通过", "time5": "2026-11-24 14:05", "thing6": "三个月内已办理过租房提取"}}},
		{"en rejected", func(e *Event) { e.Locale = "en" }, wechat.Message{
			TemplateID: "hpf-withdrawal-status-en", Page: "pages/withdrawal/detail?id=wd_01", Lang: "en_US",
			Data: map[string]string{"character_string1": "WD20261124000042", "thing2": "Rent", "amount3": "CNY 4,500.00",
				"thing4": "Not approved", "time5": "2026-11-24 14:05", "thing6": "Rent: once a quarter"}}},
		{"zh paid after midnight in Shanghai", func(e *Event) {
			e.Locale, e.Status, e.Reason, e.Kind, e.AmountFen, e.At = "zh-CN", "paid", "", "critical_illness", 12345678, lateUTC
		}, wechat.Message{
			TemplateID: "hpf-withdrawal-status", Page: "pages/withdrawal/detail?id=wd_01", Lang: "zh_CN",
			Data: map[string]string{"character_string1": "WD20261124000042", "thing2": "重大疾病提取", "amount3": "123,456.78元",
				"phrase4": "已支付", "time5": "2026-11-25 00:30", "thing6": "提取资金已转入您的收款账户"}}},
		{"en-US reads as en; unknown reason is generic", func(e *Event) {
			e.Locale, e.Reason, e.At = "en-US", "core_said_no", lateUTC
		}, wechat.Message{
			TemplateID: "hpf-withdrawal-status-en", Page: "pages/withdrawal/detail?id=wd_01", Lang: "en_US",
			Data: map[string]string{"character_string1": "WD20261124000042", "thing2": "Rent", "amount3": "CNY 4,500.00",
				"thing4": "Not approved", "time5": "2026-11-25 00:30", "thing6": "See details in app"}}},
		{"unknown locale reads as zh-CN; page escapes the id", func(e *Event) {
			e.Locale, e.Status, e.ApplicationID = "fr", "accepted", "wd 1&x=2"
		}, wechat.Message{
			TemplateID: "hpf-withdrawal-status", Page: "pages/withdrawal/detail?id=wd+1%26x%3D2", Lang: "zh_CN",
			Data: map[string]string{"character_string1": "WD20261124000042", "thing2": "租房提取", "amount3": "4,500.00元",
				"phrase4": "已受理", "time5": "2026-11-24 14:05", "thing6": "申请已受理，请留意审核进度"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := base
			tc.edit(&e)
			got, err := tm.render(e)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

// A text longer than its field is cut to fit, in both locales.
func TestRenderTruncates(t *testing.T) {
	tm := shipped(t)
	tm.byLocale["zh-CN"].Kinds["rent"] = "租赁住房提取（含公共租赁住房及市场租赁住房）"
	tm.byLocale["zh-CN"].Statuses["rejected"] = "审核未予通过"
	tm.byLocale["en"].Kinds["rent"] = "Rent of a home in the city"
	e := Event{Subject: "s", ApplicationID: "a", CaseNumber: "c", Kind: "rent", Status: "rejected", AmountFen: 1, At: time.Unix(0, 0)}
	zh, err := tm.render(e)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := zh.Data["thing2"], "租赁住房提取（含公共租赁住房及市场租赁…"; got != want {
		t.Errorf("zh thing2 = %q, want %q", got, want)
	}
	if got, want := zh.Data["phrase4"], "审核未予通"; got != want {
		t.Errorf("zh phrase4 = %q, want %q", got, want)
	}
	e.Locale = "en"
	en, err := tm.render(e)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := en.Data["thing2"], "Rent of a home in t…"; got != want {
		t.Errorf("en thing2 = %q, want %q", got, want)
	}
}

// The shipped texts fit their fields whole: truncation is a safety net,
// not how a message is meant to read.
func TestShippedTextsFit(t *testing.T) {
	tm := shipped(t)
	for locale, c := range tm.byLocale {
		for _, status := range statuses {
			for _, kind := range kinds {
				for _, reason := range append([]string{"unknown"}, reasons...) {
					values := map[string]string{"application_id": "wd_01", "case_number": "WD20261124000042",
						"kind": c.Kinds[kind], "amount": formatAmount(99999999, c.Amount), "status": c.Statuses[status],
						"time": time.Unix(0, 0).In(services.CentreTime).Format(c.TimeLayout), "reason": c.Reasons[reason]}
					if values["reason"] == "" {
						values["reason"] = c.ReasonUnknown
					}
					for k, pattern := range c.Messages[status].Data {
						typ, _ := fieldType(k)
						if v := expand(pattern, values, nil); fit(v, typ) != v {
							t.Errorf("%s %s/%s/%s: %s %q does not fit", locale, status, kind, reason, k, v)
						}
					}
				}
			}
		}
	}
}

func TestRenderRefusesUnknownEvents(t *testing.T) {
	tm := shipped(t)
	ok := Event{Subject: "s", ApplicationID: "a", CaseNumber: "c", Kind: "rent", Status: "paid"}
	for name, edit := range map[string]func(*Event){
		"status":     func(e *Event) { e.Status = "lost" },
		"kind":       func(e *Event) { e.Kind = "holiday" },
		"no subject": func(e *Event) { e.Subject = "" },
		"no case":    func(e *Event) { e.CaseNumber = "" },
	} {
		e := ok
		edit(&e)
		if _, err := tm.render(e); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
	if _, err := tm.render(ok); err != nil {
		t.Errorf("a good event: %v", err)
	}
	if msg, _ := tm.render(ok); strings.Contains(msg.Page, "{") {
		t.Errorf("page %q keeps a placeholder", msg.Page)
	}
}
