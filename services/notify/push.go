package notify

import (
	"context"
	"fmt"

	"handheld/services/inbox"
	"handheld/services/outbox"
	"handheld/services/wechat"
)

// push decides on and sends the WeChat copy of inbox message m, recording
// the outcome in the inbox (and through it the audit trail):
//
//   - the person keeps the category out of WeChat: off;
//   - inside their quiet hours, unless the category is urgent: deferred,
//     and outbox.Again until the hours end, when the decision is made anew;
//   - no openid: no_recipient; no grant left for the template: no_grant;
//   - otherwise one grant is spent and the message sent: sent, or refused
//     when WeChat says the person takes no more (permanent). A send that
//     may pass on a retry gives the grant back and returns the error.
func (n *Notifier) push(ctx context.Context, e Event, m inbox.Message, msg wechat.Message) error {
	prefs, err := n.inbox.PreferencesOf(ctx, e.Subject)
	if err != nil {
		return fmt.Errorf("notify: preferences for %s: %w", m.ID, err)
	}
	cat := e.category()
	if !cat.Urgent() && !prefs.WeChat[cat] {
		return n.settle(ctx, e, m, inbox.PushOff)
	}
	now := n.now()
	if quiet, until := prefs.Quiet.QuietUntil(now); quiet && !cat.Urgent() {
		if m.Push != inbox.PushDeferred {
			if err := n.inbox.Pushed(ctx, m, inbox.PushDeferred); err != nil {
				return err
			}
		}
		n.log.InfoContext(ctx, "notify: quiet hours, deferred", "subject", e.Subject, "message", m.ID, "until", until)
		return outbox.Again(until.Sub(now))
	}
	openid, ok, err := n.recipients.OpenID(ctx, e.Subject)
	if err != nil {
		return fmt.Errorf("notify: recipient of %s: %w", m.ID, err)
	}
	if !ok {
		n.log.InfoContext(ctx, "notify: no WeChat recipient, nothing sent", "subject", e.Subject, "status", e.Status)
		return n.settle(ctx, e, m, inbox.PushNoRecipient)
	}
	granted, err := n.inbox.TakeGrant(ctx, e.Subject, msg.TemplateID)
	if err != nil {
		return fmt.Errorf("notify: grant for %s: %w", m.ID, err)
	}
	if !granted {
		n.log.InfoContext(ctx, "notify: no subscribe grant, inbox only", "subject", e.Subject, "status", e.Status)
		return n.settle(ctx, e, m, inbox.PushNoGrant)
	}
	msg.ToOpenID = openid
	if err := n.sender.SendSubscribe(ctx, msg); err != nil {
		if refused(err) {
			n.log.InfoContext(ctx, "notify: person accepts no more messages, nothing sent", "subject", e.Subject, "status", e.Status)
			if serr := n.settle(ctx, e, m, inbox.PushRefused); serr != nil {
				return serr
			}
			return fmt.Errorf("%w: %s %s: %w", ErrUndeliverable, m.ID, e.key(), err)
		}
		if rerr := n.inbox.ReturnGrant(ctx, e.Subject, msg.TemplateID); rerr != nil {
			n.log.WarnContext(ctx, "notify: grant not given back", "subject", e.Subject, "message", m.ID, "error", rerr)
		}
		return fmt.Errorf("notify: send %s %s: %w", m.ID, e.key(), err)
	}
	n.log.DebugContext(ctx, "notify: sent", "subject", e.Subject, "status", e.Status)
	if err := n.settle(ctx, e, m, inbox.PushSent); err != nil {
		// WeChat has it: a retry would send it twice.
		n.log.WarnContext(ctx, "notify: sent but not recorded", "subject", e.Subject, "message", m.ID, "error", err)
	}
	return nil
}

// settle records a final outcome of m's WeChat copy.
func (n *Notifier) settle(ctx context.Context, e Event, m inbox.Message, push inbox.Push) error {
	if err := n.inbox.Pushed(ctx, m, push); err != nil {
		return fmt.Errorf("notify: record %s of %s for %s: %w", push, m.ID, e.Subject, err)
	}
	return nil
}
