package notify

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"handheld/services"
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
	switch {
	case e.Subject == "" || e.ApplicationID == "" || e.CaseNumber == "":
		return wechat.Message{}, errors.New("event without subject, application id or case number")
	case !slices.Contains(statuses, e.Status):
		return wechat.Message{}, fmt.Errorf("event %s: unknown status %q", e.ApplicationID, e.Status)
	case !slices.Contains(kinds, e.Kind):
		return wechat.Message{}, fmt.Errorf("event %s: unknown kind %q", e.ApplicationID, e.Kind)
	}
	c := t.catalogueFor(e.Locale)
	reason, ok := c.Reasons[e.Reason]
	if !ok {
		reason = c.ReasonUnknown
	}
	values := map[string]string{
		"application_id": e.ApplicationID,
		"case_number":    e.CaseNumber,
		"kind":           c.Kinds[e.Kind],
		"amount":         formatAmount(e.AmountFen, c.Amount),
		"status":         c.Statuses[e.Status],
		"time":           e.At.In(services.CentreTime).Format(c.TimeLayout),
		"reason":         reason,
	}
	m := c.Messages[e.Status]
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
