package notify

import (
	"errors"
	"maps"
	"slices"
	"strings"
)

// Override is a centre's own WeChat template for one notification, from
// the configuration: the template id the centre's mini-program registered
// and its field mapping (data key → pattern, e.g. "thing2": "{kind}"),
// optionally the page it opens. It replaces the shipped entry in every
// locale, so literal words in its patterns read the same in both: name
// the localized values with placeholders ({kind}, {status}, {reason}).
type Override struct {
	TemplateID string            `yaml:"template_id"`
	Page       string            `yaml:"page"`
	Data       map[string]string `yaml:"data"`
}

// Overrides are the configured templates by notification: a case status
// (approved, paid, ...) or a notice (sign_in, ...).
type Overrides map[string]Override

// Configure returns the templates with o applied, every problem reported
// at once, each naming setting (the configuration key o came from) and
// the entry: an unknown notification, a template id without its field
// mapping, a data key WeChat does not know or a placeholder nothing fills
// stops start-up rather than every message of that kind.
func (t *Templates) Configure(setting string, o Overrides) (*Templates, error) {
	var problems []string
	for _, key := range slices.Sorted(maps.Keys(o)) {
		where := setting + "." + key
		if !slices.Contains(statuses, key) && !slices.Contains(notices, key) {
			problems = append(problems, where+": not a known notification (a case status or a notice)")
			continue
		}
		ov := o[key]
		m := message{TemplateID: ov.TemplateID, Page: ov.Page, Data: ov.Data}
		if m.Page == "" {
			m.Page = t.byLocale[locales[0].locale].Messages[key].Page
		}
		problems = append(problems, m.check(where)...)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return &Templates{byLocale: t.byLocale, overrides: maps.Clone(o), reminders: t.reminders}, nil
}
