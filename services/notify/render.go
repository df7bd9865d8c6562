package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"handheld/services"
	"handheld/services/inbox"
	"handheld/services/wechat"
)

// ellipsis ends a thing value that had to be cut, so the reader sees it was.
const ellipsis = "…"

// catalogueFor picks the locale's catalogue; anything but English reads as
// the default, Chinese, as the API's Accept-Language does.
func (t *Templates) catalogueFor(locale string) *catalogue {
	if locale == "en" || strings.HasPrefix(locale, "en-") {
		return t.byLocale["en"]
	}
	return t.byLocale[locales[0].locale]
}

// render builds the subscribe message for e, all but the recipient. An
// event it cannot render would fail the same way on every retry.
func (t *Templates) render(e Event) (wechat.Message, error) {
	if err := e.check(); err != nil {
		return wechat.Message{}, err
	}
	if e.Reminder != "" {
		return t.renderReminder(e)
	}
	c := t.catalogueFor(e.Locale)
	values := c.values(e)
	m := t.messageFor(c, e.key())
	msg := wechat.Message{
		TemplateID: m.TemplateID,
		Page:       expand(m.Page, values, url.QueryEscape),
		Data:       make(map[string]string, len(m.Data)),
		Lang:       c.lang,
	}
	for k, pattern := range m.Data {
		typ, _ := fieldType(k) // checked at load
		msg.Data[k] = fit(expand(pattern, values, nil), typ)
	}
	return msg, nil
}

// check refuses an event no template can render: a notice it does not
// know, or a case event without its case, status or kind.
func (e Event) check() error {
	switch {
	case e.Subject == "":
		return errors.New("event without subject")
	case e.Reminder != "":
		return nil // its rule is looked up when rendered
	case e.Notice != "":
		if !slices.Contains(notices, e.Notice) {
			return fmt.Errorf("event: unknown notice %q", e.Notice)
		}
		return nil
	case e.ApplicationID == "" || e.CaseNumber == "":
		return errors.New("event without application id or case number")
	case !slices.Contains(statuses, e.Status):
		return fmt.Errorf("event %s: unknown status %q", e.ApplicationID, e.Status)
	case !slices.Contains(kinds, e.Kind):
		return fmt.Errorf("event %s: unknown kind %q", e.ApplicationID, e.Kind)
	}
	return nil
}

// values are what e's placeholders stand for, in c's language.
func (c *catalogue) values(e Event) map[string]string {
	reason, ok := c.Reasons[e.Reason]
	if !ok {
		reason = c.ReasonUnknown
	}
	return map[string]string{
		"application_id": e.ApplicationID,
		"case_number":    e.CaseNumber,
		"kind":           c.Kinds[e.Kind],
		"amount":         formatAmount(e.AmountFen, c.Amount),
		"status":         c.Statuses[e.Status],
		"time":           e.At.In(services.CentreTime).Format(c.TimeLayout),
		"reason":         reason,
	}
}

// messageFor is the entry for key in c, with the configured template id,
// page and field mapping when the configuration overrides them.
func (t *Templates) messageFor(c *catalogue, key string) message {
	m := c.Messages[key]
	if o, ok := t.overrides[key]; ok {
		m.TemplateID, m.Data = o.TemplateID, o.Data
		if o.Page != "" {
			m.Page = o.Page
		}
	}
	return m
}

// RenderText is a message of the inbox as it reads in locale: kind is the
// message's kind (Event.key), content its Event as JSON. The link is the
// page its WeChat message opens.
func (t *Templates) RenderText(kind string, content []byte, locale string) (inbox.Text, error) {
	var e Event
	if err := json.Unmarshal(content, &e); err != nil {
		return inbox.Text{}, fmt.Errorf("notify: message content: %w", err)
	}
	if e.key() != kind {
		return inbox.Text{}, fmt.Errorf("notify: message of kind %q holds a %q event", kind, e.key())
	}
	if err := e.check(); err != nil {
		return inbox.Text{}, err
	}
	if e.Reminder != "" {
		text, _, err := t.reminderText(e, locale)
		return text, err
	}
	c := t.catalogueFor(locale)
	values := c.values(e)
	m := t.messageFor(c, kind)
	title, body := m.Title, m.Body
	if title == "" {
		title = c.Inbox.Title
	}
	if body == "" {
		body = c.Inbox.Body
	}
	return inbox.Text{Title: expand(title, values, nil), Body: expand(body, values, nil),
		Link: expand(m.Page, values, url.QueryEscape)}, nil
}

// TemplateIDs are the WeChat templates the notifications use, in every
// locale: those a person's subscribe grant may name.
func (t *Templates) TemplateIDs() []string {
	var ids []string
	for _, l := range locales {
		c := t.byLocale[l.locale]
		for key := range c.Messages {
			if id := t.messageFor(c, key).TemplateID; !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	for _, r := range t.reminders {
		if !slices.Contains(ids, r.TemplateID) {
			ids = append(ids, r.TemplateID)
		}
	}
	slices.Sort(ids)
	return ids
}

// expand fills the {placeholders} of pattern, passing each value through
// escape when there is one (query escaping for a page).
func expand(pattern string, values map[string]string, escape func(string) string) string {
	return placeholderShape.ReplaceAllStringFunc(pattern, func(p string) string {
		v := values[p[1:len(p)-1]]
		if escape != nil {
			v = escape(v)
		}
		return v
	})
}

// fit cuts v to what WeChat accepts in a field of type typ, counting
// characters, not bytes, so a Chinese text is never split inside a
// character. Only thing fields get an ellipsis: the others (phrase, codes,
// numbers) allow no such symbol.
func fit(v, typ string) string {
	limit := fieldLimits[typ]
	if limit == 0 || utf8.RuneCountInString(v) <= limit {
		return v
	}
	r := []rune(v)
	if typ == "thing" {
		return string(r[:limit-1]) + ellipsis
	}
	return string(r[:limit])
}

// formatAmount writes fen as yuan with two decimals in the locale's format.
func formatAmount(fen int64, f amountFormat) string {
	return f.Prefix + services.Yuan(fen, f.Thousands) + f.Suffix
}
