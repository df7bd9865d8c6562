package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// The statuses and kinds every locale file must cover, as the withdrawal
// use case and the outbox events name them.
var (
	statuses = []string{"accepted", "submitted", "approved", "rejected", "paid", "cancelled",
		// A certificate asked for during the core's maintenance window
		// (services/certificate, pending.go): issued, or failed, after it.
		"certificate_issued", "certificate_failed",
		// A person an employer joined holds a sealed account at another
		// centre (services/employer, transferoffer.go): the transfer in
		// is offered to them.
		"transfer_offered",
		// A transfer in from another centre (services/transfer).
		"transfer_accepted", "transfer_sent", "transfer_accepted_by_old_centre", "transfer_funds_moved",
		"transfer_merged", "transfer_refused", "transfer_cancelled",
		// A standing (monthly) withdrawal (services/standing): a month
		// that could not be applied for, and one paused until the
		// person confirms it again.
		"standing_failed", "standing_reconfirm",
		// An early repayment or an arrears payment (services/repayment).
		"prepayment_accepted", "prepayment_applied", "prepayment_rejected"}
	kinds = []string{"rent", "purchase", "loan_repayment", "retirement", "critical_illness", "leaving_city", "closing",
		"deposit_use", "transfer_in", "loan_prepayment", "loan_arrears"}
	// reasons are the core's rejection codes each locale must explain.
	// A file may explain more (codes the core adds before handheld knows
	// them); a code with no text reads as reason_unknown.
	// notices are the notifications about no case: security messages
	// (services/identity on a sign-in or a binding; a payout account
	// change), which Publisher queues with Event.Notice set.
	notices = []string{NoticeSignIn, NoticeBindingChanged, NoticePayoutAccountChanged, NoticeRepaymentAccountChanged}
	reasons = []string{"no_account", "account_frozen", "account_closed", "account_not_normal", "account_not_sealed",
		"insufficient_balance", "not_retired", "no_loan", "insufficient_continuity", "rent_too_frequent",
		"evidence_missing", "close_amount_mismatch",
		// The old centre's refusal reasons of a transfer in.
		"account_not_found", "person_mismatch", "loan_outstanding"}
)

// locales maps each supported locale to the Lang of its WeChat message
// (which sets the language of WeChat's own "open the mini-program" link).
// The first is the default, as in docs/api.md §Conventions.
var locales = []struct{ locale, lang string }{{"zh-CN", "zh_CN"}, {"en", "en_US"}}

// placeholders are what a page or a data value may name in braces.
var placeholders = []string{"application_id", "case_number", "kind", "amount", "status", "time", "reason"}

// fieldLimits is how many characters WeChat accepts in a data value, by
// the key's type (the key without its number); 0 means the type has a
// format rather than a length (amount, time, date). A value over its limit
// makes WeChat refuse the whole message, so render cuts it.
var fieldLimits = map[string]int{
	"thing": 20, "short_thing": 5, "phrase": 5, "symbol": 5, "name": 10, "car_number": 8,
	"character_string": 32, "number": 32, "letter": 32, "phone_number": 17,
	"amount": 0, "time": 0, "date": 0,
}

var (
	placeholderShape = regexp.MustCompile(`\{([^{}]*)\}`)
	dataKeyShape     = regexp.MustCompile(`^([a-z_]+?)([0-9]+)$`)
	templateIDShape  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
)

// Templates are the notification texts of every locale, checked complete.
// Load them once at start-up with LoadTemplates.
type Templates struct {
	byLocale map[string]*catalogue
	// overrides are the configured template ids and field mappings
	// (Configure), which replace the files' in every locale.
	overrides map[string]Override
	// reminders are the reminder rules' texts and templates
	// (WithReminders), by rule code.
	reminders map[string]Reminder
}

// catalogue is one locale file.
type catalogue struct {
	file          string
	lang          string
	loc           string
	Kinds         map[string]string  `json:"kinds"`
	Statuses      map[string]string  `json:"statuses"`
	Reasons       map[string]string  `json:"reasons"`
	ReasonUnknown string             `json:"reason_unknown"`
	Amount        amountFormat       `json:"amount"`
	TimeLayout    string             `json:"time_layout"`
	Messages      map[string]message `json:"messages"`
	// Inbox is the title and body a message has in the inbox unless its
	// own entry says otherwise.
	Inbox inboxText `json:"inbox"`
}

// inboxText is how a message reads in the inbox.
type inboxText struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

// amountFormat writes fen as yuan: prefix, digits grouped by thousands,
// two decimals, suffix ("4,500.00元", "CNY 4,500.00").
type amountFormat struct {
	Prefix    string `json:"prefix"`
	Suffix    string `json:"suffix"`
	Thousands string `json:"thousands"`
}

// message is the subscribe message for one status: which template, which
// page the person lands on, and what goes in each of the template's keys.
type message struct {
	TemplateID string            `json:"template_id"`
	Page       string            `json:"page"`
	Data       map[string]string `json:"data"`
	// Title and Body, when set, replace the catalogue's inbox texts for
	// this message (a notice must set both).
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
}

