// Package notify tells people by WeChat subscribe message when one of their
// withdrawal applications changes status. It runs off the request path: the
// use case that changes a status writes an Event to the outbox in the same
// transaction, and the outbox worker hands each one to Notifier.Deliver,
// retrying what failed for a reason that may pass.
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

	"handheld/services/outbox"
	"handheld/services/wechat"
)

// Topic is the outbox topic whose handler is Deliver; the use cases that
// change a status enqueue their Events on it.
const Topic outbox.TopicName = "notify.wechat"

// Event is a status change to tell a person about; it is the outbox payload
// (JSON), written by the use case that changed the status.
type Event struct {
	Subject       string    `json:"subject"` // pseudonymous subject id
	ApplicationID string    `json:"application_id"`
	CaseNumber    string    `json:"case_number"`
	Kind          string    `json:"kind"`             // rent, purchase, loan_repayment, retirement, critical_illness, leaving_city, closing
	Status        string    `json:"status"`           // accepted, submitted, approved, rejected, paid, cancelled
	Reason        string    `json:"reason,omitempty"` // the core's rejection reason code
	AmountFen     int64     `json:"amount_fen"`
	Locale        string    `json:"locale"` // zh-CN or en; anything else reads as zh-CN
	At            time.Time `json:"at"`
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
		// OpenID is the openid to write to, ok=false when the person has none.
		OpenID(ctx context.Context, subject string) (openid string, ok bool, err error)
	}
	sender interface {
		SendSubscribe(ctx context.Context, m wechat.Message) error
	}
)

// Deps are a Notifier's collaborators, built once at the wiring point:
// identity's Service is the Recipients, the wechat Client the Sender.
type Deps struct {
	Recipients recipients
	Sender     sender
	Templates  *Templates
	Logger     *slog.Logger
	// Now stamps an event that carries no time; nil means time.Now.
	Now func() time.Time
}

// Notifier turns outbox events into subscribe messages. It is safe for
// concurrent use by several outbox workers.
type Notifier struct {
	recipients recipients
	sender     sender
	templates  *Templates
	log        *slog.Logger
	now        func() time.Time
}

// New checks the dependencies, so that a wiring mistake stops start-up
// rather than every delivery.
func New(d Deps) (*Notifier, error) {
	if d.Recipients == nil || d.Sender == nil || d.Templates == nil {
		return nil, errors.New("notify: Recipients, Sender and Templates are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Notifier{recipients: d.Recipients, sender: d.Sender, templates: d.Templates, log: d.Logger, now: d.Now}, nil
}

// Deliver is the outbox handler for Topic: it sends the person one
// subscribe message about the event. A person WeChat cannot reach (never
// used the mini-program) is no failure: nothing is sent and nil returned.
// Errors wrapping ErrUndeliverable are permanent; any other error (the
// store, WeChat busy or down) is worth a retry.
func (n *Notifier) Deliver(ctx context.Context, payload []byte) error {
	var e Event
	if err := json.Unmarshal(payload, &e); err != nil {
		return fmt.Errorf("%w: decode event: %w", ErrUndeliverable, err)
	}
	if e.At.IsZero() {
		e.At = n.now()
	}
	msg, err := n.templates.render(e)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUndeliverable, err)
	}
	openid, ok, err := n.recipients.OpenID(ctx, e.Subject)
	if err != nil {
		return fmt.Errorf("notify: recipient of %s: %w", e.ApplicationID, err)
	}
	if !ok {
		n.log.InfoContext(ctx, "notify: no WeChat recipient, nothing sent", "subject", e.Subject, "status", e.Status)
		return nil
	}
	msg.ToOpenID = openid
	if err := n.sender.SendSubscribe(ctx, msg); err != nil {
		if refused(err) {
			n.log.InfoContext(ctx, "notify: person accepts no more messages, nothing sent", "subject", e.Subject, "status", e.Status)
			return fmt.Errorf("%w: %s %s: %w", ErrUndeliverable, e.ApplicationID, e.Status, err)
		}
		return fmt.Errorf("notify: send %s %s: %w", e.ApplicationID, e.Status, err)
	}
	n.log.DebugContext(ctx, "notify: sent", "subject", e.Subject, "status", e.Status)
	return nil
}

// refused reports WeChat's answer that the person has no subscription left.
func refused(err error) bool {
	var ae *wechat.APIError
	return errors.As(err, &ae) && ae.ErrCode == errRefused
}
