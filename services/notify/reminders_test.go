package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services/inbox"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/wechat/wechattest"
	"handheld/templates"
)

var loanDue = notify.Event{Subject: alice, Reminder: "loan_instalment_due", Category: inbox.Reminders,
	ID: "reminder:loan_instalment_due:2026-11", AmountFen: 3_310_47,
	Values: map[string]string{"due_on": "2026-11-26", "days": "2"}, Locale: "zh-CN", At: clock}

// A reminder lands in the inbox under its rule's code and category, reads
// in either language, and goes through WeChat on its own template.
func TestDeliverReminder(t *testing.T) {
	f := newFixture(t, openids{m: map[string]string{alice: aliceOpenID}})
	if err := f.n.Deliver(context.Background(), payload(t, loanDue)); err != nil {
		t.Fatal(err)
	}
	want := []wechattest.Sent{{ToOpenID: aliceOpenID, TemplateID: "hpf-reminder", Page: "pages/loan/index", Lang: "zh_CN",
		Data: map[string]string{"thing1": "贷款还款提醒", "amount2": "3,310.47元", "date3": "2026-11-26"}}}
	if diff := cmp.Diff(want, f.wx.Sent()); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	var m *inbox.Message
	for _, x := range f.inbox.msgs {
		m = x
	}
	if m == nil || m.Kind != "loan_instalment_due" || m.Category != inbox.Reminders || m.Push != inbox.PushSent {
		t.Fatalf("inbox message %+v: want kind loan_instalment_due, reminders, sent", m)
	}
	tm, err := notify.LoadTemplates(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	tm, err = tm.WithReminders("reminders", []notify.Reminder{{Code: "loan_instalment_due",
		Texts: map[string]inbox.Text{"zh-CN": {Title: "还款", Body: "{due_on} 应还 {amount}"},
			"en": {Title: "Instalment due", Body: "{amount} due on {due_on}, in {days} days"}},
		TemplateID: "hpf-reminder", Page: "pages/loan/index", Data: map[string]string{"thing1": "{title}"}}})
	if err != nil {
		t.Fatal(err)
	}
	en, err := tm.RenderText(m.Kind, m.Content, "en")
	if err != nil || en.Title != "Instalment due" || en.Body != "CNY 3,310.47 due on 2026-11-26, in 2 days" || en.Link != "pages/loan/index" {
		t.Errorf("English: %+v, %v", en, err)
	}
}

// Inside the person's quiet hours a reminder waits, as any message that
// can: nothing through WeChat until they end, the inbox has it at once.
func TestReminderWaitsForQuietHours(t *testing.T) {
	f := newFixture(t, openids{m: map[string]string{alice: aliceOpenID}})
	f.inbox.prefs.Quiet = inbox.QuietHours{From: "22:00", To: "08:00"}
	ctx := context.Background()
	*f.now = at(23, 0)
	err := f.n.Deliver(ctx, payload(t, loanDue))
	if want := outbox.Again(9 * time.Hour); err == nil || err.Error() != want.Error() {
		t.Fatalf("in quiet hours: %v, want %v", err, want)
	}
	if n := f.wx.Calls(wechattest.Send); n != 0 {
		t.Errorf("%d sends in quiet hours, want none", n)
	}
	if diff := cmp.Diff([]inbox.Push{inbox.PushDeferred}, f.inbox.pushes()); diff != "" {
		t.Errorf("inbox (-want +got):\n%s", diff)
	}
	*f.now = at(8, 0).AddDate(0, 0, 1)
	if err := f.n.Deliver(ctx, payload(t, loanDue)); err != nil {
		t.Fatalf("after quiet hours: %v", err)
	}
	if n := len(f.wx.Sent()); n != 1 {
		t.Errorf("%d sent after quiet hours, want 1", n)
	}
	// A person who keeps reminders out of WeChat gets them in the inbox only.
	f.inbox.prefs.WeChat[inbox.Reminders] = false
	next := loanDue
	next.ID = "reminder:loan_instalment_due:2026-12"
	if err := f.n.Deliver(ctx, payload(t, next)); err != nil {
		t.Fatal(err)
	}
	if got := f.inbox.pushes(); len(got) != 2 || got[1] != inbox.PushOff || len(f.wx.Sent()) != 1 {
		t.Errorf("reminders switched off: %v, %d sent; want off, still 1", got, len(f.wx.Sent()))
	}
}

// An event of a rule the configuration does not have can never be
// rendered: parked, not retried.
func TestReminderOfUnknownRuleUndeliverable(t *testing.T) {
	f := newFixture(t, openids{m: map[string]string{alice: aliceOpenID}})
	e := loanDue
	e.Reminder = "lottery_win"
	if err := f.n.Deliver(context.Background(), payload(t, e)); !errors.Is(err, notify.ErrUndeliverable) {
		t.Errorf("%v, want ErrUndeliverable", err)
	}
}

func TestWithRemindersRefused(t *testing.T) {
	tm, err := notify.LoadTemplates(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	good := notify.Reminder{Code: "deposit_arrived", Texts: map[string]inbox.Text{"zh-CN": {Title: "t", Body: "b"},
		"en": {Title: "t", Body: "b"}}, TemplateID: "hpf-reminder", Page: "pages/x", Data: map[string]string{"thing1": "{title}"}}
	for name, tc := range map[string]struct {
		edit func(*notify.Reminder)
		want string
	}{
		"status code":  {func(r *notify.Reminder) { r.Code = "paid" }, "reminders.paid: the code is a case status or a notice already"},
		"locale":       {func(r *notify.Reminder) { delete(r.Texts, "en") }, "reminders.deposit_arrived.message.en: title and body required"},
		"template id":  {func(r *notify.Reminder) { r.TemplateID = "has space" }, "reminders.deposit_arrived.wechat.template_id"},
		"page":         {func(r *notify.Reminder) { r.Page = "" }, "reminders.deposit_arrived.wechat.page: missing"},
		"data key":     {func(r *notify.Reminder) { r.Data = map[string]string{"title": "x"} }, "reminders.deposit_arrived.wechat.data.title: not a WeChat data key"},
		"data missing": {func(r *notify.Reminder) { r.Data = nil }, "reminders.deposit_arrived.wechat.data: missing"},
	} {
		r := good
		r.Texts = map[string]inbox.Text{"zh-CN": good.Texts["zh-CN"], "en": good.Texts["en"]}
		tc.edit(&r)
		if _, err := tm.WithReminders("reminders", []notify.Reminder{r}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	if _, err := tm.WithReminders("reminders", []notify.Reminder{good}); err != nil {
		t.Errorf("good: %v", err)
	}
}
