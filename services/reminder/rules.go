// Package reminder tells people what they should do or know soon, and
// what changed for them, before they ask (issue 19, part 3): a loan
// instalment due, the month's deposit arrived, a certificate about to
// expire, newly eligible for a rent withdrawal, an account sealed for
// months, a policy change for their kind of account.
//
// Rules are data (the reminders section of the configuration): a code,
// a category, what triggers it (When) with its condition parameters, a
// period, a text per locale and a WeChat template, enabled or not; a bad
// rule stops start-up with a message naming it. Each enabled rule is a
// periodic job of services/schedule (leased, one run per period, resumed
// by any replica when its holder dies). A run pages through the people
// handheld knows (those who signed in once), asks the core about each
// page in one call, and for every person the rule matches records
// (rule, period, subject) in reminder_sends and queues a notify.Event on
// the outbox in the same transaction, so that however often a period is
// run, by however many replicas at once, a person gets at most one
// message per rule and period. The message centre (services/notify,
// services/inbox) does the rest: the inbox, the person's preferences,
// quiet hours and WeChat grants, the audit of every push.
//
// It owns the reminder_sends table (migration 0030).
package reminder

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/inbox"
	"handheld/services/notify"
)

// When is what triggers a rule: one of the triggers below.
type When string

// The triggers a rule may name, each with its own condition parameters.
const (
	// LoanInstalmentDue: the loan's next instalment falls due within
	// days_before days (today included).
	LoanInstalmentDue When = "loan_instalment_due"
	// DepositArrived: the last complete month's deposit is on the account.
	DepositArrived When = "deposit_arrived"
	// CertificateExpiring: a certificate the person holds expires within
	// days_before days.
	CertificateExpiring When = "certificate_expiring"
	// RentEligible: a normal account has just reached the unbroken months
	// of deposits a rent withdrawal needs: between min_continuous_months
	// and max_continuous_months, up to last month.
	RentEligible When = "rent_eligible"
	// AccountSealed: a sealed account without a deposit for sealed_months
	// months or more (suggest a transfer or a withdrawal).
	AccountSealed When = "account_sealed"
	// PolicyChange: a policy change for the account statuses named in
	// account_statuses (normal, sealed, frozen).
	PolicyChange When = "policy_change"
)

// Triggers lists every trigger, in the order the documentation shows them.
func Triggers() []When {
	return []When{LoanInstalmentDue, DepositArrived, CertificateExpiring, RentEligible, AccountSealed, PolicyChange}
}

// Period is how often a rule may tell one person: one message per person,
// rule and period.
type Period string

// The periods a rule may name, in the centre's time (Asia/Shanghai).
const (
	Day   Period = "day"
	Week  Period = "week" // ISO week
	Month Period = "month"
	Year  Period = "year"
	Once  Period = "once" // once per person, ever
)

// Periods lists every period.
func Periods() []Period { return []Period{Day, Week, Month, Year, Once} }

// Key is the period at t falls in, as reminder_sends keeps it:
// 2026-12-06, 2026-W49, 2026-12, 2026, once.
func (p Period) Key(t time.Time) string {
	t = t.In(services.CentreTime)
	switch p {
	case Day:
		return t.Format(time.DateOnly)
	case Week:
		y, w := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	case Month:
		return t.Format("2006-01")
	case Year:
		return t.Format("2006")
	}
	return "once"
}

// Conditions are a rule's parameters; each trigger reads its own and
// refuses the others, so that a parameter put on the wrong rule is found
// at start rather than silently ignored.
type Conditions struct {
	DaysBefore          int      `yaml:"days_before,omitempty"`
	MinContinuousMonths int      `yaml:"min_continuous_months,omitempty"`
	MaxContinuousMonths int      `yaml:"max_continuous_months,omitempty"`
	SealedMonths        int      `yaml:"sealed_months,omitempty"`
	AccountStatuses     []string `yaml:"account_statuses,omitempty"`
}

// Text is a rule's message in one language. Title and Body may name the
// placeholders of its trigger ({amount}, {due_on}, ...).
type Text struct {
	Title string `yaml:"title"`
	Body  string `yaml:"body"`
}

