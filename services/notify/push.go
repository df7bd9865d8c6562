package notify

import (
	"context"
	"fmt"
	"sync"

	"handheld/services/inbox"
	"handheld/services/outbox"
)

// push decides on and sends the WeChat copies of the inbox messages of ds,
// recording each outcome in the inbox (and through it the audit trail),
// and sets each one's error in errs:
//
//   - the person keeps the category out of WeChat: off;
//   - inside their quiet hours, unless the category is urgent: deferred,
//     and outbox.Again until the hours end, when the decision is made anew;
//   - no openid: no_recipient; no grant left for the template: no_grant
//     (the grants of the whole batch are taken in one statement);
//   - otherwise one grant is spent and the message sent: sent, or refused
//     when WeChat says the person takes no more (permanent). A send that
//     may pass on a retry gives the grant back and fails.
func (n *Notifier) push(ctx context.Context, ds []*delivery, errs []error) {
	if len(ds) == 0 {
		return
	}
	prefs, err := n.inbox.PreferencesOfAll(ctx, subjects(ds)...)
	if err != nil {
		for _, d := range ds {
			errs[d.i] = fmt.Errorf("notify: preferences for %s: %w", d.m.ID, err)
		}
		return
	}
	var (
		mu       sync.Mutex // guards records and errs while the sends run
		records  []inbox.PushRecord
		recorded []*delivery // records[k] is of recorded[k]
		sending  []*delivery
	)
	record := func(d *delivery, push inbox.Push) {
		mu.Lock()
		defer mu.Unlock()
		records, recorded = append(records, inbox.PushRecord{Message: d.m, Push: push}), append(recorded, d)
	}
	now := n.now()
	for _, d := range ds {
		cat := d.e.category()
		p := prefs[d.e.Subject]
		if !cat.Urgent() && !p.WeChat[cat] {
			record(d, inbox.PushOff)
			continue
		}
		if quiet, until := p.Quiet.QuietUntil(now); quiet && !cat.Urgent() {
			if d.m.Push != inbox.PushDeferred {
				record(d, inbox.PushDeferred)
			}
			n.log.InfoContext(ctx, "notify: quiet hours, deferred", "subject", d.e.Subject, "message", d.m.ID, "until", until)
			errs[d.i] = outbox.Again(until.Sub(now))
			continue
		}
		sending = append(sending, d)
	}
	var sends sync.WaitGroup
	for _, d := range n.granted(ctx, sending, errs, record) {
		sends.Go(func() {
			push, err := n.send(ctx, d)
			mu.Lock()
			errs[d.i] = err
			mu.Unlock()
			if push != "" {
				record(d, push)
			}
		})
	}
	sends.Wait()
	if err := n.inbox.PushedAll(ctx, records...); err != nil {
		for k, d := range recorded {
			switch {
			case records[k].Push == inbox.PushSent:
				// WeChat has it: a retry would send it twice.
				n.log.WarnContext(ctx, "notify: sent but not recorded", "subject", d.e.Subject, "message", d.m.ID, "error", err)
			case errs[d.i] == nil, records[k].Push == inbox.PushRefused:
				// Refused is on record or retried, never dropped unsaid.
				errs[d.i] = fmt.Errorf("notify: record %s of %s for %s: %w", records[k].Push, d.m.ID, d.e.Subject, err)
			}
		}
	}
}

// granted finds the openids of ds and spends a grant for each message that
// has one, in one statement for all. It returns the messages that may be
// sent, addressed. The others are recorded (no_recipient, no_grant) or, when
// a lookup failed, have their error set in errs for a retry.
func (n *Notifier) granted(ctx context.Context, ds []*delivery, errs []error, record func(*delivery, inbox.Push)) []*delivery {
	if len(ds) == 0 {
		return nil
	}
	openids, failed, err := n.recipients.OpenIDs(ctx, subjects(ds)...)
	if err != nil {
		for _, d := range ds {
			errs[d.i] = fmt.Errorf("notify: recipient of %s: %w", d.m.ID, err)
		}
		return nil
	}
	var asking []*delivery
	var wants []inbox.GrantWant
	for _, d := range ds {
		switch {
		case failed[d.e.Subject] != nil:
			errs[d.i] = fmt.Errorf("notify: recipient of %s: %w", d.m.ID, failed[d.e.Subject])
		case openids[d.e.Subject] == "":
			n.log.InfoContext(ctx, "notify: no WeChat recipient, nothing sent", "subject", d.e.Subject, "status", d.e.Status)
			record(d, inbox.PushNoRecipient)
		default:
			asking, wants = append(asking, d), append(wants, inbox.GrantWant{Subject: d.e.Subject, TemplateID: d.msg.TemplateID})
		}
	}
	took, err := n.inbox.TakeGrants(ctx, wants...)
	if err != nil {
		for _, d := range asking {
			errs[d.i] = fmt.Errorf("notify: grant for %s: %w", d.m.ID, err)
		}
		return nil
	}
	send := asking[:0]
	for k, d := range asking {
		if !took[k] {
			n.log.InfoContext(ctx, "notify: no subscribe grant, inbox only", "subject", d.e.Subject, "status", d.e.Status)
			record(d, inbox.PushNoGrant)
			continue
		}
		d.msg.ToOpenID = openids[d.e.Subject]
		send = append(send, d)
	}
	return send
}

// send sends d's WeChat copy, its grant spent. It returns the push outcome
// to record ("" for none: the send failed for a reason that may pass, and
// the grant is given back for the retry) and d's error.
func (n *Notifier) send(ctx context.Context, d *delivery) (inbox.Push, error) {
	e, msg := d.e, d.msg
	if err := n.sender.SendSubscribe(ctx, msg); err != nil {
		if refused(err) {
			n.log.InfoContext(ctx, "notify: person accepts no more messages, nothing sent", "subject", e.Subject, "status", e.Status)
			return inbox.PushRefused, fmt.Errorf("%w: %s %s: %w", ErrUndeliverable, d.m.ID, e.key(), err)
		}
		if rerr := n.inbox.ReturnGrant(ctx, e.Subject, msg.TemplateID); rerr != nil {
			n.log.WarnContext(ctx, "notify: grant not given back", "subject", e.Subject, "message", d.m.ID, "error", rerr)
		}
		return "", fmt.Errorf("notify: send %s %s: %w", d.m.ID, e.key(), err)
	}
	n.log.DebugContext(ctx, "notify: sent", "subject", e.Subject, "status", e.Status)
	return inbox.PushSent, nil
}

// subjects are the people of ds, each once.
func subjects(ds []*delivery) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range ds {
		if !seen[d.e.Subject] {
			seen[d.e.Subject] = true
			out = append(out, d.e.Subject)
		}
	}
	return out
}
