// Package notify tells people what happened: a case of theirs changed
// status (a withdrawal, a certificate), or something touched their
// account's security (a sign-in, a binding). It runs off the request path:
// the use case writes an Event to the outbox in the same transaction as
// its own change (or Publisher does, for a notice), and the outbox worker
// hands each one to Notifier.Deliver, retrying what failed for a reason
// that may pass.
//
// Every event lands in the person's inbox (services/inbox) first. A WeChat
// subscribe message follows only when the person allows the category, the
// hour is outside their quiet hours (security notices go at any hour:
// otherwise the event waits, in the outbox, until the quiet hours end) and
// they granted the template a one-time subscription, which the send
// spends. The inbox records what became of the WeChat copy, and the audit
// trail every push.
//
// What a message says lives in templates/notifications (one file per
// locale), loaded and checked once at start-up, so a centre can change
// template ids, pages and wording without a release. Nothing here logs an
// openid, a name or an amount: log lines carry the subject and the status.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"handheld/services/inbox"
	"handheld/services/outbox"
	"handheld/services/wechat"
)

// Topic is the outbox topic whose handler is Deliver; the use cases that
// change a status enqueue their Events on it.
const Topic outbox.TopicName = "notify.wechat"

// Event is something to tell a person about; it is the outbox payload
// (JSON), written by the use case that caused it. A case event names the
// case and its new Status; a notice (Notice set) names no case.
type Event struct {
	Subject       string    `json:"subject"` // pseudonymous subject id
	ApplicationID string    `json:"application_id,omitempty"`
	CaseNumber    string    `json:"case_number,omitempty"`
	Kind          string    `json:"kind,omitempty"`   // rent, purchase, loan_repayment, retirement, critical_illness, leaving_city, closing
	Status        string    `json:"status,omitempty"` // accepted, submitted, approved, rejected, paid, cancelled
	Reason        string    `json:"reason,omitempty"` // the core's rejection reason code
	AmountFen     int64     `json:"amount_fen"`
	Locale        string    `json:"locale"` // zh-CN or en; anything else reads as zh-CN
	At            time.Time `json:"at"`
	// Notice names a notification about no case (NoticeSignIn, ...).
	Notice string `json:"notice,omitempty"`
	// Category is the inbox category (inbox.CaseProgress when empty).
	Category inbox.Category `json:"category,omitempty"`
	// ID makes the event one message however often it is delivered;
	// empty for a case event, which is one per application and status.
	ID string `json:"id,omitempty"`
	// Reminder names the reminder rule (services/reminder) the event is
	// from; Values fill its texts' placeholders ({due_on}, {month}, ...),
	// AmountFen its {amount}.
	Reminder string            `json:"reminder,omitempty"`
	Values   map[string]string `json:"values,omitempty"`
}

// The notices: security messages, sent at any hour.
const (
	NoticeSignIn               = "sign_in"                // a new sign-in to the person's account
	NoticeBindingChanged       = "binding_changed"        // a WeChat user bound to the person
	NoticePayoutAccountChanged = "payout_account_changed" // the account withdrawals are paid to changed
	// NoticeRepaymentAccountChanged: the account loan instalments are
	// taken from changes from the next cycle (services/repayment).
	NoticeRepaymentAccountChanged = "repayment_account_changed"
)

// key is the event's kind of message: its notice or its status, the key
// of its entry in the templates.
func (e Event) key() string {
	if e.Reminder != "" {
		return e.Reminder
	}
	if e.Notice != "" {
		return e.Notice
	}
	return e.Status
}

// category is the event's inbox category.
func (e Event) category() inbox.Category {
	switch {
	case e.Category != "":
		return e.Category
	case e.Notice != "":
		return inbox.Security
	}
	return inbox.CaseProgress
}

// dedupeKey makes one inbox message of the event however often the outbox
// delivers it.
func (e Event) dedupeKey() string {
	if e.ID != "" {
		return "id:" + e.ID
	}
	return "case:" + e.ApplicationID + ":" + e.Status
}

// ErrUndeliverable marks a payload that no retry can deliver: it does not
// decode, names an unknown status or kind, or the person has turned the
// messages down (WeChat errcode 43101). Deliver wraps the cause with it, so
// the outbox wiring can tell with errors.Is and park the row instead of
// retrying it forever (outbox.Permanent).
var ErrUndeliverable = errors.New("notify: undeliverable")

// errRefused is WeChat's "user refuse to accept the msg": the person has no
// subscription left for the template, which only the person can renew.
const errRefused = 43101

// The collaborators Deliver needs.
type (
	recipients interface {
		// OpenIDs are the openids to write to, by subject; a person
		// WeChat cannot reach is absent, one whose binding cannot be
		// read is in failed.
		OpenIDs(ctx context.Context, subjects ...string) (openids map[string]string, failed map[string]error, err error)
	}
	sender interface {
		SendSubscribe(ctx context.Context, m wechat.Message) error
	}
	// mailbox is the person's inbox, their preferences and grants.
	mailbox interface {
		PostAll(ctx context.Context, ps ...inbox.Post) ([]inbox.Message, []bool, error)
		PushedAll(ctx context.Context, rs ...inbox.PushRecord) error
		PreferencesOfAll(ctx context.Context, subjects ...string) (map[string]inbox.Preferences, error)
		TakeGrants(ctx context.Context, wants ...inbox.GrantWant) ([]bool, error)
		ReturnGrant(ctx context.Context, subject, templateID string) error
	}
)