// WeChat is the subscribe message template a rule's WeChat copy uses:
// its id, the mini-program page it opens and the data keys' patterns.
type WeChat struct {
	TemplateID string            `yaml:"template_id"`
	Page       string            `yaml:"page"`
	Data       map[string]string `yaml:"data"`
}

// Rule is one reminder or policy push.
type Rule struct {
	Code     string          `yaml:"code"`
	Category inbox.Category  `yaml:"category"`
	When     When            `yaml:"when"`
	Period   Period          `yaml:"period"`
	Enabled  bool            `yaml:"enabled"`
	Params   Conditions      `yaml:"params"`
	Message  map[string]Text `yaml:"message"` // by locale: zh-CN and en
	WeChat   WeChat          `yaml:"wechat"`
	// Every is how often the rule's job looks for people (1h..168h;
	// 24h when zero). It never sends one person twice in a period.
	Every time.Duration `yaml:"every,omitempty"`
}

// Rules are the configured rules, in the order they run.
type Rules []Rule

// Locales every rule's message must cover.
var Locales = []string{"zh-CN", "en"}

// Placeholders lists what each trigger's texts, page and data may name.
func Placeholders(w When) []string {
	base := []string{"time"}
	switch w {
	case LoanInstalmentDue:
		return append(base, "due_on", "days", "amount")
	case DepositArrived:
		return append(base, "month", "amount")
	case CertificateExpiring:
		return append(base, "expires_on", "days")
	case RentEligible:
		return append(base, "months")
	case AccountSealed:
		return append(base, "months", "month")
	}
	return base
}

var (
	codeShape        = regexp.MustCompile(`^[a-z][a-z0-9_]{2,39}$`)
	placeholderShape = regexp.MustCompile(`\{([^{}]*)\}`)
)

// statusCodes maps the account statuses a policy change may name to the
// core's codes.
var statusCodes = map[string]string{"normal": core.StatusNormal, "sealed": core.StatusSealed, "frozen": core.StatusFrozen}

//go:embed defaults.yaml
var defaultsYAML []byte

// Defaults are the shipped rules (defaults.yaml): one per trigger.
func Defaults() Rules {
	var r Rules
	if err := yaml.Unmarshal(defaultsYAML, &r); err != nil {
		panic("reminder: defaults.yaml: " + err.Error()) // embedded, covered by a test
	}
	return r
}

// every is the rule's job period.
func (r Rule) every() time.Duration {
	if r.Every == 0 {
		return 24 * time.Hour
	}
	return r.Every
}

