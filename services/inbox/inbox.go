// Package inbox is the message centre (消息中心): every notification a
// person is sent lands in their inbox, whether or not a WeChat subscribe
// message also reaches them, so that the inbox is the person's own record
// of what the centre told them and when (issue 19, part 5). It also keeps
// what decides whether a WeChat copy goes out: the person's preferences
// per category and do-not-disturb hours, and the one-time subscribe grants
// the mini-program collected (wx.requestSubscribeMessage).
//
// Writers (services/notify today; reminders and policy push later) Post a
// message with a category, a kind and the event it was made from; readers
// list them newest first, mark them read and count the unread ones. The
// title and body are rendered in the reader's language when read, by a
// Renderer the wiring supplies (notify's templates), so a message written
// in one language reads in the other.
//
// It owns the messages, message_preferences and subscription_grants tables
// (migration 0026). Every use case takes the caller's services.Principal
// and reaches only that person's rows: another person's message is not
// found, exactly as an id that does not exist. Reads, preference and grant
// changes and every push leave an audit record naming the subject and the
// message id, never the message's content.
package inbox

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/store"
)

// Category is what a message is about. Preferences are kept per category.
type Category string

// The categories of the message centre, as the API names them.
const (
	// CaseProgress: a case (application, certificate, transfer) moved on.
	CaseProgress Category = "case_progress"
	// Reminders: something the person should do or know soon (a loan
	// instalment due, a certificate about to expire).
	Reminders Category = "reminders"
	// PolicyNews: a policy change or a service newly open to the person.
	PolicyNews Category = "policy_news"
	// Security: a new sign-in, a binding or payout account change. Never
	// deferred, never switched off.
	Security Category = "security"
)

// Categories lists every category, in the order screens show them.
func Categories() []Category { return []Category{CaseProgress, Reminders, PolicyNews, Security} }

// Valid reports a known category.
func (c Category) Valid() bool { return slices.Contains(Categories(), c) }

// Urgent reports a category whose messages go out whatever the hour.
func (c Category) Urgent() bool { return c == Security }

// Audit actions of the message centre.
const (
	ActionList            = "read.messages"
	ActionReadPreferences = "read.message_preferences"
	ActionRead            = "message.read"
	ActionPreferences     = "message.preferences"
	ActionGrants          = "message.subscriptions"
	// ActionPush records what became of a message's WeChat copy: Result
	// ok when sent, denied when it was not (preference, no grant, refused).
	ActionPush = "message.push"
)

// List paging, as docs/api.md §Conventions sets for every list.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Text is a message as a person reads it, in one language.
type Text struct {
	Title string
	Body  string
	Link  string // the mini-program page it opens, "" for none
}

// The collaborators a Service needs.
type (
	// Renderer turns a message's stored content into the reader's
	// language; notify's Templates is one.
	renderer interface {
		RenderText(kind string, content []byte, locale string) (Text, error)
	}
	trail = audit.Queue
)

// Deps are a Service's collaborators.
type Deps struct {
	Store    *store.Store
	Renderer renderer
	Audit    trail
	// Templates are the WeChat template ids a grant may name: those the
	// notification templates use. A grant for any other is refused.
	Templates []string
	Logger    *slog.Logger
	// Now stamps messages, reads and grants; nil means time.Now.
	Now func() time.Time
}

// Service is the message centre. It is safe for concurrent use.
type Service struct {
	store     *store.Store
	render    renderer
	audit     trail
	templates []string
	log       *slog.Logger
	now       func() time.Time
}

// New checks the dependencies, so a wiring mistake stops start-up.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Renderer == nil || d.Audit == nil {
		return nil, errors.New("inbox: Store, Renderer and Audit are required")
	}
	if len(d.Templates) == 0 {
		return nil, errors.New("inbox: no WeChat template a grant could name")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{store: d.Store, render: d.Renderer, audit: d.Audit, templates: slices.Clone(d.Templates),
		log: d.Logger, now: d.Now}, nil
}

// record appends an audit record of p's own action on their messages and
// decides what the caller gets (audit.Outcome).
func (s *Service) record(ctx context.Context, p services.Principal, action, target string, err error) error {
	return audit.Outcome(ctx, s.audit, s.log, audit.Record{At: s.now(), Subject: p.Subject, Actor: p.Actor(),
		Channel: p.Channel, Action: action, Target: target}, err)
}

// SealedColumns are the columns of the inbox holding sealed personal data,
// for the sealing step and `handheld keys reseal`.
func SealedColumns() []store.SealedColumn { return []store.SealedColumn{sealedContent} }

// sealedContent is a message's event: its case number and amount.
var sealedContent = store.SealedColumn{Table: "messages", Key: []string{"id"}, Column: "content", Text: true}