// templateFile is where a locale's file lives in the templates tree.
func templateFile(locale string) string {
	return "notifications/withdrawal." + locale + ".json"
}

// LoadTemplates reads and checks the withdrawal notification file of every
// locale in fsys (templates.FS). Every problem found is reported at once,
// each naming the file and the key, so a broken file stops start-up rather
// than leaving people without their messages.
func LoadTemplates(fsys fs.FS) (*Templates, error) {
	t := &Templates{byLocale: map[string]*catalogue{}}
	for _, l := range locales {
		c, err := loadCatalogue(fsys, templateFile(l.locale))
		if err != nil {
			return nil, err
		}
		c.lang, c.loc = l.lang, l.locale
		t.byLocale[l.locale] = c
	}
	return t, nil
}

func loadCatalogue(fsys fs.FS, file string) (*catalogue, error) {
	raw, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	c := &catalogue{file: file}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("notify: %s: %w", file, err)
	}
	if problems := c.check(); len(problems) > 0 {
		return nil, fmt.Errorf("notify: %s: %s", file, strings.Join(problems, "; "))
	}
	return c, nil
}

// check lists what is missing or wrong in c, in a stable order.
func (c *catalogue) check() []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	// texts checks a section of names: every required key has a text and,
	// when noun is set, no other key appears (a typo would hide a gap).
	texts := func(section, noun string, m map[string]string, required []string) {
		for _, k := range required {
			if strings.TrimSpace(m[k]) == "" {
				add("%s.%s: missing", section, k)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if noun != "" && !slices.Contains(required, k) {
				add("%s.%s: not a known %s", section, k, noun)
			}
		}
	}
	texts("kinds", "kind", c.Kinds, kinds)
	texts("statuses", "status", c.Statuses, statuses)
	texts("reasons", "", c.Reasons, reasons) // open: more reasons may be explained
	if strings.TrimSpace(c.ReasonUnknown) == "" {
		add("reason_unknown: missing")
	}
	if c.TimeLayout == "" {
		add("time_layout: missing")
	}
	if strings.TrimSpace(c.Inbox.Title) == "" || strings.TrimSpace(c.Inbox.Body) == "" {
		add("inbox: title and body required")
	}
	problems = append(problems, unknownPlaceholders("inbox.title", c.Inbox.Title)...)
	problems = append(problems, unknownPlaceholders("inbox.body", c.Inbox.Body)...)
	for _, st := range append(slices.Clone(statuses), notices...) {
		if _, ok := c.Messages[st]; !ok {
			add("messages.%s: missing", st)
		}
	}
	for _, st := range slices.Sorted(maps.Keys(c.Messages)) {
		m := c.Messages[st]
		where := "messages." + st
		if !slices.Contains(statuses, st) && !slices.Contains(notices, st) {
			add("%s: not a known status or notice", where)
			continue
		}
		if slices.Contains(notices, st) && (strings.TrimSpace(m.Title) == "" || strings.TrimSpace(m.Body) == "") {
			add("%s: a notice needs a title and a body", where)
		}
		problems = append(problems, m.check(where)...)
	}
	return problems
}

// check lists what is wrong with one message, each problem starting with
// where (its key in the file or in the configuration).
func (m message) check(where string) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	problems = append(problems, unknownPlaceholders(where+".title", m.Title)...)
	problems = append(problems, unknownPlaceholders(where+".body", m.Body)...)
	if !templateIDShape.MatchString(m.TemplateID) {
		add("%s.template_id: must be 1..128 of [A-Za-z0-9_-]", where)
	}
	if m.Page == "" {
		add("%s.page: missing", where)
	}
	problems = append(problems, unknownPlaceholders(where+".page", m.Page)...)
	if len(m.Data) == 0 {
		add("%s.data: missing", where)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Data)) {
		if _, ok := fieldType(k); !ok {
			add("%s.data.%s: not a WeChat data key (thing1, amount3, ...)", where, k)
		}
		if strings.TrimSpace(m.Data[k]) == "" {
			add("%s.data.%s: empty", where, k)
		}
		problems = append(problems, unknownPlaceholders(where+".data."+k, m.Data[k])...)
	}
	return problems
}

// unknownPlaceholders names the {placeholders} in s that render cannot fill.
func unknownPlaceholders(where, s string) []string {
	var problems []string
	for _, m := range placeholderShape.FindAllStringSubmatch(s, -1) {
		if !slices.Contains(placeholders, m[1]) {
			problems = append(problems, fmt.Sprintf("%s: unknown placeholder {%s}", where, m[1]))
		}
	}
	return problems
}

// fieldType is the WeChat type of a data key: "thing" for "thing2".
func fieldType(key string) (string, bool) {
	m := dataKeyShape.FindStringSubmatch(key)
	if m == nil {
		return "", false
	}
	_, ok := fieldLimits[m[1]]
	return m[1], ok
}

// TransferStatus is the notification status of a transfer's status
// (services/transfer): "transfer_" and the status, so that a transfer's
// "accepted" and "cancelled" read as a transfer's, not a withdrawal's.
func TransferStatus(status string) string { return "transfer_" + status }

// locale is the catalogue's locale (zh-CN, en).
func (c *catalogue) locale() string { return c.loc }