// Validate reports every problem of every rule at once, each naming the
// rule by its position and code and the field, so a centre's typo stops
// start-up with a message it can act on.
func (rs Rules) Validate() error {
	var problems []string
	seen := map[string]bool{}
	for i, r := range rs {
		where := fmt.Sprintf("[%d]", i)
		if r.Code != "" {
			where += " " + r.Code
		}
		add := func(format string, args ...any) { problems = append(problems, where+": "+fmt.Sprintf(format, args...)) }
		if !codeShape.MatchString(r.Code) {
			add("code: want 3..40 of [a-z0-9_], starting with a letter")
		} else if seen[r.Code] {
			add("code: named twice")
		}
		seen[r.Code] = true
		if r.Category != inbox.Reminders && r.Category != inbox.PolicyNews {
			add("category: %q, want reminders or policy_news", r.Category)
		}
		if !slices.Contains(Triggers(), r.When) {
			add("when: %q, want one of %s", r.When, joinOf(Triggers()))
		}
		if !slices.Contains(Periods(), r.Period) {
			add("period: %q, want one of %s", r.Period, joinOf(Periods()))
		}
		if r.Every != 0 && (r.Every < time.Hour || r.Every > 7*24*time.Hour) {
			add("every: %s, want between 1h and 168h", r.Every)
		}
		for _, p := range r.Params.check(r.When) {
			add("params.%s", p)
		}
		allowed := Placeholders(r.When)
		for _, l := range Locales {
			t, ok := r.Message[l]
			if !ok || strings.TrimSpace(t.Title) == "" || strings.TrimSpace(t.Body) == "" {
				add("message.%s: title and body required", l)
				continue
			}
			for _, p := range unknown(allowed, t.Title, t.Body) {
				add("message.%s: unknown placeholder {%s}", l, p)
			}
		}
		for l := range r.Message {
			if !slices.Contains(Locales, l) {
				add("message.%s: not a supported locale (%s)", l, strings.Join(Locales, ", "))
			}
		}
		pats := []string{r.WeChat.Page}
		for _, v := range r.WeChat.Data {
			pats = append(pats, v)
		}
		// A WeChat field may also carry the rule's title in the reader's
		// language.
		for _, p := range unknown(append(slices.Clone(allowed), "title"), pats...) {
			add("wechat: unknown placeholder {%s}", p)
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// check lists the condition parameters wrong for trigger w.
func (c Conditions) check(w When) []string {
	var problems []string
	used := map[string]bool{}
	need := func(name string, v, lo, hi int) {
		used[name] = true
		if v < lo || v > hi {
			problems = append(problems, fmt.Sprintf("%s: %d, want %d..%d", name, v, lo, hi))
		}
	}
	switch w {
	case LoanInstalmentDue:
		need("days_before", c.DaysBefore, 0, 31)
	case CertificateExpiring:
		need("days_before", c.DaysBefore, 1, 90)
	case RentEligible:
		need("min_continuous_months", c.MinContinuousMonths, 1, 120)
		need("max_continuous_months", c.MaxContinuousMonths, max(c.MinContinuousMonths, 1), 120)
	case AccountSealed:
		need("sealed_months", c.SealedMonths, 1, 120)
	case PolicyChange:
		used["account_statuses"] = true
		if len(c.AccountStatuses) == 0 {
			problems = append(problems, "account_statuses: at least one of normal, sealed, frozen")
		}
		for _, s := range c.AccountStatuses {
			if _, ok := statusCodes[s]; !ok {
				problems = append(problems, fmt.Sprintf("account_statuses: %q, want normal, sealed or frozen", s))
			}
		}
	}
	for name, set := range map[string]bool{"days_before": c.DaysBefore != 0,
		"min_continuous_months": c.MinContinuousMonths != 0, "max_continuous_months": c.MaxContinuousMonths != 0,
		"sealed_months": c.SealedMonths != 0, "account_statuses": len(c.AccountStatuses) != 0} {
		if set && !used[name] {
			problems = append(problems, fmt.Sprintf("%s: not a parameter of %s", name, w))
		}
	}
	slices.Sort(problems)
	return problems
}

// unknown lists the placeholders in texts that allowed does not name.
func unknown(allowed []string, texts ...string) []string {
	var out []string
	for _, s := range texts {
		for _, m := range placeholderShape.FindAllStringSubmatch(s, -1) {
			if !slices.Contains(allowed, m[1]) && !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	slices.Sort(out)
	return out
}

func joinOf[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

// Find is the rule named code.
func (rs Rules) Find(code string) (Rule, bool) {
	i := slices.IndexFunc(rs, func(r Rule) bool { return r.Code == code })
	if i < 0 {
		return Rule{}, false
	}
	return rs[i], true
}

// Templates are the rules' texts and WeChat templates for the message
// centre (notify.Templates.WithReminders), disabled rules included: a
// message already sent still reads after its rule is switched off.
func (rs Rules) Templates() []notify.Reminder {
	out := make([]notify.Reminder, 0, len(rs))
	for _, r := range rs {
		texts := make(map[string]inbox.Text, len(r.Message))
		for l, t := range r.Message {
			texts[l] = inbox.Text{Title: t.Title, Body: t.Body}
		}
		out = append(out, notify.Reminder{Code: r.Code, Texts: texts, TemplateID: r.WeChat.TemplateID,
			Page: r.WeChat.Page, Data: r.WeChat.Data})
	}
	return out
}
