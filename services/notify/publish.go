package notify

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"handheld/services"
	"handheld/services/inbox"
	"handheld/services/outbox"
	"handheld/services/store"
)

// Publisher queues notices: the events no case carries (a sign-in, a
// binding, a payout account change), each on Topic in a transaction of its
// own, for Deliver to put in the inbox and send at any hour.
type Publisher struct {
	store *store.Store
	wake  func()
	now   func() time.Time
}

// NewPublisher builds a Publisher; wake (the outbox Waker's Wake) may be
// nil, now nil means time.Now.
func NewPublisher(s *store.Store, wake func(), now func() time.Time) (*Publisher, error) {
	if s == nil {
		return nil, errors.New("notify: publisher needs a store")
	}
	if wake == nil {
		wake = func() {}
	}
	if now == nil {
		now = time.Now
	}
	return &Publisher{store: s, wake: wake, now: now}, nil
}

// Notice queues notice (NoticeSignIn, ...) for subject. Each call is one
// message: two sign-ins are two.
func (p *Publisher) Notice(ctx context.Context, subject, notice string) error {
	if subject == "" || !slices.Contains(notices, notice) {
		return services.Errorf(services.CodeInternal, "notify: notice %q for %q", notice, subject)
	}
	id := services.RandomHex(12)
	at := p.now()
	payload, err := json.Marshal(Event{Subject: subject, Notice: notice, Category: inbox.Security, ID: id,
		Locale: "zh-CN", At: at})
	if err != nil {
		return services.Errorf(services.CodeInternal, "notify: notice: %w", err)
	}
	err = p.store.Tx(ctx, func(tx *store.Tx) error {
		_, err := outbox.Enqueue(ctx, tx, outbox.Message{ID: string(Topic) + ":notice:" + id, Topic: Topic, Payload: payload}, at)
		return err
	})
	if err != nil {
		return services.Errorf(services.CodeInternal, "notify: queue notice %s: %w", notice, err)
	}
	p.wake()
	return nil
}
