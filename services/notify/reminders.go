package notify

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"handheld/services"
	"handheld/services/inbox"
	"handheld/services/wechat"
)

// Reminder is the text and WeChat template of one reminder rule
// (services/reminder), as the configuration gives them: a title and body
// per locale and a subscribe message template. Its placeholders are the
// Values of the rule's events, {amount} and {time} (in the reader's
// language) and, in the WeChat fields, {title}; the reminder package
// checks them against its trigger.
type Reminder struct {
	Code       string
	Texts      map[string]inbox.Text // by locale; Link unused
	TemplateID string
	Page       string
	Data       map[string]string
}

// WithReminders returns the templates with the reminder rules' texts, so
// that Deliver and the inbox render their events (Event.Reminder). Every
// problem is reported at once, naming setting and the rule: a code that
// is already a case status or a notice, a template id WeChat would refuse,
// a data key WeChat does not know, a missing locale or page.
func (t *Templates) WithReminders(setting string, rs []Reminder) (*Templates, error) {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	out := map[string]Reminder{}
	for _, r := range rs {
		where := setting + "." + r.Code
		if slices.Contains(statuses, r.Code) || slices.Contains(notices, r.Code) {
			add("%s: the code is a case status or a notice already", where)
		}
		for _, l := range locales {
			if tx := r.Texts[l.locale]; strings.TrimSpace(tx.Title) == "" || strings.TrimSpace(tx.Body) == "" {
				add("%s.message.%s: title and body required", where, l.locale)
			}
		}
		if !templateIDShape.MatchString(r.TemplateID) {
			add("%s.wechat.template_id: must be 1..128 of [A-Za-z0-9_-]", where)
		}
		if r.Page == "" {
			add("%s.wechat.page: missing", where)
		}
		if len(r.Data) == 0 {
			add("%s.wechat.data: missing", where)
		}
		for _, k := range slices.Sorted(maps.Keys(r.Data)) {
			if _, ok := fieldType(k); !ok {
				add("%s.wechat.data.%s: not a WeChat data key (thing1, amount3, ...)", where, k)
			}
		}
		out[r.Code] = r
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return &Templates{byLocale: t.byLocale, overrides: t.overrides, reminders: out}, nil
}

// reminderValues are what a reminder event's placeholders stand for in
// c's language.
func (c *catalogue) reminderValues(e Event, title string) map[string]string {
	v := maps.Clone(e.Values)
	if v == nil {
		v = map[string]string{}
	}
	v["amount"] = formatAmount(e.AmountFen, c.Amount)
	v["time"] = e.At.In(services.CentreTime).Format(c.TimeLayout)
	v["title"] = title
	return v
}

// reminderText is the reminder's title and body in locale, filled.
func (t *Templates) reminderText(e Event, locale string) (inbox.Text, map[string]string, error) {
	r, ok := t.reminders[e.Reminder]
	if !ok {
		return inbox.Text{}, nil, fmt.Errorf("event: unknown reminder %q", e.Reminder)
	}
	c := t.catalogueFor(locale)
	tx := r.Texts[c.locale()]
	values := c.reminderValues(e, "")
	title := expand(tx.Title, values, nil)
	values["title"] = title
	return inbox.Text{Title: title, Body: expand(tx.Body, values, nil), Link: expand(r.Page, values, url.QueryEscape)}, values, nil
}

// renderReminder is the subscribe message of a reminder event.
func (t *Templates) renderReminder(e Event) (wechat.Message, error) {
	_, values, err := t.reminderText(e, e.Locale)
	if err != nil {
		return wechat.Message{}, err
	}
	r := t.reminders[e.Reminder]
	c := t.catalogueFor(e.Locale)
	msg := wechat.Message{TemplateID: r.TemplateID, Page: expand(r.Page, values, url.QueryEscape),
		Data: make(map[string]string, len(r.Data)), Lang: c.lang}
	for k, pattern := range r.Data {
		typ, _ := fieldType(k) // checked by WithReminders
		msg.Data[k] = fit(expand(pattern, values, nil), typ)
	}
	return msg, nil
}