// Deps are a Notifier's collaborators, built once at the wiring point:
// identity's Service is the Recipients, the wechat Client the Sender.
type Deps struct {
	Recipients recipients
	Sender     sender
	Templates  *Templates
	// Inbox is where every event lands (inbox's Service).
	Inbox  mailbox
	Logger *slog.Logger
	// Now stamps an event that carries no time; nil means time.Now.
	Now func() time.Time
}

// Notifier turns outbox events into subscribe messages. It is safe for
// concurrent use by several outbox workers.
type Notifier struct {
	recipients recipients
	sender     sender
	templates  *Templates
	inbox      mailbox
	log        *slog.Logger
	now        func() time.Time
}

// New checks the dependencies, so that a wiring mistake stops start-up
// rather than every delivery.
func New(d Deps) (*Notifier, error) {
	if d.Recipients == nil || d.Sender == nil || d.Templates == nil || d.Inbox == nil {
		return nil, errors.New("notify: Recipients, Sender, Templates and Inbox are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Notifier{recipients: d.Recipients, sender: d.Sender, templates: d.Templates, inbox: d.Inbox,
		log: d.Logger, now: d.Now}, nil
}

// Deliver is the outbox handler for Topic: it puts the event in the
// person's inbox and, when their preferences, the hour and a grant allow,
// sends them one subscribe message about it. Inside the person's quiet
// hours a message that can wait returns outbox.Again until they end. A
// person WeChat cannot reach, or who gave no grant, is no failure: the
// inbox has the message and nil is returned. Errors wrapping
// ErrUndeliverable are permanent; any other error (the store, WeChat busy
// or down) is worth a retry.
func (n *Notifier) Deliver(ctx context.Context, payload []byte) error {
	return n.DeliverAll(ctx, payload)[0]
}

// DeliverAll is Deliver for several events at once, one error per payload
// in its order: the inbox posts, the people's preferences, their openids
// and the grants spent are each one statement for all of them, and the
// outcomes of the WeChat copies one statement per kind of outcome, so that
// a wave of notifications costs the store a few round trips rather than
// eight each.
func (n *Notifier) DeliverAll(ctx context.Context, payloads ...[]byte) []error {
	errs := make([]error, len(payloads))
	var (
		jobs  []*delivery
		posts []inbox.Post
	)
	for i, p := range payloads {
		d, post, err := n.prepare(i, p)
		if err != nil {
			errs[i] = err
			continue
		}
		jobs, posts = append(jobs, d), append(posts, post)
	}
	if len(jobs) == 0 {
		return errs
	}
	msgs, _, err := n.inbox.PostAll(ctx, posts...)
	if err != nil {
		for _, d := range jobs {
			errs[d.i] = fmt.Errorf("notify: inbox %s: %w", d.e.key(), err)
		}
		return errs
	}
	open := jobs[:0]
	for k, d := range jobs {
		d.m = msgs[k]
		if !d.m.Push.Final() { // else delivered before: the inbox has it, WeChat had its say
			open = append(open, d)
		}
	}
	n.push(ctx, open, errs)
	return errs
}

// delivery is one event on its way: the i-th payload of a DeliverAll, its
// rendered WeChat message and, once posted, its inbox message.
type delivery struct {
	i   int
	e   Event
	msg wechat.Message
	m   inbox.Message
}

// prepare reads and renders the i-th payload; an error is undeliverable.
func (n *Notifier) prepare(i int, payload []byte) (*delivery, inbox.Post, error) {
	var e Event
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, inbox.Post{}, fmt.Errorf("%w: decode event: %w", ErrUndeliverable, err)
	}
	if e.At.IsZero() {
		e.At = n.now()
	}
	if !e.category().Valid() {
		return nil, inbox.Post{}, fmt.Errorf("%w: unknown category %q", ErrUndeliverable, e.Category)
	}
	msg, err := n.templates.render(e)
	if err != nil {
		return nil, inbox.Post{}, fmt.Errorf("%w: %w", ErrUndeliverable, err)
	}
	content, err := json.Marshal(e)
	if err != nil {
		return nil, inbox.Post{}, fmt.Errorf("%w: encode event: %w", ErrUndeliverable, err)
	}
	return &delivery{i: i, e: e, msg: msg}, inbox.Post{Subject: e.Subject, Key: e.dedupeKey(), Category: e.category(),
		Kind: e.key(), Content: content, At: e.At}, nil
}

// refused reports WeChat's answer that the person has no subscription left.
func refused(err error) bool {
	var ae *wechat.APIError
	return errors.As(err, &ae) && ae.ErrCode == errRefused
}
